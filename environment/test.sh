#!/usr/bin/env bash
# The kit's test command (the README's second command; .ci/run calls exactly this).
# Installs what the tests need that Maven cannot bring (npm for the datasets; Jupyter for the kernel tests;
# Chromium for the browser test), then builds everything and runs every test with Maven.
#
#   bash environment/test.sh [--fast] [MAVEN ARGS...]
#
# --fast (a developer's quick check, never CI): `mvn verify` without the tests tagged slow, browser or notebooks
# (see lib's test class diffusionkit.TestTags), so neither Chromium nor Jupyter is needed, and ~/.m2 is left alone.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"

# the tags --fast leaves out (TestTagsTest checks this line against TestTags.FAST_EXCLUDES)
FAST_EXCLUDES=slow,browser,notebooks
fast=0
if [ "${1:-}" = --fast ]; then
  fast=1
  shift
fi

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }   # as in apt-update.sh
need_apt=()
command -v java >/dev/null || need_apt+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null || need_apt+=(maven)
command -v npm >/dev/null || need_apt+=(nodejs npm)
if [ "$fast" = 0 ]; then
  # the web demo's browser test: Debian's Chromium and its driver (Selenium is told where they are; nothing is
  # downloaded)
  [ -x /usr/bin/chromium ] || need_apt+=(chromium)
  [ -x /usr/bin/chromedriver ] || need_apt+=(chromium-driver)
  if [ -x environment/install-test-deps.sh ]; then
    bash environment/install-test-deps.sh
  fi
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

export MALLOC_ARENA_MAX=1 MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=68719476736 MALLOC_TOP_PAD_=1073741824
if [ "$fast" = 1 ]; then
  exec mvn -B -ntp verify -Dtest.excludedGroups="$FAST_EXCLUDES" "$@"
fi
exec mvn -B -ntp install "$@"
