"""Forwarding setup, pure parts: the state machine, Google's confirmation mail, filter criteria, test mail."""
