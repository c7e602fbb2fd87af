#!/usr/bin/env bash
# System packages the suite uses beyond Python: Go (builds Velociraptor), Docker + compose
# (--lab docker and its tests), Chromium (the report's browser test), Node.js + npm (the feature linter,
# gherkin-lint). As root with apt, the
# missing ones are installed from Debian; otherwise this says what is missing and the tests
# that need it skip with that reason.
set -euo pipefail
missing=()
command -v go >/dev/null || missing+=(golang-go)
command -v dockerd >/dev/null || missing+=(docker.io)
command -v docker-compose >/dev/null || missing+=(docker-compose)
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v ss >/dev/null || missing+=(iproute2)
command -v npm >/dev/null || missing+=(nodejs npm)   # the feature linter (gherkin-lint, npm)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "sysdeps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "sysdeps: missing ${missing[*]} (not root or no apt-get): install them for the full suite" >&2
fi
