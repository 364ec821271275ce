"""Review sync, classification, alerts, metrics and replies."""
