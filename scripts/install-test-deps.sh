#!/usr/bin/env bash
# Installs the real S3 clients the tests drive (Debian packages), only when missing.
set -euo pipefail
need=()
[ -x /usr/bin/aws ] || need+=(awscli)
command -v rclone >/dev/null || need+=(rclone)
command -v s3cmd >/dev/null || need+=(s3cmd)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing test clients: ${need[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
