"""The named steps of the mail-to-ticket pipeline, each in its own small module."""
