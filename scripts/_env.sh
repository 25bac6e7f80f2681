# Sourced by scripts/run, scripts/test and scripts/bench: makes sure .venv exists and is current.
# Creates it with the newest CPython >= 3.12 it can find (pyenv or PATH) and installs the project
# (editable) with its test extras. Re-installs when pyproject.toml changes.
set -euo pipefail
SG_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SG_VENV="$SG_ROOT/.venv"

sg_find_python() {
    local candidates=() root
    root="$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")"
    # 3.13 first: on 3.12 mitmproxy pins typing-extensions below what mcp 2.x needs.
    for v in 3.14 3.13 3.12; do
        candidates+=("$(ls -d "$root"/versions/$v.*/bin/python$v 2>/dev/null | sort -V | tail -1)")
        candidates+=("$(command -v python$v 2>/dev/null || true)")
    done
    for c in "${candidates[@]}"; do
        [ -n "$c" ] && [ -x "$c" ] && { echo "$c"; return 0; }
    done
    return 1
}

sg_ensure_venv() {
    local stamp="$SG_VENV/.sg-installed" want
    want="$(sha256sum "$SG_ROOT/pyproject.toml" | cut -c1-16)"
    if [ -x "$SG_VENV/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        return 0
    fi
    if [ ! -x "$SG_VENV/bin/python" ]; then
        local py
        py="$(sg_find_python)" || { echo "shadowgate needs Python >= 3.12 (pyenv or PATH)" >&2; exit 1; }
        echo "creating $SG_VENV with $py" >&2
        "$py" -m venv "$SG_VENV"
    fi
    echo "installing shadowgate and its test tools into .venv (first run only)" >&2
    "$SG_VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip >&2
    "$SG_VENV/bin/python" -m pip install -q --disable-pip-version-check -e "$SG_ROOT[test]" >&2
    echo "$want" > "$stamp"
}

# mcp 1.x cannot share .venv with mcp 2.x: the old-SDK client/server run from their own env.
SG_MCP1_VENV="$SG_ROOT/.venv-mcp1"
sg_ensure_mcp1_venv() {
    if [ -x "$SG_MCP1_VENV/bin/python" ] && "$SG_MCP1_VENV/bin/python" -c "import mcp" 2>/dev/null; then
        return 0
    fi
    local py
    py="$(sg_find_python)" || return 0
    echo "creating $SG_MCP1_VENV (mcp 1.x SDK for the MCP tests)" >&2
    "$py" -m venv "$SG_MCP1_VENV"
    "$SG_MCP1_VENV/bin/python" -m pip install -q --disable-pip-version-check "mcp>=1.9,<2" uvicorn >&2 \
        || echo "warning: could not install mcp 1.x; its tests will be skipped" >&2
}

# Debian's chromium + chromedriver for the block-page browser test.
sg_ensure_browser() {
    if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
        return 0
    fi
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "installing Debian's chromium and chromedriver for the browser test" >&2
        (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver) >&2 \
            || echo "warning: chromium not installed; the browser test will be skipped" >&2
    else
        echo "warning: chromium/chromedriver missing and apt-get unavailable; the browser test will be skipped" >&2
    fi
}
