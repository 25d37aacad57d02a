/**
 * Small image classifiers trained by the kit, used to measure what generative models produce (e.g. the share of
 * class-conditioned MNIST samples recognised as the requested digit): {@link diffusionkit.classify.MnistClassifier},
 * and {@link diffusionkit.classify.NearestNeighbours}, a k-NN in pixel space that learns nothing, for a judgement
 * independent of a classifier that also guided the samples.
 */
package diffusionkit.classify;
