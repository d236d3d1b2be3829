"""Context beyond the selection: definitions the selection uses, related open documents, recent
edits and the project's instructions, chosen within token budgets, with receipts of what was sent.
"""
