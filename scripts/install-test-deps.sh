#!/usr/bin/env bash
# Installs the Debian packages the tests drive, only when missing: the real S3 clients, Chromium
# (console tests, driven by playwright-core) and Ceph (the S3 storage driver's tests run on RGW).
set -euo pipefail
need=()
[ -x /usr/bin/aws ] || need+=(awscli)
command -v rclone >/dev/null || need+=(rclone)
command -v s3cmd >/dev/null || need+=(s3cmd)
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v ceph-mon >/dev/null || need+=(ceph-mon)
command -v ceph-osd >/dev/null || need+=(ceph-osd)
command -v radosgw >/dev/null || need+=(radosgw)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing test packages: ${need[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install --no-install-recommends -y -qq "${need[@]}" >/dev/null
fi
