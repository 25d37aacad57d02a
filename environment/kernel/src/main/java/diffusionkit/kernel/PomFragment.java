package diffusionkit.kernel;

import java.io.StringReader;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilder;
import javax.xml.parsers.DocumentBuilderFactory;

import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;
import org.xml.sax.InputSource;
import org.xml.sax.SAXParseException;

/**
 * The dependencies and repositories of a POM, or of what a README says to paste into one: {@code %%loadFromPOM} takes
 * a whole {@code <project>}, or loose {@code <dependency>} and {@code <repository>} elements (alone or inside
 * {@code <dependencies>} / {@code <repositories>}), as IJava does. Dependencies are kept by scope: by default
 * compile, runtime, system and import (no {@code <scope>} is compile), or the scopes the magic names.
 *
 * @param dependencies the dependencies to resolve
 * @param repositories remote repositories as {id, url}
 */
record PomFragment(List<MavenResolver.Coordinate> dependencies, List<String[]> repositories) {

    /** The scopes loaded when the magic names none, as IJava. */
    static final Set<String> DEFAULT_SCOPES = Set.of("compile", "runtime", "system", "import");

    /** Parses a POM or POM fragment; {@code scopes} empty means {@link #DEFAULT_SCOPES}. */
    static PomFragment parse(String xml, List<String> scopes) throws Exception {
        Set<String> wanted = scopes.isEmpty() ? DEFAULT_SCOPES : Set.copyOf(scopes);
        DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
        factory.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true); // no external entities
        factory.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
        DocumentBuilder builder = factory.newDocumentBuilder();
        String body = xml.strip().replaceFirst("^<\\?xml[^>]*\\?>", "");
        Element root;
        try {
            root = builder.parse(new InputSource(new StringReader("<fragment>" + body + "</fragment>"))).getDocumentElement();
        } catch (SAXParseException e) {
            throw new IllegalArgumentException("%loadFromPOM: the POM is not well-formed XML (line " + e.getLineNumber()
                    + "): " + e.getMessage(), e);
        }
        List<MavenResolver.Coordinate> deps = new ArrayList<>();
        List<String[]> repos = new ArrayList<>();
        collect(root, wanted, deps, repos);
        return new PomFragment(deps, repos);
    }

    /** Walks the elements that can hold dependencies and repositories; a plugin's dependencies are not ours. */
    private static void collect(Element parent, Set<String> scopes, List<MavenResolver.Coordinate> deps,
            List<String[]> repos) {
        NodeList children = parent.getChildNodes();
        for (int i = 0; i < children.getLength(); i++) {
            Node n = children.item(i);
            if (!(n instanceof Element e)) {
                continue;
            }
            switch (e.getTagName()) {
                case "project", "dependencies", "repositories" -> collect(e, scopes, deps, repos);
                case "dependency" -> {
                    String scope = text(e, "scope", "compile");
                    if (scopes.contains(scope)) {
                        String version = text(e, "version", null);
                        String coordinate = text(e, "groupId", "?") + ":" + text(e, "artifactId", "?");
                        if (version == null || version.contains("${")) {
                            throw new IllegalArgumentException("%loadFromPOM: the dependency " + coordinate + " has "
                                    + (version == null ? "no <version>" : "the version " + version)
                                    + ": give the version itself (a parent POM or BOM that manages it is not read)");
                        }
                        deps.add(MavenResolver.Coordinate.of(text(e, "groupId", null), text(e, "artifactId", null),
                                text(e, "type", null), text(e, "classifier", null), version));
                    }
                }
                case "repository" -> repos.add(new String[] {text(e, "id", "repo" + repos.size()), text(e, "url", "")});
                default -> { } // build, dependencyManagement, properties...: not used
            }
        }
    }

    private static String text(Element e, String tag, String dflt) {
        NodeList l = e.getChildNodes();
        for (int i = 0; i < l.getLength(); i++) {
            if (l.item(i) instanceof Element c && c.getTagName().equals(tag)) {
                return c.getTextContent().strip();
            }
        }
        return dflt;
    }
}
