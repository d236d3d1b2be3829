"""A bare pygls server, started like gpt-lsp: the startup baseline (scenario "startup")."""

from pygls.lsp.server import LanguageServer

if __name__ == "__main__":
    LanguageServer("bare", "0").start_io()
