package diffusionkit.demo;

import java.awt.image.BufferedImage;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.IntConsumer;

/**
 * A test generator that holds each generation at a chosen step until the test opens it: it reports steps
 * 1..{@code holdAt}, then gives a {@link #started} permit and waits for {@link #open()}, then reports the remaining
 * steps (where a server that gave up on the request stops it: the progress callback throws) and paints the
 * requested colour. Once open it no longer holds.
 */
final class Gate implements ImageGenerator {

    private final int holdAt;
    private final CountDownLatch open = new CountDownLatch(1);
    /** One permit per generation that reached its hold point. */
    final Semaphore started = new Semaphore(0);
    /** One permit per generation that ended, by an image or by an exception. */
    final Semaphore ended = new Semaphore(0);
    /** Generations begun. */
    final AtomicInteger calls = new AtomicInteger();
    /** Generations that ended by an exception (stopped by the server). */
    final AtomicInteger stopped = new AtomicInteger();
    /** The request of the latest generation. */
    final AtomicReference<DemoRequest> last = new AtomicReference<>();

    Gate(int holdAt) {
        this.holdAt = holdAt;
    }

    /** Lets every held and future generation run to its end. */
    void open() {
        open.countDown();
    }

    /** Waits (at most 60 s) for a generation to reach its hold point; false if none did. */
    boolean awaitStarted() throws InterruptedException {
        return started.tryAcquire(60, TimeUnit.SECONDS);
    }

    /** Waits (at most 60 s) for a generation to end; false if none did. */
    boolean awaitEnded() throws InterruptedException {
        return ended.tryAcquire(60, TimeUnit.SECONDS);
    }

    @Override
    public BufferedImage generate(DemoRequest r, IntConsumer progress) throws Exception {
        last.set(r);
        calls.incrementAndGet();
        try {
            int k = 1;
            for (; k <= Math.min(holdAt, r.steps()); k++) {
                progress.accept(k);
            }
            started.release();
            if (!open.await(60, TimeUnit.SECONDS)) {
                throw new IllegalStateException("the test never opened the gate");
            }
            for (; k <= r.steps(); k++) {
                progress.accept(k);
            }
            return DemoServerTest.paint(r);
        } catch (Exception | Error e) {
            stopped.incrementAndGet();
            throw e;
        } finally {
            ended.release();
        }
    }
}
