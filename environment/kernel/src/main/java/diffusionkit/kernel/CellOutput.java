package diffusionkit.kernel;

import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * {@code System.out} and {@code System.err} of the kernel: text is collected as characters and sent to the notebook
 * in chunks, every {@value #FLUSH_MS} ms and at the end of each cell, instead of one Jupyter message per
 * {@code println} (a cell printing 20,000 lines would otherwise flood the client). Bytes are decoded as UTF-8 with
 * incomplete sequences held back, so a multi-byte character is never split between two messages.
 */
final class CellOutput implements AutoCloseable {

    /** How often buffered text is sent while a cell runs. */
    static final long FLUSH_MS = 100;
    /** A chunk is sent early once this many characters are waiting. */
    private static final int MAX_BUFFERED_CHARS = 64 * 1024;

    /** One buffered stream; {@code flush()} from a {@link PrintStream} does not send, only the timer and cells do. */
    static final class Stream extends OutputStream {
        private final CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPLACE)
                .onUnmappableCharacter(CodingErrorAction.REPLACE);
        private final ByteBuffer pending = ByteBuffer.allocate(8192);
        private final CharBuffer decoded = CharBuffer.allocate(8192);
        private final StringBuilder text = new StringBuilder();
        private final Consumer<String> sink;

        Stream(Consumer<String> sink) {
            this.sink = sink;
        }

        @Override
        public void write(int b) {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public synchronized void write(byte[] b, int off, int len) {
            while (len > 0) {
                int n = Math.min(len, pending.remaining());
                pending.put(b, off, n);
                off += n;
                len -= n;
                pending.flip();
                CoderResult result;
                do { // an incomplete character at the end stays in `pending` for the next write
                    result = decoder.decode(pending, decoded, false);
                    decoded.flip();
                    text.append(decoded);
                    decoded.clear();
                } while (result.isOverflow());
                pending.compact();
            }
            if (text.length() >= MAX_BUFFERED_CHARS) {
                send();
            }
        }

        @Override
        public void flush() {
            // deliberately empty: PrintStream auto-flushes on every println
        }

        /** Sends all complete characters collected so far as one chunk. */
        synchronized void send() {
            if (text.length() > 0) {
                String chunk = text.toString();
                text.setLength(0);
                sink.accept(chunk);
            }
        }
    }

    private final Stream out;
    private final Stream err;
    private final PrintStream outPrint;
    private final PrintStream errPrint;
    private final ScheduledExecutorService timer;

    /**
     * @param outSink receives chunks of standard output
     * @param errSink receives chunks of standard error
     */
    CellOutput(Consumer<String> outSink, Consumer<String> errSink) {
        this.out = new Stream(outSink);
        this.err = new Stream(errSink);
        this.outPrint = new PrintStream(out, true, StandardCharsets.UTF_8);
        this.errPrint = new PrintStream(err, true, StandardCharsets.UTF_8);
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "output-flusher");
            t.setDaemon(true);
            return t;
        });
        timer.scheduleWithFixedDelay(this::sendAll, FLUSH_MS, FLUSH_MS, TimeUnit.MILLISECONDS);
    }

    /** The stream to install as {@code System.out}. */
    PrintStream out() {
        return outPrint;
    }

    /** The stream to install as {@code System.err}. */
    PrintStream err() {
        return errPrint;
    }

    /** Sends whatever is buffered now (end of a cell, before a display, before an error). */
    void sendAll() {
        try {
            out.send();
            err.send();
        } catch (RuntimeException ex) {
            // a closed socket while the kernel shuts down: nothing left to send to
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
        sendAll();
    }
}
