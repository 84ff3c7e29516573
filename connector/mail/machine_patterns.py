"""Subject and sender patterns that mark bounces and out-of-office replies, in many languages."""
from __future__ import annotations

import re

BOUNCE_SUBJECT = re.compile(
    r"^\s*(?:"
    r"undeliver(?:able|ed)|undelivered mail|returned mail|return(?:ed)? to sender|"
    r"delivery status notification|delivery (?:status )?(?:failure|failed)|"
    r"mail delivery (?:failed|failure|system|subsystem|problem)|failure notice|"
    r"non[- ]?deliverable|non[- ]?delivery (?:report|notification)|message (?:not delivered|delivery failed)|"
    r"could not send message|mail system error|delivery (?:has )?failed|"
    r"warning: message .* delayed|mail could not be delivered|"
    r"email bounce|bounced? (?:mail|message|notification)|permanent delivery failure|"
    r"unzustellbar|nicht zustellbar|non remis|non distribuable|échec de (?:la )?remise|"
    r"no se puede entregar|no entregado|non recapitabile|mancata consegna|onbestelbaar|"
    r"kan niet worden bezorgd|n[aã]o entregue|niedostarczon|olevererbar|ikke levert|"
    r"sistem pesan|配信不能|配送失敗|退信|無法傳遞|undelivered|returned message|"
    r"[【\[]?(?:配信エラー|不達通知|送信エラー|メール配信失敗)|(?:系统)?退信|投递失败|邮件(?:被)?退回)",
    re.IGNORECASE,
)

OOF_SUBJECT = re.compile(
    r"^\s*(?:"
    r"out of (?:the )?office|automatic reply|auto(?:matic)?[- ]?(?:reply|response|respond)|auto:|"
    r"autosvar|abwesenheitsnotiz|automatische antwort|r[ée]ponse automatique|"
    r"respuesta autom[áa]tica|fuera de la oficina|risposta automatica|fuori sede|"
    r"automatisch antwoord|resposta autom[áa]tica|automatyczna odpowied[źz]|"
    r"automatick[áa] odpov[ěe]ď"
    r")",
    re.IGNORECASE,
)

BOUNCE_LOCALPARTS = frozenset({"mailer-daemon", "postmaster", "post_master", "mail-daemon", "mailerdaemon"})
BOUNCE_NAMES = re.compile(r"mail delivery (?:subsystem|system|service)|mailer[- ]daemon|postmaster",
                          re.IGNORECASE)
MICROSOFT_DOMAINS = frozenset({"hotmail.com", "outlook.com", "live.com", "msn.com"})

# A list manager's own addresses (fml's neko-admin, majordomo's owner-list, Mailman's -bounces).
LIST_MANAGER_LOCALPART = re.compile(r"(?:-(?:admin|owner|request|ctl|bounces?|errors?)$|^owner-|^(?:majordomo|listserv|"
                                    r"mailman|ezmlm|fml|listproc)$)")
# Senders that are machines: no person reads replies to them.
MACHINE_LOCALPART = re.compile(r"^(?:no[-_.]?reply|do[-_.]?not[-_.]?reply|mailer|daemon|mail[-_.]?daemon|"
                               r"mail[-_.]?admin|bounces?|returns?)(?:[-+._].*)?$")
MACHINE_NAME = re.compile(r"mail (?:administrator|delivery)|delivery (?:system|subsystem|service)", re.IGNORECASE)
# The wording of a delivery failure at the start of a notice, in the languages carriers write it.
BOUNCE_TEXT = re.compile(
    r"could not be delivered|(?:was|were|is) undeliverable|was not delivered|delivery (?:to the following "
    r"recipients? )?(?:has )?failed|i'm sorry to have to inform you that your message|"
    r"your (?:mail|message) (?:could not|cannot|can't) be delivered|mailbox (?:is )?(?:full|unavailable)|"
    r"(?:user|recipient|address|mailbox) unknown|no such (?:user|recipient|mailbox)|"
    r"permanent(?:ly)? (?:error|failure|failed)|"
    r"配信できませんでした|送信できませんでした|届きませんでした|宛先不明|送信に失敗",
    re.IGNORECASE,
)
