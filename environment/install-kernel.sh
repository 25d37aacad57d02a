#!/usr/bin/env bash
# Installs the diffusion-kit Java kernel for Jupyter (kernelspec name "java", like IJava, so notebooks written
# for IJava run unchanged).
#
#   environment/install-kernel.sh                 build, install Jupyter if absent (Debian), register for this user
#   environment/install-kernel.sh --prefix DIR    register under DIR/share/jupyter/kernels (CI; then JUPYTER_PATH=DIR/share/jupyter)
#   options: --gpu (build with -Pgpu: no CPU natives, DJL may download the CUDA build of libtorch; see GPU.md)
#            --fast-start (C1 JIT only: -XX:TieredStopAtLevel=1; ~1 s faster start, slower long-running Java loops)
#            --no-build (use the jars already in environment/kernel/target/kernel)
#            --no-jupyter (never install Jupyter)   --no-cds (no class data archive)
#            --name NAME (default java)   --display-name TEXT (default "Java (diffusion-kit)")
#
# The kernel runs `java` from the PATH (Java 17 or newer; the flags suit the version found at install time, so run
# this script again after switching to another Java version) with the shaded kernel jar plus
# environment/kernel/target/kernel/lib/* (the kit and its dependencies): rebuild with this script, or with
# `mvn -B -DskipTests install`, and the kernel uses the new build; `mvn clean` removes it until the next build.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIST="$ROOT/environment/kernel/target/kernel"
NAME=java
DISPLAY_NAME="Java (diffusion-kit)"
PREFIX=""
BUILD=1
JUPYTER=1
CDS=1
GPU=0
FAST_START=0

while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) PREFIX="$2"; shift 2 ;;
    --name) NAME="$2"; shift 2 ;;
    --display-name) DISPLAY_NAME="$2"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --no-jupyter) JUPYTER=0; shift ;;
    --no-cds) CDS=0; shift ;;
    --gpu) GPU=1; shift ;;
    --fast-start) FAST_START=1; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "install-kernel.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

say() { printf '\n== %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# --- Java --------------------------------------------------------------------------------------------------------
if ! command -v java >/dev/null 2>&1; then
  echo "install-kernel.sh: no 'java' on the PATH. Install a JDK 17 (Debian/Ubuntu: apt-get install -y openjdk-17-jdk-headless)." >&2
  exit 1
fi
JAVA_MAJOR="$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
JAVA_MAJOR="${JAVA_MAJOR%%.*}"
if ! [[ "$JAVA_MAJOR" =~ ^[0-9]+$ ]]; then
  echo "install-kernel.sh: could not read the version of the java on the PATH ($(command -v java)): check that" \
       "'java -version' works, or put a JDK 17 or newer first on the PATH." >&2
  exit 1
fi
if [ "$JAVA_MAJOR" -lt 17 ]; then
  echo "install-kernel.sh: java on the PATH is version $JAVA_MAJOR; the kit needs Java 17 or newer." >&2
  exit 1
fi
# The kernel's System.exit() guard is a security manager. Java 17 allows one by default, Java 18 to 23 only with
# -Djava.security.manager=allow, and from Java 24 on that flag is a fatal start-up error ("Enabling a Security
# Manager is not supported"): pass it for 17-23 only. On 24+ the kernel runs without the guard (see README.md).
SECURITY_FLAGS=()
if [ "$JAVA_MAJOR" -le 23 ]; then SECURITY_FLAGS=(-Djava.security.manager=allow); fi

# --- Build -------------------------------------------------------------------------------------------------------
if [ "$BUILD" = 1 ]; then
  say "Building the kit and the kernel (mvn install, tests skipped)"
  if ! command -v mvn >/dev/null 2>&1; then
    echo "install-kernel.sh: 'mvn' is not on the PATH. Install Maven (apt-get install -y maven) or build elsewhere and use --no-build." >&2
    exit 1
  fi
  rm -rf "$DIST/lib"   # no stale jars from an earlier build (or from the other profile)
  PROFILE=()
  if [ "$GPU" = 1 ]; then PROFILE=(-Pgpu); fi
  (cd "$ROOT" && mvn -q -B -DskipTests "${PROFILE[@]}" -pl environment/kernel -am install)
  # ./kit rebuilds with the same profile (a CPU build would bring the CPU natives back onto a GPU machine's classpath)
  if [ "$GPU" = 1 ]; then echo gpu > "$ROOT/lib/target/.kit-profile"; else rm -f "$ROOT/lib/target/.kit-profile"; fi
fi
if [ ! -f "$DIST/diffusion-kit-kernel.jar" ] || [ ! -d "$DIST/lib" ]; then
  echo "install-kernel.sh: $DIST/diffusion-kit-kernel.jar is missing: run without --no-build." >&2
  exit 1
fi

# --- Jupyter -----------------------------------------------------------------------------------------------------
have_jupyter() { command -v jupyter >/dev/null 2>&1 && jupyter kernelspec --version >/dev/null 2>&1; }
if ! have_jupyter; then
  if [ "$JUPYTER" = 1 ] && command -v apt-get >/dev/null 2>&1; then
    say "Installing Jupyter from Debian packages"
    bash "$ROOT/environment/apt-update.sh"
    PKGS=""
    for p in jupyter-notebook python3-nbconvert python3-nbclient jupyter-client python3-jupyter-client; do
      if [[ "$(apt-cache policy "$p" 2>/dev/null | awk '/Candidate:/ {print $2}')" == [0-9]* ]]; then PKGS="$PKGS $p"; fi
    done
    # shellcheck disable=SC2086
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $PKGS
  fi
  if ! have_jupyter; then
    cat >&2 <<'MSG'
install-kernel.sh: Jupyter is not installed (no `jupyter kernelspec`). Install it, then run this script again:
    python3 -m pip install --user notebook nbclient nbconvert jupyter_client
  or with conda:
    conda install -c conda-forge notebook nbclient nbconvert jupyter_client
MSG
    exit 1
  fi
fi

# --- Class data archive (AppCDS): the JShell compiler's classes load from it, start-up ~0.5 s faster ---------------
CLASSPATH_ARG="$DIST/diffusion-kit-kernel.jar:$DIST/lib/*"
# Serial GC: the least overhead on 2 cores (tensors live in native memory, the Java heap stays small).
# Full tiered JIT by default: long Java loops run ~1.5-2x faster than with C1 only (see README.md, Start-up).
JVM_FLAGS=(-XX:+UseSerialGC)
if [ "$FAST_START" = 1 ]; then JVM_FLAGS+=(-XX:TieredStopAtLevel=1); fi
rm -f "$DIST/kernel.jsa"
if [ "$CDS" = 1 ]; then
  say "Writing the class data archive"
  if java "${JVM_FLAGS[@]}" -XX:ArchiveClassesAtExit="$DIST/kernel.jsa" -Xlog:cds=off -Xlog:cds+dynamic=off \
       ${SECURITY_FLAGS[@]+"${SECURITY_FLAGS[@]}"} -cp "$CLASSPATH_ARG" diffusionkit.kernel.Main --warmup \
       >/dev/null 2>&1 && [ -s "$DIST/kernel.jsa" ]; then
    JVM_FLAGS+=(-XX:SharedArchiveFile="$DIST/kernel.jsa" -Xshare:auto)
  else
    echo "(no archive: this JVM cannot write one; the kernel starts without it)"
    rm -f "$DIST/kernel.jsa"
  fi
fi

# --- kernel.json -------------------------------------------------------------------------------------------------
SPEC="$ROOT/environment/kernel/target/kernelspec/$NAME"
rm -rf "$SPEC"
mkdir -p "$SPEC"
# DJL's offline switch is not fixed here: the kernel decides at start (DJL_OFFLINE=true|false in its environment,
# else offline only where no network is configured; the CPU natives are in lib/, so DJL fetches nothing on a CPU).
JVM_FLAGS+=(${SECURITY_FLAGS[@]+"${SECURITY_FLAGS[@]}"})
/usr/bin/env python3 - "$SPEC/kernel.json" "$DISPLAY_NAME" "$CLASSPATH_ARG" "${JVM_FLAGS[@]}" <<'PY'
import json, sys
out, display_name, classpath, *flags = sys.argv[1:]
argv = ["java", *flags, "-cp", classpath, "diffusionkit.kernel.Main", "{connection_file}"]
spec = {
    "argv": argv,
    "display_name": display_name,
    "language": "java",
    "interrupt_mode": "message",
    "env": {"MALLOC_ARENA_MAX": "1", "MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": "68719476736", "MALLOC_TOP_PAD_": "1073741824"},
    "metadata": {"debugger": False},
}
with open(out, "w") as f:
    json.dump(spec, f, indent=2)
    f.write("\n")
PY

say "Registering kernelspec '$NAME'"
if [ -n "$PREFIX" ]; then
  jupyter kernelspec install --replace --name "$NAME" --prefix "$PREFIX" "$SPEC"
  echo "Use it with: JUPYTER_PATH=$PREFIX/share/jupyter jupyter ..."
else
  jupyter kernelspec install --replace --name "$NAME" --user "$SPEC"
fi
cat "$SPEC/kernel.json"
echo
echo "Done. Start Jupyter (jupyter notebook) and pick \"$DISPLAY_NAME\", or run notebooks headless with environment/execute-notebooks.sh."
