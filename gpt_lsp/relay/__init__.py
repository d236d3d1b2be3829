"""OpenAI-compatible relay client: URL rules, streaming, retries, failover."""
