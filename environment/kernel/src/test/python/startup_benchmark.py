"""Start-up benchmark of an installed Java kernel (a benchmark, not a test: nothing runs it automatically).

usage: /usr/bin/python3 startup_benchmark.py [KERNEL_NAME [RUNS]]      (defaults: java, 8)

Each run starts the kernel through jupyter_client, waits until it is ready, executes `1 + 1` and stops at its
execute_result: the time a notebook user waits for the first answer. It prints each run, then min, median and max.
The kernel is the one Jupyter finds under KERNEL_NAME (`jupyter kernelspec list`), e.g. the one
environment/install-kernel.sh registered. For numbers that mean something, run it on an otherwise quiet machine.
"""
import sys
import time

from jupyter_client.manager import KernelManager

name = sys.argv[1] if len(sys.argv) > 1 else "java"
times = []
for i in range(int(sys.argv[2]) if len(sys.argv) > 2 else 8):
    t0 = time.time()
    km = KernelManager(kernel_name=name)
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=60)
    ready = time.time() - t0
    msg_id = kc.execute("1 + 1")
    while True:
        m = kc.get_iopub_msg(timeout=60)
        if m["parent_header"].get("msg_id") == msg_id and m["msg_type"] == "execute_result":
            break
    t = time.time() - t0
    times.append(t)
    print(f"run {i}: ready {ready:.2f} s, first result {t:.2f} s", flush=True)
    kc.stop_channels()
    km.shutdown_kernel(now=True)
    time.sleep(1)  # the stopped JVM's exit is not part of the next run's start
times.sort()
print("min %.2f median %.2f max %.2f" % (times[0], times[len(times) // 2], times[-1]))
