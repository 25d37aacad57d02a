#!/usr/bin/env bash
# The kit's test command (the README's second command; .ci/run calls exactly this).
# Installs what the tests need that Maven cannot bring (npm for the datasets; Jupyter for the kernel tests;
# Chromium for the browser test), then builds everything and runs every test with Maven.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }   # as in apt-update.sh
need_apt=()
command -v java >/dev/null || need_apt+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null || need_apt+=(maven)
command -v npm >/dev/null || need_apt+=(nodejs npm)
# the web demo's browser test: Debian's Chromium and its driver (Selenium is told where they are; nothing is downloaded)
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
[ -x /usr/bin/chromedriver ] || need_apt+=(chromium-driver)
if [ -x environment/install-test-deps.sh ]; then
  bash environment/install-test-deps.sh
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null; then
    echo "test.sh: please install ${need_apt[*]} (Java 17+, Maven 3.8+, Node.js with npm, Chromium and its driver)" \
         "and run again." >&2
    exit 1
  fi
  echo "[test] installing ${need_apt[*]} with apt-get" >&2
  bash environment/apt-update.sh
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
fi

export MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=68719476736 MALLOC_TOP_PAD_=1073741824
exec mvn -B -ntp install "$@"
