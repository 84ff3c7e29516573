"""Stored raw mail to ticket: reading within a budget, deciding, applying."""
