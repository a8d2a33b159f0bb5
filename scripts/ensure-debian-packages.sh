#!/usr/bin/env bash
# Installs the Debian packages the test suite starts as real servers, when they are missing.
# Usage: scripts/ensure-debian-packages.sh   (root, or a user with sudo; otherwise it says what to do)
set -euo pipefail

# package:binary pairs — the binary proves the package is there
wanted=(mosquitto:mosquitto influxdb:influxd redis-server:redis-server prometheus:prometheus chromium:chromium)
missing=()
for pair in "${wanted[@]}"; do
  pkg=${pair%%:*} bin=${pair##*:}
  if ! PATH="$PATH:/usr/sbin:/sbin" command -v "$bin" >/dev/null 2>&1; then
    missing+=("$pkg")
  fi
done
# PostgreSQL's binaries are not on PATH (Debian keeps them under /usr/lib/postgresql/<major>/bin)
compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null || missing+=(postgresql)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  run=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  run=(sudo -n)
else
  echo "Missing Debian packages: ${missing[*]}" >&2
  echo "Install them with:  sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "Installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${run[@]}" apt-get update -qq
# the packages' own services are not wanted: tests start their own servers on free ports
"${run[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
