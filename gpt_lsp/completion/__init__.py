"""Inline completion: context, prompt, post-processing, cache, request policy and the service."""
