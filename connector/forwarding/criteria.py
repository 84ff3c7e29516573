"""The forwarding filter: its criteria, its action, and recognising it again among Gmail's filters."""
from __future__ import annotations

DISPOSITIONS = ("leaveInInbox", "archive", "markRead")
# Gmail filters cannot "leave in inbox" explicitly; the other dispositions are label changes.
_DISPOSITION_LABELS = {"leaveInInbox": [], "archive": ["INBOX"], "markRead": ["UNREAD"]}


def filter_criteria(external: str, query: str = "") -> dict:
    """Mail delivered to the external address by default; a Gmail search query when one is given.

    Not the `to` criterion: Gmail's matches the To, Cc and Bcc headers only (FilterCriteria.to in the
    API reference), so mail forwarded to the address by another mailbox, or reaching it by Bcc or
    through a list, would never be forwarded. `deliveredto:` matches the envelope recipient."""
    return {"query": query.strip() or f"deliveredto:{external.lower()}"}


def legacy_criteria(external: str) -> dict:
    """What versions before the deliveredto: query created: recognised, and replaced on repair."""
    return {"to": external.lower()}


def filter_action(support: str, disposition: str = "leaveInInbox") -> dict:
    if disposition not in DISPOSITIONS:
        raise ValueError(f"disposition must be one of {', '.join(DISPOSITIONS)}, not {disposition!r}")
    action: dict = {"forward": support.lower()}
    if _DISPOSITION_LABELS[disposition]:
        action["removeLabelIds"] = list(_DISPOSITION_LABELS[disposition])
    return action


def is_our_filter(criteria: dict, action: dict, wanted_criteria: dict, support: str) -> bool:
    """Same forward target and criteria: a filter created earlier (by us or by a person) counts."""
    return (str(action.get("forward", "")).lower() == support.lower()
            and {k: v for k, v in criteria.items() if v not in ("", None, False)} == wanted_criteria)


def guided_steps(external: str, support: str) -> list[str]:
    """What a person does in Gmail when the API may not add the forwarding address (consumer Gmail)."""
    return [
        f"Sign in to Gmail as {external} on a computer and open Settings (gear) > See all settings.",
        "Open the Forwarding and POP/IMAP tab and click Add a forwarding address.",
        f"Enter {support}, click Next, then Proceed, then OK.",
        f"Google mails a confirmation to {support}; the helpdesk receives it: its code and link are shown by "
        f"`gmail-connector forwarding status`. Open the link (or enter the code in Gmail) to confirm.",
        "Do not switch on 'Forward a copy of incoming mail' yourself: once the address is accepted the "
        "connector creates a forwarding filter (it checks every 30 seconds).",
    ]


def provider_steps(external: str, support: str) -> list[str]:
    """What the admin does at any other mail provider (Microsoft 365, Fastmail, a company's server)."""
    return [
        f"In {external}'s mail provider, forward its mail to {support}: either forward everything (a "
        "mailbox forwarding setting, keeping a copy if you like) or a rule that forwards the mail you want.",
        f"Microsoft 365: Exchange admin center > Mailboxes > {external} > Mail flow settings > Email "
        f"forwarding, and allow external forwarding in Defender's outbound spam policy. Fastmail: Settings > "
        "Filters & Rules > Forward. Postfix or Exim: an alias or a .forward file.",
        f"Forward straight to {support}, not through another mailbox: every extra hop is flagged "
        "(multi_forward) and fails the verification.",
        f"Then run `gmail-connector forwarding verify {external}`: a test mail is sent to {external} and must "
        f"arrive forwarded at {support}; replies from {external} go out through SMTP_RELAY_URL only after that.",
    ]
