"""Outgoing mail: reply composition, DKIM signing and the SMTP relay client (no database, no Gmail)."""
