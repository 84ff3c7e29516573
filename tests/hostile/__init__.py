"""Hostile mail through both paths (Gmail sync and the SMTP receiver) against a real, memory-limited daemon."""
