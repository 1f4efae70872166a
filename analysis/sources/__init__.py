"""Readers of external data sources (published figures, deliveries, reference lists)."""
