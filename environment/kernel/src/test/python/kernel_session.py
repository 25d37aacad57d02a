"""Drives one kernel through jupyter_client and prints what it measured as JSON (the last line of stdout).

usage: /usr/bin/python3 kernel_session.py

- startup_seconds: kernel start to the first result of `1 + 1`
- after_exception: a cell that throws, then the next cell still answers
- heap_before_mb / heap_after_mb / rss_*: the kernel JVM's used heap (after System.gc) and RSS before and after
  50 runs of a cell that re-declares a variable holding a new 100 MB array
- interrupted: an endless loop interrupted through KernelManager.interrupt_kernel, then the kernel answers
- banner: the banner of the kernel_info reply
- maven_central, maven_value, maven_dependency_jar: when KIT_MAVEN_REPO_LOCAL is set (KernelSessionTest points it at
  a local repository without commons-rng), `%maven org.apache.commons:commons-rng-core:1.5` resolved online, a value
  computed with the artifact, and the jar a class of its dependency (commons-rng-client-api) was loaded from

Each cell is reported as [status, text/plain result, [errors], stdout + stderr text].
"""
import json
import os
import threading
import time

from jupyter_client.manager import KernelManager

TIMEOUT = 120


def run(kc, code, timeout=TIMEOUT):
    outputs = []
    reply = kc.execute_interactive(code, timeout=timeout, output_hook=lambda msg: outputs.append(msg),
                                   allow_stdin=False)
    result = None
    errors = []
    text = ""
    for msg in outputs:
        if msg["msg_type"] == "execute_result":
            result = msg["content"]["data"].get("text/plain")
        elif msg["msg_type"] == "error":
            errors.append(msg["content"]["ename"] + ": " + msg["content"]["evalue"])
        elif msg["msg_type"] == "stream":
            text += msg["content"]["text"]
    return reply["content"]["status"], result, errors, text


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return -1


def main():
    report = {}
    t0 = time.time()
    km = KernelManager(kernel_name="java")
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=TIMEOUT)
    report["ready_seconds"] = round(time.time() - t0, 2)
    report["first"] = run(kc, "1 + 1")
    report["startup_seconds"] = round(time.time() - t0, 2)
    try:
        pid = km.provisioner.process.pid
    except AttributeError:
        pid = km.kernel.pid

    report["banner"] = kc.kernel_info(reply=True, timeout=TIMEOUT)["content"]["banner"]

    if os.environ.get("KIT_MAVEN_REPO_LOCAL"):
        report["maven_central"] = run(kc, "%maven org.apache.commons:commons-rng-core:1.5", timeout=600)
        report["maven_value"] = run(kc, "new org.apache.commons.rng.core.source64.SplitMix64(42L).nextLong()")
        report["maven_dependency_jar"] = run(kc, "org.apache.commons.rng.UniformRandomProvider.class"
                                                 ".getProtectionDomain().getCodeSource().getLocation().getPath()")

    report["throw"] = run(kc, 'throw new RuntimeException("boom")')
    report["after_exception"] = run(kc, "21 * 2")

    run(kc, "long usedHeap() { for (int i = 0; i < 3; i++) System.gc();"
            " Runtime r = Runtime.getRuntime(); return r.totalMemory() - r.freeMemory(); }")
    report["heap_before_mb"] = int(run(kc, "usedHeap()")[1]) / 1e6
    report["rss_before_mb"] = rss_mb(pid)
    statuses = set()
    t = time.time()
    for i in range(50):
        # the declared type alternates, so JShell replaces the variable's wrapper class each time
        kind = "byte[]" if i % 2 == 0 else "Object"
        statuses.add(run(kc, f"{kind} big = new byte[100_000_000];\nbig.hashCode()")[0])
    report["allocation_seconds"] = round(time.time() - t, 2)
    report["allocation_statuses"] = sorted(statuses)
    report["heap_after_mb"] = int(run(kc, "usedHeap()")[1]) / 1e6
    report["rss_after_mb"] = rss_mb(pid)

    timer = threading.Timer(2.0, km.interrupt_kernel)
    timer.start()
    t = time.time()
    report["loop"] = run(kc, "long spins = 0;\nwhile (true) { spins++; }")
    report["loop_seconds"] = round(time.time() - t, 2)
    report["after_interrupt"] = run(kc, '"still here"')

    kc.stop_channels()
    km.shutdown_kernel(now=False)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
