#!/usr/bin/env bash
# The whole test suite: installs the Debian S3 clients the tests drive when they are missing,
# type-checks, then runs every test file with node's test runner.
set -euo pipefail
cd "$(dirname "$0")/.."
# the AWS SDK's documented switch for its NodeVersionSupportWarning (Node 20 is still supported here)
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
bash scripts/install-test-deps.sh
[ -d node_modules ] || npm ci
npx tsc -p . --noEmit
mapfile -t files < <(find test -name '*.test.ts' | sort)
exec node --import tsx --test --test-concurrency=2 --test-timeout=300000 "${files[@]}"
