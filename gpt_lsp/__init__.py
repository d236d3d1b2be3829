"""gpt-lsp: AI code actions and inline chat over OpenAI-compatible relays."""

__version__ = "0.1.0"
