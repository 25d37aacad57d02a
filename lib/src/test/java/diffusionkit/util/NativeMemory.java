package diffusionkit.util;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/** Test helper: makes use-after-free of native memory visible (see {@link Scalars} for the case it was written for). */
public final class NativeMemory {

    private NativeMemory() {}

    /**
     * Asks for a garbage collection, so that direct buffers nobody references are freed, and hands freed native
     * memory back out filled with NaN: an array still reading such memory then holds NaN or other garbage.
     */
    public static void collectAndPoison() {
        System.gc();
        List<ByteBuffer> poison = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
            ByteBuffer bb = ByteBuffer.allocateDirect(4096 * (1 + i % 16)).order(ByteOrder.nativeOrder());
            while (bb.remaining() >= 4) {
                bb.putInt(0x7FC00000); // a float NaN
            }
            poison.add(bb);
        }
        poison.clear();
    }
}
