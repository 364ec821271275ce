"""Returns, exchanges and refunds."""
