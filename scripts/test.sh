#!/usr/bin/env bash
# The whole test suite, on both storage drivers (issue #20):
#   0. lints first (`npm run lint`: ESLint, then `prettier --check`), and stops there if that fails;
#   1. installs the Debian clients and Ceph the tests drive when they are missing, type-checks;
#   2. starts ONE throwaway Ceph RGW (scripts/ceph.sh), stopped by its PID files when this script
#      exits in any way (and by its own watcher if this script is killed: --owner-pid);
#   3. the embedded-store pass: every test file, as `node --test` runs them;
#   4. the S3-driver pass: the end-to-end files (test/integration, test/clients, the console's API) again with
#      OSPREY_TEST_DRIVER=s3, every server they start storing in that Ceph under a prefix of its own
#      (test/helpers/osprey.ts). The multinode files are left out: they run on the S3 driver already.
# Both passes print the test runner's summary; the exit status is non-zero if either failed.
#
#   OSPREY_TEST_PASSES="fs s3" (default) | fs | s3     which passes to run
#   OSPREY_TEST_LINT=0                                  skip step 0 (the lint)
# Tests that need "another S3 store" (a MirrorAuth origin, an import source) use the same Ceph
# in both passes (OSPREY_TEST_S3_*). Works with whichever node is on PATH (20.19+ or 22.12+).
set -euo pipefail
cd "$(dirname "$0")/.."
passes=${OSPREY_TEST_PASSES:-fs s3}
# the AWS SDK's documented switch for its NodeVersionSupportWarning (Node 20 is still supported here)
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
[ -d node_modules ] || npm ci

# step 0: one line when the lint passes; its report and how to fix it when it fails
if [ "${OSPREY_TEST_LINT:-1}" != 0 ]; then
  lint_started=$SECONDS lint_out=$(mktemp) lint_rc=0
  npm run --silent lint >"$lint_out" 2>&1 || lint_rc=$?
  if [ $lint_rc -eq 0 ]; then
    echo "=== lint (ESLint, Prettier): passed in $((SECONDS - lint_started)) s"
    rm -f "$lint_out"
  else
    cat "$lint_out"; rm -f "$lint_out"
    echo "=== lint (ESLint, Prettier): FAILED (exit $lint_rc) in $((SECONDS - lint_started)) s; 'npm run format' rewrites the files Prettier lists, 'npm run lint:fix' fixes what ESLint can"
    exit 1
  fi
fi

bash scripts/install-test-deps.sh

ceph_dir="$PWD/.osprey-test-ceph-run-$$"
ceph_pid=""
cleanup() {
  if [ -n "$ceph_pid" ] && kill -0 "$ceph_pid" 2>/dev/null; then
    kill "$ceph_pid" 2>/dev/null || true
    wait "$ceph_pid" 2>/dev/null || true
  fi
  if [ -d "$ceph_dir" ]; then
    bash scripts/ceph.sh stop "$ceph_dir" >/dev/null 2>&1 || true
    rm -rf "$ceph_dir"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Ceph comes up (~20 s) while the type check runs
mkdir -p "$ceph_dir"
timeout 300 bash scripts/ceph.sh start "$ceph_dir" --owner-pid $$ >"$ceph_dir/start.out" 2>&1 &
ceph_pid=$!

npx tsc -p . --noEmit

if ! wait "$ceph_pid"; then
  ceph_pid=""
  echo "test.sh: the throwaway Ceph did not start:" >&2
  cat "$ceph_dir/start.out" >&2
  exit 1
fi
ceph_pid=""
field() { sed -n "s/^$1=//p" "$ceph_dir/start.out"; }
OSPREY_TEST_S3_ENDPOINT=$(field CEPH_ENDPOINTS | cut -d, -f1)
OSPREY_TEST_S3_ACCESS_KEY=$(field CEPH_ACCESS_KEY)
OSPREY_TEST_S3_SECRET_KEY=$(field CEPH_SECRET_KEY)
export OSPREY_TEST_S3_ENDPOINT OSPREY_TEST_S3_ACCESS_KEY OSPREY_TEST_S3_SECRET_KEY

# one pass: node's test runner prints its own summary; this adds the pass's name, status and time
failed=0
run_pass() {
  local name=$1 started=$SECONDS rc=0
  shift
  echo "=== test pass: $name ($# files)"
  node --import tsx --test --test-concurrency=2 --test-timeout=300000 "$@" || rc=$?
  echo "=== test pass: $name: $([ $rc -eq 0 ] && echo passed || echo "FAILED (exit $rc)") in $((SECONDS - started)) s"
  [ $rc -eq 0 ] || failed=1
}

for pass in $passes; do
  case "$pass" in
    fs)
      mapfile -t files < <(find test -name '*.test.ts' | sort)
      run_pass 'embedded store (all files)' "${files[@]}" ;;
    s3)
      mapfile -t files < <(find test/integration test/clients test/browser/console-api.test.ts -name '*.test.ts' ! -name 'multinode*' | sort)
      export OSPREY_TEST_DRIVER=s3
      run_pass 'S3 driver on Ceph RGW (end-to-end files)' "${files[@]}"
      unset OSPREY_TEST_DRIVER ;;
    *) echo "test.sh: unknown pass '$pass' in OSPREY_TEST_PASSES (fs, s3)" >&2; exit 64 ;;
  esac
done
exit $failed
