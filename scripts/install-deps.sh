#!/usr/bin/env bash
# Installs the system packages OnlineCF needs, when missing: redis-server (the KV
# store), libhiredis-dev (the C client), librdkafka-dev (the kafka: source) and pkg-config
# (to find them). Debian/Ubuntu.
set -euo pipefail
missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || missing+=(redis-tools)
[[ -f /usr/include/hiredis/hiredis.h ]] || missing+=(libhiredis-dev)
[[ -f /usr/include/librdkafka/rdkafka.h ]] || missing+=(librdkafka-dev)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
if ((${#missing[@]})); then
    echo "installing: ${missing[*]}" >&2
    sudo=""
    [[ $(id -u) -eq 0 ]] || sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
command -v swift >/dev/null 2>&1 || { echo "swift is not on PATH: install Swift 6.1 or later (https://www.swift.org/install/)" >&2; exit 1; }
