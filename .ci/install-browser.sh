#!/usr/bin/env bash
# Installs what PlaygroundBrowserTest needs: Debian's chromium and chromium-driver (/usr/bin/chromium,
# /usr/bin/chromedriver). Idempotent and quiet; nothing else downloads a browser or a driver.
set -euo pipefail
if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
echo "install-browser: $(/usr/bin/chromium --version 2>/dev/null | tail -1); $(/usr/bin/chromedriver --version | cut -d' ' -f1-2)"
