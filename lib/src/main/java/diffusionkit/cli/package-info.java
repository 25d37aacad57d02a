/** The command line ({@code ./kit}): info, fetch-data, and the training, sampling and demo commands. */
package diffusionkit.cli;
