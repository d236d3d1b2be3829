"""Chat documents: a Markdown conversation in a file, replied to through the edit channel."""
