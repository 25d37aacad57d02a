package diffusionkit.models;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import diffusionkit.util.Convolutions;
import diffusionkit.util.Scalars;

/**
 * diffusers' {@code Attention} as the UNet's spatial self-attention uses it ({@code AttnProcessor},
 * {@code _from_deprecated_attn_block}): optional GroupNorm, q/k/v projections, softmax(q·kᵀ/√d)·v per head,
 * the {@code to_out.0} projection, the residual connection and the division by {@code rescale_output_factor}.
 * Parameters: {@code group_norm}, {@code to_q}, {@code to_k}, {@code to_v}, {@code to_out.0} (Linear layers,
 * weight [out, in]).
 *
 * <p>The computation stays channel-first, so no transposed copy is ever made: the projections are 1x1
 * convolutions with the Linear weights (q pre-scaled by 1/√d), which give [B, heads·d, H, W], i.e. the
 * per-head matrices [B·heads, d, L] as free views; scores = qᵀk and out = softmax(scores)·vᵀ are batched
 * matrix products on transposed views (the L x L matrices are never copied, in the forward or the backward
 * pass), and only the small result [B·heads, L, d] is copied back to [B, heads·d, H, W] for the output
 * projection.
 */
public final class Attention extends UnaryBlock {

    private final int channels;
    private final int heads;
    private final int dimHead;
    private final int innerDim;
    private final boolean residualConnection;
    private final double rescaleOutputFactor;
    private final GroupNorm groupNorm;
    private final LinearLayer toQ;
    private final LinearLayer toK;
    private final LinearLayer toV;
    private final LinearLayer toOut;

    /**
     * @param manager where the parameters live
     * @param channels query dimension (channels of the feature map)
     * @param heads number of heads
     * @param dimHead size of each head
     * @param normNumGroups groups of the GroupNorm, or 0 for none
     * @param eps GroupNorm eps
     * @param residualConnection add the input to the output
     * @param rescaleOutputFactor divides the output
     */
    public Attention(NDManager manager, int channels, int heads, int dimHead, int normNumGroups, double eps,
                     boolean residualConnection, double rescaleOutputFactor) {
        this.channels = channels;
        this.heads = heads;
        this.dimHead = dimHead;
        this.innerDim = heads * dimHead;
        this.residualConnection = residualConnection;
        this.rescaleOutputFactor = rescaleOutputFactor;
        groupNorm = normNumGroups > 0 ? module("group_norm", new GroupNorm(manager, normNumGroups, channels, eps)) : null;
        toQ = module("to_q", new LinearLayer(manager, channels, innerDim));
        toK = module("to_k", new LinearLayer(manager, channels, innerDim));
        toV = module("to_v", new LinearLayer(manager, channels, innerDim));
        ToOut out = module("to_out", new ToOut(manager, innerDim, channels));
        toOut = out.linear;
    }

    /** {@code to_out}: a ModuleList of Linear (index 0) and Dropout (index 1, no parameters). */
    static final class ToOut extends UnaryBlock {
        final LinearLayer linear;

        ToOut(NDManager manager, int in, int out) {
            linear = module("0", new LinearLayer(manager, in, out));
        }

        @Override
        public NDArray forward(NDArray x) {
            return linear.forward(x);
        }

        @Override
        public Shape[] getOutputShapes(Shape[] inputShapes) {
            return linear.getOutputShapes(inputShapes);
        }
    }

    /**
     * Self-attention over the positions of {@code x} [B, C, H, W].
     *
     * @return [B, C, H, W]
     */
    @Override
    public NDArray forward(NDArray x) {
        Shape s = x.getShape();
        long b = s.get(0);
        long h = s.get(2);
        long w = s.get(3);
        long len = h * w;
        double scale = 1.0 / Math.sqrt(dimHead);
        NDArray hs = groupNorm != null ? groupNorm.forward(x) : x;
        NDArray q;
        NDArray k;
        NDArray v;
        try (NDArray wq = Scalars.mul(toQ.weight().getArray(), scale);
                NDArray bq = Scalars.mul(toQ.bias().getArray(), scale)) {
            q = conv1x1(hs, wq, bq);
        }
        k = conv1x1(hs, toK.weight().getArray(), toK.bias().getArray());
        v = conv1x1(hs, toV.weight().getArray(), toV.bias().getArray());
        closeUnless(hs, x);
        long bh = b * heads;
        // the score matrices of at most CHUNK_BYTES at a time: softmax and the second product then read them from
        // the cache; all B*heads at once (80 x 8 x 196^2 floats = 98 MB for the MNIST UNet at batch 80) made the
        // cost per image four times that of batch 8
        long chunk = Math.max(1, CHUNK_BYTES / (4L * len * len));
        NDArray out;
        NDArray o;
        try (NDArray qh = q.reshape(bh, dimHead, len);
             NDArray kh = k.reshape(bh, dimHead, len);
             NDArray qt = qh.transpose(0, 2, 1);
             NDArray vh = v.reshape(bh, dimHead, len);
             NDArray vt = vh.transpose(0, 2, 1)) {
            o = multiHead(qt, kh, vt, chunk);
        } finally {
            q.close();
            k.close();
            v.close();
        }
        try (NDArray ot = o.transpose(0, 2, 1); // [B*heads, d, Lq]: a small copy, the L x L matrix stays untransposed
             NDArray o4 = ot.reshape(b, innerDim, h, w)) {
            out = conv1x1(o4, toOut.weight().getArray(), toOut.bias().getArray());
        } finally {
            o.close();
        }
        if (residualConnection) {
            out.addi(x);
        }
        if (rescaleOutputFactor != 1.0) {
            Scalars.divi(out, rescaleOutputFactor);
        }
        return out;
    }

    /**
     * softmax(qt · k) · vt for [n, Lq, d], [n, d, Lk], [n, Lk, d], giving [n, Lq, d], computed for {@code chunk} of the n
     * heads at a time (all at once when chunk >= n).
     */
    static NDArray multiHead(NDArray qt, NDArray k, NDArray vt, long chunk) {
        long n = qt.getShape().get(0);
        if (chunk >= n) {
            return attend(qt, k, vt);
        }
        // split (not one slice per chunk): its backward pass concatenates the chunks' gradients once, where each
        // slice's backward would fill and add a zero gradient of the whole input (a training step at batch 128 spent
        // a fifth of its time there)
        long[] cuts = java.util.stream.LongStream.iterate(chunk, i -> i < n, i -> i + chunk).toArray();
        ai.djl.ndarray.NDList parts = new ai.djl.ndarray.NDList();
        try (ai.djl.ndarray.NDList qs = qt.split(cuts, 0);
             ai.djl.ndarray.NDList ks = k.split(cuts, 0);
             ai.djl.ndarray.NDList vs = vt.split(cuts, 0)) {
            for (int i = 0; i < qs.size(); i++) {
                parts.add(attend(qs.get(i), ks.get(i), vs.get(i)));
            }
        }
        NDArray o = ai.djl.ndarray.NDArrays.concat(parts, 0);
        parts.close();
        return o;
    }

    /** softmax(qt · k) · vt for [n, Lq, d], [n, d, Lk], [n, Lk, d]: [n, Lq, d]. */
    private static NDArray attend(NDArray qt, NDArray k, NDArray vt) {
        try (NDArray scores = qt.batchMatMul(k); // [n, Lq, Lk] = (q/sqrt(d))^T k
             NDArray probs = scores.softmax(2)) {
            return probs.batchMatMul(vt);
        }
    }

    /** Bytes of score matrices computed at once (system property diffusionkit.attention.chunkBytes; default 4 MB). */
    static final long CHUNK_BYTES = Long.getLong("diffusionkit.attention.chunkBytes", 4L << 20);

    /** A Linear layer (weight [out, in]) applied to every position of a channel-first map. */
    private static NDArray conv1x1(NDArray x, NDArray weight, NDArray bias) {
        Shape ws = weight.getShape();
        try (NDArray w4 = weight.reshape(ws.get(0), ws.get(1), 1, 1)) {
            return Convolutions.conv2d(x, w4, bias, 1, 0);
        }
    }

    /** Number of heads. */
    public int heads() {
        return heads;
    }

    @Override
    public String toString() {
        return "Attention(" + channels + ", heads=" + heads + ", dim_head=" + dimHead + ")";
    }
}
