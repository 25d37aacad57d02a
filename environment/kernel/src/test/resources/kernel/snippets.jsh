// A file of snippets for the %load test of the kernel.
int triple(int x) {
    return 3 * x;
}
String loaded = "from snippets.jsh";
