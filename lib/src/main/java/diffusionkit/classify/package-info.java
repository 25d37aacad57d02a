/**
 * Small image classifiers trained by the kit, used to measure what generative models produce (e.g. the share of
 * class-conditioned MNIST samples recognised as the requested digit): {@link diffusionkit.classify.MnistClassifier}.
 */
package diffusionkit.classify;
