"""Executes a notebook with nbclient and writes the executed copy.

usage: /usr/bin/python3 run_notebook.py IN.ipynb OUT.ipynb

Errors are allowed (the caller checks the error cells). A cell tagged `interrupt` gets a short timeout after which
nbclient interrupts the kernel (interrupt_on_timeout) and goes on with the next cell.
"""
import sys
import time

import nbformat
from nbclient import NotebookClient


def timeout_for(cell):
    return 4 if "interrupt" in cell.get("metadata", {}).get("tags", []) else 180


def main(src, dst):
    nb = nbformat.read(src, as_version=4)
    client = NotebookClient(nb, kernel_name="java", allow_errors=True, interrupt_on_timeout=True,
                            timeout_func=timeout_for, startup_timeout=120)
    t0 = time.time()
    client.execute()
    nb.metadata["executed_in_seconds"] = round(time.time() - t0, 2)
    nbformat.write(nb, dst)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
