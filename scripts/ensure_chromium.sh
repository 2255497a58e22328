#!/usr/bin/env bash
# Installs Debian's Chromium for the browser end-to-end test (driven by Playwright with
# executable_path=/usr/bin/chromium, so Playwright's own browser downloads are never needed).
# Does nothing when /usr/bin/chromium exists. Needs root (or sudo) and apt.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "warning: no apt-get; install Chromium at /usr/bin/chromium yourself (the browser test is skipped without it)" >&2
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "warning: not root and no sudo; cannot install Chromium (the browser test is skipped without it)" >&2
    exit 0
  fi
fi
echo "==> installing chromium (apt-get)" >&2
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q chromium
