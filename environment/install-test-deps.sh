#!/usr/bin/env bash
# Installs what the kernel tests (environment/kernel, `mvn test`) need besides Java and Maven:
# Debian's Jupyter client tools, nbclient/nbformat and the jupyter_kernel_test protocol suite, for /usr/bin/python3.
#
#   sudo environment/install-test-deps.sh        (or as root, e.g. in CI)
#
# On a machine without apt-get it prints the pip line instead and exits 1.
set -euo pipefail

PACKAGES=(python3-nbclient python3-nbformat python3-jupyter-client jupyter-client python3-jupyter-kernel-test
          python3-nbconvert jupyter-nbconvert)

if ! command -v apt-get >/dev/null 2>&1; then
  cat >&2 <<'MSG'
install-test-deps.sh: no apt-get here. Install the test tools into the python3 the tests call, for example:
    python3 -m pip install jupyter_client nbclient nbformat nbconvert jupyter_kernel_test
then run the tests with KERNEL_TEST_PYTHON=$(command -v python3) mvn test
MSG
  exit 1
fi
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

bash "$(dirname "${BASH_SOURCE[0]}")/apt-update.sh"
AVAILABLE=()
for p in "${PACKAGES[@]}"; do
  # awk reads all of apt-cache's output: `grep -q` would stop early, apt-cache would die of SIGPIPE, and with
  # pipefail an available package would look unavailable (it did, in CI)
  if [[ "$(apt-cache policy "$p" 2>/dev/null | awk '/Candidate:/ {print $2}')" == [0-9]* ]]; then
    AVAILABLE+=("$p")
  else
    echo "install-test-deps.sh: package $p is not available here, skipped" >&2
  fi
done
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${AVAILABLE[@]}"

/usr/bin/python3 -c 'import jupyter_client, nbclient, nbformat, jupyter_kernel_test' \
  && echo "Kernel test dependencies are installed for /usr/bin/python3."
