#!/usr/bin/env bash
# Browser tests drive Debian's Chromium through Playwright. Install it when missing and we are
# root; otherwise say so (the browser tests then skip, except under CI, where they fail).
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's chromium for the browser tests..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
  exit 0
fi
echo "chromium is not installed and cannot be installed without root: browser tests will skip."
echo "(install it with: sudo apt-get install chromium)"
