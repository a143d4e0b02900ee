#!/usr/bin/env bash
# Install Debian's headless-capable Chromium for the report test; does nothing if it is already on PATH.
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  echo "install-chromium: chromium is missing and this user is not root and has no sudo;" \
       "install Debian's 'chromium' package by hand" >&2
  exit 1
fi

echo "install-chromium: installing Debian's chromium package (takes a minute or two)"
if ! "${as_root[@]}" apt-get update -qq \
   || ! "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; then
  echo "install-chromium: apt-get could not install 'chromium'" >&2
  exit 1
fi

if ! command -v chromium >/dev/null 2>&1; then
  echo "install-chromium: 'chromium' was installed but is not on PATH" >&2
  exit 1
fi
