/**
 * The kit's image classifiers, one family behind {@link diffusionkit.classify.Classifier} (logits, prediction,
 * accuracy, one folder format, {@link diffusionkit.classify.Classifier#load} for either kind):
 * {@link diffusionkit.classify.ImageClassifier}, a small CNN of any size for classifier guidance, and
 * {@link diffusionkit.classify.MnistClassifier}, the LeNet-like judge of generated digits; one training loop,
 * {@link diffusionkit.classify.ClassifierTraining}. And {@link diffusionkit.classify.NearestNeighbours}, a k-NN in
 * pixel space that learns nothing, for a judgement independent of a classifier that also guided the samples.
 */
package diffusionkit.classify;
