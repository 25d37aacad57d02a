package diffusionkit;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import java.util.List;

import org.junit.jupiter.api.Tag;

/**
 * The JUnit tags of the kit's tests, in one place. {@code bash environment/test.sh} (what CI runs) runs every test;
 * the developer's fast command {@code bash environment/test.sh --fast} passes the parent pom's property
 * {@code test.excludedGroups} the tags {@link #FAST_EXCLUDES} and so leaves out their tests. Put a tag on the class
 * when all of it qualifies, else on the method. The kernel module, which cannot see these classes, tags with
 * {@code diffusionkit.kernel.Notebooks} (the same name); {@link TestTagsTest} checks that no test uses another tag,
 * that the tests starting Chromium or Jupyter are tagged, and that test.sh leaves out exactly these.
 */
public final class TestTags {

    /** A test that takes more than about 20 s on a 2-core CPU (training, a long sampling run). */
    public static final String SLOW = "slow";
    /** A test that starts Debian's headless Chromium through Selenium. */
    public static final String BROWSER = "browser";
    /** A test that runs a Jupyter kernel end to end (the course notebooks, the kernel protocol, a kernel session). */
    public static final String NOTEBOOKS = "notebooks";
    /** The kernel's installed layout, run after {@code package} by a second surefire execution (kernel pom). */
    public static final String INSTALLED = "installed";

    /** The tags the fast command leaves out, in the order of test.sh's {@code FAST_EXCLUDES}. */
    public static final List<String> FAST_EXCLUDES = List.of(SLOW, BROWSER, NOTEBOOKS);
    /** Every tag a test of the kit may carry. */
    public static final List<String> ALL = List.of(SLOW, BROWSER, NOTEBOOKS, INSTALLED);

    private TestTags() {}

    /** Tags a test class or method {@value #SLOW}: more than about 20 s on a 2-core CPU. */
    @Target({ElementType.TYPE, ElementType.METHOD})
    @Retention(RetentionPolicy.RUNTIME)
    @Tag(SLOW)
    public @interface Slow {}

    /** Tags a test class or method {@value #BROWSER}: it starts Chromium through Selenium. */
    @Target({ElementType.TYPE, ElementType.METHOD})
    @Retention(RetentionPolicy.RUNTIME)
    @Tag(BROWSER)
    public @interface Browser {}
}
