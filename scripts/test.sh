#!/usr/bin/env bash
# The whole test suite: installs the Debian S3 clients the tests drive when they are missing,
# type-checks, then runs every test file with node's test runner.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-test-deps.sh
[ -d node_modules ] || npm ci
npx tsc -p . --noEmit
mapfile -t files < <(find test -name '*.test.ts' | sort)
exec node --import tsx --test --test-concurrency=2 --test-timeout=300000 "${files[@]}"
