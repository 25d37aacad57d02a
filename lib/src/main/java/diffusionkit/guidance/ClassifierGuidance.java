package diffusionkit.guidance;

import ai.djl.ndarray.NDArray;
import diffusionkit.classify.Classifier;

import java.util.Arrays;

/**
 * Classifier guidance on x̂_0: the cross-entropy of a {@link Classifier}'s logits on the predicted clean
 * images against the wanted class, the mean over the batch. Lower means "more like the wanted class" to the
 * classifier. (Dhariwal and Nichol's classifier guidance uses a classifier of the noisy x_t; this is the course's
 * x̂_0 formulation with a classifier of clean images.)
 */
public final class ClassifierGuidance implements GuidanceLoss {

    private final Classifier classifier;
    private final long[] targets;

    private ClassifierGuidance(Classifier classifier, long[] targets) {
        this.classifier = classifier;
        this.targets = targets;
    }

    /**
     * Every sample towards {@code targetClass}.
     *
     * @throws IllegalArgumentException when the class is not one of the classifier's
     */
    public static ClassifierGuidance of(Classifier classifier, int targetClass) {
        check(classifier, targetClass);
        return new ClassifierGuidance(classifier, new long[] {targetClass});
    }

    /**
     * Every sample towards the class named {@code className} (e.g. "Trouser").
     *
     * @throws IllegalArgumentException listing the classifier's class names when the name is not one of them
     */
    public static ClassifierGuidance of(Classifier classifier, String className) {
        int k = classifier.classNames().indexOf(className);
        if (k < 0) {
            throw new IllegalArgumentException("class '" + className + "' is not one of the classifier's: "
                    + classifier.classNames());
        }
        return new ClassifierGuidance(classifier, new long[] {k});
    }

    /** Sample i towards {@code targetClasses[i]} (the batch size must then equal the array's length). */
    public static ClassifierGuidance perSample(Classifier classifier, int... targetClasses) {
        long[] t = new long[targetClasses.length];
        for (int i = 0; i < t.length; i++) {
            check(classifier, targetClasses[i]);
            t[i] = targetClasses[i];
        }
        return new ClassifierGuidance(classifier, t);
    }

    private static void check(Classifier classifier, int k) {
        if (k < 0 || k >= classifier.numClasses()) {
            throw new IllegalArgumentException("class " + k + " is outside the classifier's 0.."
                    + (classifier.numClasses() - 1) + " (" + classifier.classNames() + ")");
        }
    }

    /** Cross-entropy of the classifier on x̂_0 ([B, C, H, W] in [-1, 1]) to the wanted class(es); a scalar. */
    @Override
    public NDArray loss(NDArray predOriginalSample) {
        long b = predOriginalSample.getShape().get(0);
        long[] y = new long[(int) b];
        if (targets.length == 1) {
            Arrays.fill(y, targets[0]);
        } else if (targets.length == b) {
            y = targets;
        } else {
            throw new IllegalArgumentException("ClassifierGuidance has " + targets.length + " per-sample classes but the "
                    + "batch has " + b + " images");
        }
        NDArray labels = predOriginalSample.getManager().create(y).toDevice(predOriginalSample.getDevice(), false);
        return Classifier.crossEntropy(classifier.logits(predOriginalSample), labels);
    }

    /** The classifier. */
    public Classifier classifier() {
        return classifier;
    }

    @Override
    public String toString() {
        return "ClassifierGuidance(" + (targets.length == 1 ? classifier.classNames().get((int) targets[0])
                : Arrays.toString(targets)) + ")";
    }
}
