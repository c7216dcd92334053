#!/usr/bin/env bash
# `npm start`: compile only what changed since the last build, then run the compiled server with
# the two V8 memory settings; arguments are passed to `osprey serve` (`npm start -- --origin-allow …`).
#
# The server's TypeScript is compiled incrementally (tsc --incremental, its state in
# dist/.tsbuildinfo): when no file under src/ (nor a tsconfig or package.json) is newer than that
# state, tsc is not run at all and the start says so. The web console is rebuilt only when a file
# under web/console/ or its build script changed (stamp: dist/.console-built).
set -euo pipefail
cd "$(dirname "$0")/.."

changed() { # changed STAMP PATH...: is STAMP missing, or any PATH newer than it?
  local stamp=$1
  shift
  [ ! -f "$stamp" ] || [ -n "$(find "$@" -newer "$stamp" -print -quit 2>/dev/null)" ]
}

SERVER_STAMP=dist/.tsbuildinfo
if [ ! -f dist/main.js ] || changed "$SERVER_STAMP" src tsconfig.json tsconfig.build.json package.json; then
  echo "osprey: compiling the server into dist/ (only what changed since the last build)" >&2
  node node_modules/typescript/bin/tsc -p tsconfig.build.json --incremental --tsBuildInfoFile "$SERVER_STAMP"
  touch "$SERVER_STAMP" # tsc leaves it alone when no output changed
else
  echo "osprey: starting from the existing build in dist/ (no source changed since it was built)" >&2
fi

CONSOLE_STAMP=dist/.console-built
if [ ! -f dist/web/console/index.html ] || changed "$CONSOLE_STAMP" web/console scripts/build-console.ts; then
  echo "osprey: building the web console into dist/web/console/" >&2
  node --import tsx scripts/build-console.ts
  touch "$CONSOLE_STAMP"
fi

exec node --max-semi-space-size=4 --heap-growing-percent=25 dist/main.js serve "$@"
