/** Small helpers shared by the whole kit: the device choice, atomic file writes. */
package diffusionkit.util;
