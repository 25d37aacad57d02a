package diffusionkit.util;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

import java.util.Arrays;

/**
 * A seeded, device-independent random number generator for noise: xoshiro256** (Blackman and Vigna,
 * 2018) seeded through SplitMix64, with Box–Muller normals.
 *
 * <p>The numbers are made in Java and then copied to the device, so the same seed gives identical
 * noise on CPU and GPU, on every machine. The whole state ({@link #state()}) is six longs and can be
 * stored in a training checkpoint and restored with {@link #setState(long[])}; the restored generator
 * continues the very same sequence.
 *
 * <p>Normals come in Box–Muller pairs; the second of a pair is kept for the next call, so
 * {@code randn(6)} gives the same numbers as {@code randn(3)} followed by {@code randn(3)}.
 *
 * <p>Not thread-safe: use one generator per thread, or {@link #fork()} one per worker.
 */
public final class SeededNoise {

    /** Length of {@link #state()}: four xoshiro256** words, a has-spare flag, the spare normal's bits. */
    public static final int STATE_LENGTH = 6;

    private long s0;
    private long s1;
    private long s2;
    private long s3;
    private boolean hasSpare;
    private double spare;

    /** A generator whose whole sequence is determined by {@code seed}. */
    public SeededNoise(long seed) {
        long x = seed;
        x += 0x9E3779B97F4A7C15L;
        s0 = mix64(x);
        x += 0x9E3779B97F4A7C15L;
        s1 = mix64(x);
        x += 0x9E3779B97F4A7C15L;
        s2 = mix64(x);
        x += 0x9E3779B97F4A7C15L;
        s3 = mix64(x);
    }

    private SeededNoise(long[] state) {
        setState(state);
    }

    /** A generator that continues from a state returned by {@link #state()}. */
    public static SeededNoise fromState(long[] state) {
        return new SeededNoise(state);
    }

    // SplitMix64 finaliser (Steele, Lea and Flood 2014)
    private static long mix64(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** The next 64 random bits (xoshiro256**). */
    public long nextLong() {
        long result = Long.rotateLeft(s1 * 5, 7) * 9;
        long t = s1 << 17;
        s2 ^= s0;
        s3 ^= s1;
        s1 ^= s2;
        s0 ^= s3;
        s2 ^= t;
        s3 = Long.rotateLeft(s3, 45);
        return result;
    }

    /** A uniform double in [0, 1) with 53 random bits. */
    public double nextDouble() {
        return (nextLong() >>> 11) * 0x1.0p-53;
    }

    /** A standard normal double (Box–Muller; the second value of each pair is kept for the next call). */
    public double nextGaussian() {
        if (hasSpare) {
            hasSpare = false;
            return spare;
        }
        double u1 = 1.0 - nextDouble(); // in (0, 1], so log(u1) is finite
        double u2 = nextDouble();
        double r = Math.sqrt(-2.0 * Math.log(u1));
        double theta = 2.0 * Math.PI * u2;
        spare = r * Math.sin(theta);
        hasSpare = true;
        return r * Math.cos(theta);
    }

    /** A uniform long in [0, bound), without modulo bias. */
    public long nextLong(long bound) {
        if (bound <= 0) {
            throw new IllegalArgumentException("bound must be positive, got " + bound);
        }
        long m = bound - 1;
        long r = nextLong() >>> 1;
        if ((bound & m) == 0L) {
            return r & m;
        }
        // rejection of the incomplete last block (as java.util.Random#nextLong(bound) does)
        for (long u = r; u - (r = u % bound) + m < 0L; u = nextLong() >>> 1) {
            // retry
        }
        return r;
    }

    /** {@code n} standard normal float32 values. */
    public float[] randnFloats(int n) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = (float) nextGaussian();
        }
        return out;
    }

    /** {@code n} uniform float32 values in [0, 1). */
    public float[] randFloats(int n) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = (float) nextDouble();
        }
        return out;
    }

    /**
     * A float32 array of standard normal noise, made in Java and created on {@code manager}'s device.
     *
     * @param manager the manager (and device) of the new array
     * @param shape   its shape
     */
    public NDArray randn(NDManager manager, Shape shape) {
        return manager.create(randnFloats(checkedSize(shape)), shape);
    }

    /** A float32 array of uniform noise in [0, 1) on {@code manager}'s device. */
    public NDArray rand(NDManager manager, Shape shape) {
        return manager.create(randFloats(checkedSize(shape)), shape);
    }

    /** {@code n} uniform integers in [0, bound), e.g. training timesteps. */
    public long[] randint(int n, long bound) {
        long[] out = new long[n];
        for (int i = 0; i < n; i++) {
            out[i] = nextLong(bound);
        }
        return out;
    }

    /** An int64 array of {@code n} uniform integers in [0, bound) on {@code manager}'s device. */
    public NDArray randint(NDManager manager, int n, long bound) {
        return manager.create(randint(n, bound));
    }

    /**
     * A new, independent generator seeded from this one's next output (this one advances by one
     * draw). Forking in the same order always gives the same children.
     */
    public SeededNoise fork() {
        return new SeededNoise(nextLong());
    }

    /** An exact copy: it will produce the same sequence as this one from now on. */
    public SeededNoise copy() {
        return new SeededNoise(state());
    }

    /** The whole state: {@value #STATE_LENGTH} longs, for checkpoints. */
    public long[] state() {
        return new long[] {s0, s1, s2, s3, hasSpare ? 1L : 0L, Double.doubleToRawLongBits(spare)};
    }

    /**
     * Restores a state returned by {@link #state()}; the generator then continues that sequence.
     *
     * @throws IllegalArgumentException if the state has the wrong length or is all zero
     */
    public void setState(long[] state) {
        if (state == null || state.length != STATE_LENGTH) {
            throw new IllegalArgumentException("SeededNoise state must hold " + STATE_LENGTH + " longs (from state()), got "
                    + (state == null ? "null" : Arrays.toString(state)));
        }
        if ((state[0] | state[1] | state[2] | state[3]) == 0L) {
            throw new IllegalArgumentException("SeededNoise state has four zero words, which xoshiro256** never reaches: "
                    + "pass a state returned by state()");
        }
        if (state[4] != 0L && state[4] != 1L) {
            throw new IllegalArgumentException("SeededNoise state[4] (has-spare flag) must be 0 or 1, got " + state[4]);
        }
        s0 = state[0];
        s1 = state[1];
        s2 = state[2];
        s3 = state[3];
        hasSpare = state[4] == 1L;
        spare = Double.longBitsToDouble(state[5]);
    }

    private static int checkedSize(Shape shape) {
        long size = shape.size();
        if (size < 0 || size > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("cannot make noise of shape " + shape + ": size " + size
                    + " does not fit a Java array; make it in smaller pieces");
        }
        return (int) size;
    }
}
