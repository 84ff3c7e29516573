"""Gmail API connector daemon for helpdesks."""
__version__ = "0.1.0"
