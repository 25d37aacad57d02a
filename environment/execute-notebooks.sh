#!/usr/bin/env bash
# Executes notebooks headless with the Java kernel (nbclient) and writes the executed copies.
#
#   environment/execute-notebooks.sh [--out DIR] [--timeout SECONDS] [--kernel NAME] [notebook.ipynb ...]
#
# Without notebooks it runs notebooks/*.ipynb. Executed copies go to DIR (default target/executed-notebooks).
# Each notebook runs in its own folder (relative paths work as in Jupyter). The kernel is the notebook's own
# kernelspec (IJava's and this kit's are both named "java") unless --kernel names another.
# Exit status 1 when any cell of any notebook fails or prints NaN or an infinity; the copy shows the error. Settings such as DATASET_LIMIT or
# MAX_EPOCH in the environment reach the notebooks (the kernel inherits the environment).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$ROOT/target/executed-notebooks"
TIMEOUT=3600
KERNEL=""
NOTEBOOKS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT="$2"; shift 2 ;;
    --timeout) TIMEOUT="$2"; shift 2 ;;
    --kernel) KERNEL="$2"; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) NOTEBOOKS+=("$1"); shift ;;
  esac
done
if [ ${#NOTEBOOKS[@]} -eq 0 ]; then
  shopt -s nullglob
  NOTEBOOKS=("$ROOT"/notebooks/*.ipynb)
  if [ ${#NOTEBOOKS[@]} -eq 0 ]; then
    echo "execute-notebooks.sh: no notebooks given and none in $ROOT/notebooks" >&2
    exit 2
  fi
fi

# Debian's interpreter has the Jupyter modules; the first python3 on the PATH may be another one.
PYTHON=/usr/bin/python3
if ! "$PYTHON" -c 'import nbclient, nbformat' >/dev/null 2>&1; then
  PYTHON=python3
  if ! "$PYTHON" -c 'import nbclient, nbformat' >/dev/null 2>&1; then
    echo "execute-notebooks.sh: no python3 with nbclient and nbformat: run environment/install-kernel.sh" \
         "(Debian) or python3 -m pip install nbclient nbformat" >&2
    exit 1
  fi
fi

mkdir -p "$OUT"
exec "$PYTHON" - "$OUT" "$TIMEOUT" "$KERNEL" "${NOTEBOOKS[@]}" <<'PY'
import os
import re
import sys
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

NON_FINITE = re.compile(r"(?<![\w.])(NaN|nan|-?Infinity|-?inf)(?![\w])")
out, timeout, kernel, *notebooks = sys.argv[1:]
failed = []
for path in notebooks:
    path = os.path.abspath(path)
    nb = nbformat.read(path, as_version=4)
    options = dict(timeout=int(timeout), startup_timeout=120,
                   resources={"metadata": {"path": os.path.dirname(path)}})
    if kernel:
        options["kernel_name"] = kernel
    client = NotebookClient(nb, **options)
    t0 = time.time()
    status = "ok"
    try:
        client.execute()
    except CellExecutionError as e:
        status = "FAILED"
        failed.append(path)
        print(str(e)[-3000:], file=sys.stderr)
    except Exception as e:  # the kernel died, a timeout...
        status = "FAILED"
        failed.append(path)
        print(f"{type(e).__name__}: {e}", file=sys.stderr)
    # an error output in any cell fails the run, also where a cell allowed errors; so does a printed NaN or infinity
    # (a loss, a distance, a table value): wrong numbers are loud
    for index, cell in enumerate(nb.cells):
        outputs = cell.get("outputs", [])
        if any(o.get("output_type") == "error" for o in outputs) and path not in failed:
            status = "FAILED"
            failed.append(path)
        for o in outputs:
            text = "".join(o.get("text", "")) + "".join(o.get("data", {}).get("text/plain", ""))
            bad = NON_FINITE.search(text)
            if bad:
                line = text[text.rfind("\n", 0, bad.start()) + 1:text.find("\n", bad.end()) % (len(text) + 1)]
                print(f"{os.path.basename(path)}: cell {index} ({cell.get('id')}) printed a non-finite number: "
                      f"{line.strip()[:200]}", file=sys.stderr)
                if path not in failed:
                    status = "FAILED"
                    failed.append(path)
    target = os.path.join(out, os.path.basename(path))
    nbformat.write(nb, target)
    print(f"{status:6} {time.time() - t0:7.1f} s  {path} -> {target}")

if failed:
    print(f"{len(failed)} of {len(notebooks)} notebook(s) failed", file=sys.stderr)
    sys.exit(1)
print(f"all {len(notebooks)} notebook(s) ran without errors")
PY
