#!/usr/bin/env bash
# Installs what the benchmarks drive beside Osprey, only when missing (issue #19): wrk (the load
# generator), nginx-light (the static, proxy_store and proxy_cache references) and, for bench/import.ts,
# rclone; bench/ceph.ts also needs the Ceph packages scripts/install-test-deps.sh installs.
#   bash bench/setup.sh
set -euo pipefail
need=()
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
command -v rclone >/dev/null || need+=(rclone)
command -v curl >/dev/null || need+=(curl)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing benchmark packages: ${need[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install --no-install-recommends -y -qq "${need[@]}" >/dev/null
fi
[ -d node_modules ] || npm ci
