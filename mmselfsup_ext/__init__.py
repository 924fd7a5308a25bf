"""Self-supervised deep-hash image deduplication for concrete visual inspection."""
__version__ = "0.1.0"
