/** Pictures and tables: image grids, XChart charts and Tablesaw summaries, as {@code BufferedImage} or tables. Depends on nothing of the model side. */
package diffusionkit.viz;
