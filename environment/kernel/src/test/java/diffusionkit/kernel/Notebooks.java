package diffusionkit.kernel;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

import org.junit.jupiter.api.Tag;

/**
 * Tags a test {@code notebooks}: it runs a Jupyter kernel end to end (the course notebooks, the protocol suite, a
 * kernel session), needs Jupyter's Python tools and is left out by the fast command
 * ({@code bash environment/test.sh --fast}). The tag names are documented in lib's {@code diffusionkit.TestTags},
 * which this module cannot see; lib's {@code TestTagsTest} checks that this name is one of them.
 */
@Target({ElementType.TYPE, ElementType.METHOD})
@Retention(RetentionPolicy.RUNTIME)
@Tag("notebooks")
@interface Notebooks {}
