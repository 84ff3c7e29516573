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
# Senders that are machines and send failure notices: no person reads replies to them.
MACHINE_LOCALPART = re.compile(r"^(?:no[-_.]?reply|do[-_.]?not[-_.]?reply|daemon|mail[-_.]?daemon|"
                               r"mail[-_.]?admin|bounces?)(?:[-+._].*)?$")
MACHINE_NAME = re.compile(r"mail (?:administrator|delivery)", re.IGNORECASE)
# The wording of a failed delivery *of mail* at the start of a notice, in the languages carriers
# write it; parcels, payments and voicemail fail in other words ("your parcel could not be delivered").
BOUNCE_TEXT = re.compile(
    r"your (?:e-?mail|mail|message)(?: sent on:?[^\n]{0,80})?\s+(?:could not|cannot|can't|was not|wasn't) "
    r"(?:be )?delivered|(?:could not|cannot) be delivered to:?\s*<?[^\s@<>]+@[^\s@<>]+|"
    r"(?:message|mail) (?:was|is) undeliverable|delivery to the following recipients? (?:has )?failed|"
    r"i'm sorry to have to inform you that your message|recipient address rejected|"
    r"\b5[0-5][0-9][ -]5\.[0-7]\.[0-9]{1,3}\b|"
    r"メールを?配信できませんでした|メールが?送信できませんでした|宛先不明",
    re.IGNORECASE,
)
# What a list manager says when it refuses a message (fml, majordomo, Mailman, ezmlm).
LIST_REFUSAL_TEXT = re.compile(
    r"not (?:a )?member|non-?member|not subscribed|not allowed to post|posting (?:is )?(?:restricted|denied)|"
    r"(?:message|post(?:ing)?) (?:was |has been )?(?:rejected|refused)|ご登録されていません|メンバーではありません",
    re.IGNORECASE,
)
