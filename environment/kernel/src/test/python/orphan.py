"""Starts the kernel, prints its process id, and dies without shutting it down (as a killed notebook server would).

usage: /usr/bin/python3 orphan.py     (the kernel must notice its parent is gone and exit by itself)
"""
import os
import sys

from jupyter_client.manager import KernelManager

km = KernelManager(kernel_name="java")
km.start_kernel()
kc = km.client()
kc.start_channels()
kc.wait_for_ready(timeout=120)
try:
    pid = km.provisioner.process.pid
except AttributeError:
    pid = km.kernel.pid
print(pid, flush=True)
sys.stdout.flush()
os._exit(0)
