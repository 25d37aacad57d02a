#!/usr/bin/env bash
# Refreshes apt's package lists, and fails when that did not work. Plain `apt-get update` exits 0 when a download
# fails (it only warns), and the install that follows then reports packages as missing. With apt >= 2.1
# `--error-on=any` turns a failed download into an error; the update is tried three times, 10 and 20 s apart, before
# giving up with a message.
set -euo pipefail
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
strict=()
apt_version="$(apt-get --version | awk 'NR == 1 {print $2}')"  # awk reads it all: no SIGPIPE under pipefail
if dpkg --compare-versions "$apt_version" ge 2.1; then
  strict=(--error-on=any)
fi
for attempt in 1 2 3; do
  if as_root apt-get -o Acquire::Retries=3 update -qq "${strict[@]}"; then
    exit 0
  fi
  echo "apt-update.sh: apt-get update failed (try $attempt of 3)" >&2
  [ "$attempt" -lt 3 ] && sleep $((attempt * 10))
done
echo "apt-update.sh: could not refresh apt's package lists: check the network and /etc/apt/sources.list*, then run" \
     "the command again" >&2
exit 1
