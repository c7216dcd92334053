#!/usr/bin/env bash
# A throwaway Ceph cluster on one machine, for the S3 storage driver's tests and benchmarks:
# 1 monitor, N OSDs (sparse files), M RADOS gateways, all on free 127.0.0.1 ports, every file
# (config, data, logs, PID files) under DIR. Auth between daemons is off; S3 has one user.
#
#   scripts/ceph.sh start DIR [--osds N] [--gateways M] [--owner-pid PID]
#       prints, once the gateways answer S3:
#         CEPH_ENDPOINTS=http://127.0.0.1:P1[,http://127.0.0.1:P2…]
#         CEPH_ACCESS_KEY=… CEPH_SECRET_KEY=…
#       --owner-pid: stop the cluster by itself when that process is gone (a test runner that
#       was killed never leaves daemons behind)
#   scripts/ceph.sh stop DIR        stops the daemons by their PID files, waits for them
#   scripts/ceph.sh stop-gw DIR     stops the gateways only (tests: "the store went away")
#   scripts/ceph.sh start-gw DIR    starts them again on the same ports
#   scripts/ceph.sh keys DIR        prints the S3 key pair again
#
# DIR must be on a real disk (bluestore uses O_DIRECT; tmpfs refuses it).
# Needs ceph-mon, ceph-osd, radosgw (Debian: apt-get install --no-install-recommends ceph-mon ceph-osd radosgw).
set -euo pipefail

cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop|stop-gw|start-gw|keys DIR [--osds N] [--gateways M] [--owner-pid PID]" >&2; exit 64; }
shift 2
osds=1
gateways=1
owner=""
while [ $# -gt 0 ]; do
  case "$1" in
    --osds) osds=$2; shift 2 ;;
    --gateways) gateways=$2; shift 2 ;;
    --owner-pid) owner=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 64 ;;
  esac
done

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
conf="$dir/ceph.conf"
C=(-c "$conf")

# stop the daemons whose PID files match a pattern; wait (up to 20 s) until they are gone
stop_pids() {
  local pattern=$1 pids=() f pid
  shopt -s nullglob
  for f in "$dir"/run/$pattern.pid; do
    pid=$(cat "$f" 2>/dev/null || true)
    # only a process that is still one of ours: its command line names our config file
    if [ -n "$pid" ] && grep -qaF "$conf" "/proc/$pid/cmdline" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
    rm -f "$f"
  done
  for _ in $(seq 1 200); do
    local alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ $alive -eq 0 ] && return 0
    sleep 0.1
  done
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
}

wait_http() { # url, seconds
  local i
  for i in $(seq 1 $(($2 * 10))); do
    if curl -s -o /dev/null -m 1 "$1"; then return 0; fi
    sleep 0.1
  done
  echo "ceph.sh: $1 did not answer within $2 s (logs in $dir/log)" >&2
  return 1
}

start_gateways() {
  local n port
  for n in $(seq 0 $(($(cat "$dir/gateways") - 1))); do
    radosgw "${C[@]}" -n "client.rgw.$n" 2>>"$dir/log/rgw-start.log"
  done
  for port in $(cat "$dir/rgw-ports"); do wait_http "http://127.0.0.1:$port/" 60; done
}

case "$cmd" in
  stop)
    [ -f "$dir/owner-watch.pid" ] && { kill "$(cat "$dir/owner-watch.pid")" 2>/dev/null || true; rm -f "$dir/owner-watch.pid"; }
    [ -f "$conf" ] || exit 0
    stop_pids 'client.rgw.*'
    stop_pids 'osd.*'
    stop_pids 'mon.*'
    exit 0 ;;
  stop-gw) stop_pids 'client.rgw.*'; exit 0 ;;
  start-gw) start_gateways; exit 0 ;;
  keys) cat "$dir/keys"; exit 0 ;;
  start) ;;
  *) echo "unknown command $cmd" >&2; exit 64 ;;
esac

[ ! -e "$conf" ] || { echo "ceph.sh: $dir already holds a cluster" >&2; exit 1; }
fstype=$(stat -f -c %T "$dir")
[ "$fstype" != tmpfs ] || { echo "ceph.sh: $dir is on tmpfs; bluestore needs a real disk" >&2; exit 1; }

# free loopback ports: bound to port 0 by the kernel, released, then handed to the daemons
read -r -a ports < <(node -e '
const net = require("node:net");
const n = Number(process.argv[1]);
(async () => {
  const servers = [];
  for (let i = 0; i < n; i++) {
    const s = net.createServer();
    await new Promise((r) => s.listen(0, "127.0.0.1", r));
    servers.push(s);
  }
  console.log(servers.map((s) => s.address().port).join(" "));
  for (const s of servers) s.close();
})();' $((2 + gateways)))
mon_v2=${ports[0]}
mon_v1=${ports[1]}
rgw_ports=("${ports[@]:2}")
echo "${rgw_ports[*]}" > "$dir/rgw-ports"
echo "$gateways" > "$dir/gateways"

fsid=$(cat /proc/sys/kernel/random/uuid)
size=1
[ "$osds" -ge 2 ] && size=2
mkdir -p "$dir"/{run,log,mon,osd,block,rgw}
cat > "$conf" <<EOF
[global]
fsid = $fsid
mon host = [v2:127.0.0.1:$mon_v2,v1:127.0.0.1:$mon_v1]
mon initial members = a
public addr = 127.0.0.1
ms bind ipv6 = false
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc secure
run dir = $dir/run
admin socket = $dir/run/\$name.asok
log file = $dir/log/\$name.log
pid file = $dir/run/\$name.pid
keyring = $dir/keyring
mon data = $dir/mon/\$name
osd data = $dir/osd/\$name
rgw data = $dir/rgw/\$name
osd pool default size = $size
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon max pg per osd = 1000
mon allow pool size one = true
mon allow pool delete = true
mon data avail warn = 2
mon data avail crit = 1
osd crush chooseleaf type = 0
[osd]
osd objectstore = bluestore
bluestore block path = $dir/block/\$name
bluestore block create = true
bluestore block size = 10737418240
osd memory target = 1073741824
osd max object name len = 460
osd max object namespace len = 64
EOF
for n in $(seq 0 $((gateways - 1))); do
  # small multipart parts are allowed so that tests can use 1 KiB parts (Osprey checks its own minimum)
  printf '[client.rgw.%s]\nrgw frontends = beast endpoint=127.0.0.1:%s tcp_nodelay=1\nrgw multipart min part size = 1024\n' "$n" "${rgw_ports[$n]}" >> "$conf"
done

# from here on, anything that fails stops what was started
trap 'echo "ceph.sh: start failed; stopping (logs in $dir/log)" >&2; "$0" stop "$dir" >/dev/null 2>&1 || true' ERR

ceph-authtool --create-keyring "$dir/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
ceph-authtool "$dir/keyring" --gen-key -n client.admin --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' >/dev/null
monmaptool --create --addv a "[v2:127.0.0.1:$mon_v2,v1:127.0.0.1:$mon_v1]" --fsid "$fsid" "$dir/monmap" >/dev/null
ceph-mon "${C[@]}" --mkfs -i a --monmap "$dir/monmap" --keyring "$dir/keyring"
ceph-mon "${C[@]}" -i a

for _ in $(seq 1 $osds); do
  uuid=$(cat /proc/sys/kernel/random/uuid)
  id=$(timeout 60 ceph "${C[@]}" osd new "$uuid")
  mkdir -p "$dir/osd/osd.$id"
  ceph-osd "${C[@]}" -i "$id" --mkfs --osd-uuid "$uuid" >/dev/null 2>&1
  ceph-osd "${C[@]}" -i "$id" 2>>"$dir/log/osd-start.log"
done
for _ in $(seq 1 600); do
  up=$(timeout 10 ceph "${C[@]}" osd stat -f json 2>/dev/null | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{console.log(JSON.parse(s).num_up_osds)}catch{console.log(0)}})')
  [ "$up" = "$osds" ] && break
  sleep 0.1
done
[ "$up" = "$osds" ] || { echo "ceph.sh: OSDs did not come up" >&2; false; }

start_gateways

access=$(head -c 10 /dev/urandom | od -An -tx1 | tr -d ' \n' | tr a-f A-F)
secret=$(head -c 24 /dev/urandom | base64 | tr -d '/+=\n')
timeout 60 radosgw-admin "${C[@]}" user create --uid=osprey --display-name=osprey --access-key="$access" --secret-key="$secret" >/dev/null
trap - ERR

if [ -n "$owner" ]; then
  # a watcher outside the test process: stops the cluster once the owner is gone
  nohup setsid bash -c 'while kill -0 "$1" 2>/dev/null && [ -f "$3" ]; do sleep 1; done; [ -f "$3" ] && exec "$2" stop "$4"' _ "$owner" "$0" "$conf" "$dir" >/dev/null 2>&1 &
  echo $! > "$dir/owner-watch.pid"
fi

printf 'CEPH_ACCESS_KEY=%s\nCEPH_SECRET_KEY=%s\n' "$access" "$secret" > "$dir/keys"
chmod 600 "$dir/keys"
endpoints=()
for port in "${rgw_ports[@]}"; do endpoints+=("http://127.0.0.1:$port"); done
(IFS=,; echo "CEPH_ENDPOINTS=${endpoints[*]}")
echo "CEPH_ACCESS_KEY=$access"
echo "CEPH_SECRET_KEY=$secret"
