#!/usr/bin/env bash
# Debian packages the tests use, installed when their command is missing:
# chromium renders the dashboard and the data docs; docker-compose checks docker-compose.yaml
# (`config` needs no Docker engine).
set -euo pipefail

declare -A package_of=([chromium]=chromium [docker-compose]=docker-compose)
missing=()
for command in "${!package_of[@]}"; do
  command -v "$command" >/dev/null 2>&1 || missing+=("${package_of[$command]}")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  echo "install-test-tools: ${missing[*]} missing and this user is not root and has no sudo;" \
       "install Debian's packages by hand: ${missing[*]}" >&2
  exit 1
fi

echo "install-test-tools: installing Debian's ${missing[*]} (takes a minute or two)"
if ! "${as_root[@]}" apt-get update -qq \
   || ! "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; then
  echo "install-test-tools: apt-get could not install ${missing[*]}" >&2
  exit 1
fi

for command in "${!package_of[@]}"; do
  if ! command -v "$command" >/dev/null 2>&1; then
    echo "install-test-tools: '$command' was installed but is not on PATH" >&2
    exit 1
  fi
done
