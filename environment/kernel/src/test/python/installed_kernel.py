"""Starts an installed kernel through jupyter_client, runs `1 + 1` and prints what came back as JSON (last line).

usage: JUPYTER_PATH=PREFIX/share/jupyter /usr/bin/python3 installed_kernel.py KERNEL_NAME

Used by InstalledKernelIT on the kernelspec that `install-kernel.sh --no-build --prefix PREFIX` wrote.
"""
import json
import sys
import time

from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager


def main(name):
    report = {"resource_dir": KernelSpecManager().get_kernel_spec(name).resource_dir}
    t0 = time.time()
    km = KernelManager(kernel_name=name)
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=120)
        outputs = []
        reply = kc.execute_interactive("1 + 1", timeout=120, output_hook=outputs.append, allow_stdin=False)
        report["status"] = reply["content"]["status"]
        report["result"] = [m["content"]["data"]["text/plain"] for m in outputs if m["msg_type"] == "execute_result"]
        report["startup_seconds"] = round(time.time() - t0, 2)
        report["banner"] = kc.kernel_info(reply=True, timeout=60)["content"]["banner"]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    print(json.dumps(report))


if __name__ == "__main__":
    main(sys.argv[1])
