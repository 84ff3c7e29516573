"""Gmail's daily sending caps: how many messages one mailbox may send in a rolling 24 hours."""
from __future__ import annotations

from datetime import timedelta

SEND_CAP_WINDOW = timedelta(hours=24)
CONSUMER_DOMAINS = ("gmail.com", "googlemail.com")
# Published limits; Workspace trial accounts get less, which Gmail's own refusal then tells us.
DAILY_SEND_CAP = {"consumer": 500, "workspace": 2000}


def daily_send_cap(address: str) -> int:
    consumer = address.rpartition("@")[2].lower() in CONSUMER_DOMAINS
    return DAILY_SEND_CAP["consumer" if consumer else "workspace"]
