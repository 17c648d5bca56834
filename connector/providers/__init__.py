"""Identity-provider adapters and their registry."""
