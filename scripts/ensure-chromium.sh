#!/usr/bin/env bash
# The browser tests drive Debian's chromium through Playwright (never a downloaded browser build).
set -euo pipefail
CHROMIUM="${AFTERSALES_CHROMIUM:-/usr/bin/chromium}"
if [ -x "$CHROMIUM" ]; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "Installing Debian's chromium for the browser tests..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
  exit 0
fi
echo "The browser tests need Chromium at $CHROMIUM: install Debian's 'chromium' package (or set AFTERSALES_CHROMIUM)." >&2
exit 1
