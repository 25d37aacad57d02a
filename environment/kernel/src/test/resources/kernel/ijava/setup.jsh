// A shared set-up file, as notebooks written for IJava %load it (by name, without the extension).
String greeting() {
    return "hello from setup.jsh";
}
