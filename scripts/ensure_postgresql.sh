#!/usr/bin/env bash
# Installs Debian's PostgreSQL server binaries for the end-to-end tests, `scripts/demo --live` and
# benchmarks/triggerer_scale.py. Each of them starts its own throwaway server (initdb in a
# temporary directory, a free port of 127.0.0.1; see scripts/cloudflows_demo/postgres.py), so the
# packaged cluster is never started here. Does nothing when initdb is already installed.
# Needs root (or sudo) and apt.
set -euo pipefail

if compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || command -v initdb >/dev/null 2>&1; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "error: no apt-get; install PostgreSQL's server binaries (initdb, postgres) yourself" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "error: not root and no sudo; cannot install PostgreSQL (apt-get install postgresql)" >&2
    exit 1
  fi
fi
# The package would start its own cluster on port 5432; nothing here needs it. Where the image
# has no policy-rc.d (Debian's containers do), one that refuses service starts is put in place
# for the install only.
POLICY=/usr/sbin/policy-rc.d
ADDED_POLICY=""
if [ ! -e "$POLICY" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$POLICY" >/dev/null
  $SUDO chmod 755 "$POLICY"
  ADDED_POLICY=1
fi
cleanup() { if [ -n "$ADDED_POLICY" ]; then $SUDO rm -f "$POLICY"; fi; }
trap cleanup EXIT

echo "==> installing postgresql (apt-get)" >&2
export DEBIAN_FRONTEND=noninteractive
if ! $SUDO apt-get install -y -q --no-install-recommends postgresql; then
  # A fresh image has no package lists yet.
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends postgresql
fi
