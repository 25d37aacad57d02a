"""The Jupyter messaging protocol, checked by jupyter_kernel_test against the kernel named `java`.

Run by KernelProtocolTest (JUnit) as: /usr/bin/python3 -m unittest -v test_protocol
with JUPYTER_PATH pointing at a kernelspec folder for this build.
Only the protocol features this kernel has are selected (load_tests), so nothing is skipped.
"""
import unittest

import jupyter_kernel_test


class JavaKernelTests(jupyter_kernel_test.KernelTests):
    kernel_name = "java"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # JShell's start-up happens with the first cell: keep it out of the suite's 15 s limits
        cls.kc.execute_interactive("1 + 1", timeout=180)

    language_name = "Java"
    file_extension = ".jshell"

    code_hello_world = 'System.out.println("hello, world");'
    code_stderr = 'System.err.println("oops");'

    completion_samples = [
        {"text": '"abc".toUpperCa', "matches": {"toUpperCase("}},
        {"text": "Math.sq", "matches": {"sqrt("}},
    ]
    complete_code_samples = ["1 + 1", "int x = 3;", "void f() { }", "%maven g:a:1"]
    incomplete_code_samples = ["for (int i = 0; i < 3; i++) {", "int f(int a) {"]
    invalid_code_samples = ["int x = 3 )"]

    code_generate_error = 'throw new IllegalStateException("expected failure")'

    code_execute_result = [
        {"code": "6 * 7", "result": "42"},
        {"code": '"ab" + "cd"', "result": "abcd"},
        {"code": "new java.awt.image.BufferedImage(2, 2, java.awt.image.BufferedImage.TYPE_INT_RGB)",
         "mime": "image/png"},
    ]
    code_display_data = [
        {"code": 'display("shown")', "mime": "text/plain"},
        {"code": "display(new java.awt.image.BufferedImage(3, 3, 1))", "mime": "image/png"},
    ]
    code_inspect_sample = "Math.max"


SELECTED = [
    "test_kernel_info", "test_execute_stdout", "test_execute_stderr", "test_completion",
    "test_is_complete", "test_error", "test_execute_result", "test_display_data", "test_inspect",
]


def load_tests(loader, standard_tests, pattern):
    suite = unittest.TestSuite()
    for name in SELECTED:
        suite.addTest(JavaKernelTests(name))
    return suite


if __name__ == "__main__":
    unittest.main()
