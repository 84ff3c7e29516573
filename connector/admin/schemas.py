"""Response models of the admin API, so /openapi.json describes every field the endpoints return."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class Health(BaseModel):
    status: Literal["ok", "unavailable"] = Field(description='"ok" only when every check below passes')
    database: str = Field(description='"ok", or "error: <exception class>[: SQLite\'s message]" when SELECT 1 fails')
    database_write: str = Field(
        description='"ok" when a write in its own transaction commits (alembic_version\'s row rewritten unchanged); '
                    'else "error: ..." (e.g. "error: OperationalError: database or disk is full", or a PostgreSQL '
                    'SQLSTATE), or "not_checked" when the database cannot even be read')
    disk: str = Field(description='"ok" when DATA_DIR has at least 50 MB free and a probe file can be written and '
                                  'fsynced there; else "error: <why>", with the figure when space is short')
    disk_free_bytes: int | None = Field(description="free bytes on DATA_DIR's file system; null if unmeasurable")
    scheduler: Literal["running", "stopped", "not_attached"]


class CredentialState(BaseModel):
    state: Literal["ok", "needs_reauth", "error"]
    command: str | None = Field(None, description="the command that restores access, when consent is needed")
    message: str | None = Field(None, description="why the inbox needs attention")


class InboxLeaseStatus(BaseModel):
    holder: str = Field(description="daemon id: hostname:pid:token")
    since: str | None
    expires_at: str | None
    expired: bool


class InboxPushStatus(BaseModel):
    enabled: bool = Field(description="a working, unexpired users.watch: mail arrives by push, polls are a safety net")
    watch_expiration: str | None = Field(description="when Gmail's watch lapses unless renewed (daily)")
    last_notification_at: str | None
    notifications: int = Field(description="Gmail notifications pulled for this inbox, by any daemon")
    recovered_by_poll: int = Field(description="messages the safety-net poll found that no notification announced")
    error: str | None = Field(description="why users.watch failed, with the fix; the inbox polls meanwhile")
    renewed_at: str | None


class PushListenerStatus(BaseModel):
    received: int
    unknown: int = Field(description="notifications for an address that is not a synced inbox: acked, counted")
    malformed: int
    acked: int
    given_up: int = Field(description="acked unsettled after 10 minutes; the safety-net poll covers them")
    pending: int
    last_pull_at: str | None
    last_error: str | None


class PushStatus(BaseModel):
    configured: bool = Field(description="PUBSUB_TOPIC and PUBSUB_SUBSCRIPTION are set")
    topic: str | None
    subscription: str | None
    listener: PushListenerStatus | None = Field(description="this daemon's listener; null without a daemon")


class InboxStatus(BaseModel):
    address: str
    mode: Literal["direct", "forwarding"]
    group: str
    state: Literal["active", "paused", "needs_reauth", "error"]
    credential: CredentialState
    last_success_at: str | None = Field(description="ISO 8601 UTC of the last successful sync")
    last_success_age_seconds: int | None
    last_error: str | None
    last_error_at: str | None
    history_id: str | None = Field(description="the Gmail history cursor")
    imported_total: int
    imported_last_24h: int = Field(description="raw messages of this inbox received in the last 24 hours")
    backoff_until: str | None
    consecutive_failures: int
    next_run_at: str | None
    quota_units_last_minute: int | None = Field(
        description="Gmail quota units this daemon spent on the inbox in the last 60 s; null without a daemon")
    quota_units_last_day: int | None = Field(description="the same over the last 24 hours")
    lease: InboxLeaseStatus | None = Field(
        None, description="which daemon syncs this inbox, since when (null: no daemon holds it)")
    push: InboxPushStatus | None = Field(None, description="Gmail push for this inbox")


class DnsRecordHealth(BaseModel):
    status: Literal["ok", "missing", "wrong", "weak"]
    ok: bool = Field(description="false when receivers would reject or junk mail sent as the domain")
    detail: str
    fix: str | None = Field(description="what to publish or change; null when nothing is to do")


class DnsHealth(BaseModel):
    domain: str
    checked_at: str = Field(description="when the DNS health job last looked (every 6 hours)")
    overall: Literal["ok", "warn", "fail"] = Field(
        description="fail: a record is missing or wrong; warn: one passes only weakly, or DNS did not answer")
    error: str | None = Field(description="why the lookup itself failed; then spf, dkim and dmarc are null")
    spf: DnsRecordHealth | None
    dkim: DnsRecordHealth | None
    dmarc: DnsRecordHealth | None


class MultiForward(BaseModel):
    tickets: int = Field(description="tickets from mail that crossed more than one forward")
    last_at: str | None
    reason: str = Field(description="why an agent should doubt those tickets' requester")


class ExternalAddressStatus(BaseModel):
    external_address: str
    support_address: str
    group: str
    provider: str = Field("gmail", description="gmail (configured through the API) | other (forwarded by its admin)")
    state: str = Field(description="not_configured | awaiting_confirmation | forwarding_active | verified | failed")
    failure_reason: str | None = Field(description="what broke and what to do when state is failed, or why an awaiting setup waits")
    setup_method: str | None
    last_check_at: str | None
    verified_at: str | None = Field(description="when a test mail last came through the forwarding")
    verification_sent_at: str | None
    confirmation_code: str | None = Field(description="Google's confirmation code, only while awaiting it")
    confirmation_link: str | None = Field(description="Google's confirmation link, only while awaiting it")
    dns: DnsHealth | None = Field(None, description="SPF, DKIM and DMARC of the address's domain; null until checked")
    multi_forward: MultiForward | None = Field(None, description="null unless mail to it crossed more than one forward")


class OutgoingFailure(BaseModel):
    id: int
    ticket_id: int
    to: str = Field(description="comma-separated recipients")
    subject: str
    last_error: str | None
    attempts: int
    updated_at: str | None


class OutgoingQueue(BaseModel):
    pending: int = Field(description="replies still to send: queued, sending or waiting for the sending cap")
    failed: int
    by_state: dict[str, int]
    recent_failures: list[OutgoingFailure] = Field(description="the ten most recent replies that failed for good")


class MethodUsage(BaseModel):
    calls: int
    units: int


class Totals(BaseModel):
    inboxes: int
    inboxes_by_state: dict[str, int]
    needs_reauth: int
    needs_attention: int = Field(0, description="inboxes whose credential state is not ok (needs_reauth or error)")
    imported_total: int
    imported_last_24h: int
    suspended: int
    tickets: int


class HelpdeskDelivery(BaseModel):
    destination: str = Field(description="HELPDESK: builtin, rt, webhook, django_helpdesk, zendesk, zammad, "
                                         "freshdesk or freescout")
    configuration_problems: list[str] = Field(description="settings the destination cannot do without")
    queued: int = Field(description="events waiting to be delivered (including those backing off)")
    delivering: int
    failed: int = Field(description="events the helpdesk refused, parked until `helpdesk retry ID`")
    delivered_last_24h: int
    oldest_waiting_age_seconds: int | None
    last_error: str | None
    fix: str | None = Field(description="what to do about last_error, when known")
    answers_to_read: int = Field(0, description="tickets the helpdesk's webhook named whose agents' answers are "
                                                "not read yet (read within seconds)")


class Status(BaseModel):
    version: str
    generated_at: str
    uptime_seconds: int | None = Field(description="seconds since the daemon started; null without a daemon")
    scheduler: Literal["running", "stopped", "not_attached"]
    inboxes: list[InboxStatus]
    suspended_by_kind: dict[str, int] = Field(description="held-back mail still suspended, by kind")
    tickets_by_status: dict[str, int]
    sync_errors_by_kind: dict[str, int] = Field(description="inboxes whose latest sync failed, by error kind")
    external_addresses: list[ExternalAddressStatus]
    outgoing: OutgoingQueue
    helpdesk: HelpdeskDelivery | None = Field(None, description="delivery to the helpdesk destination")
    api_usage_by_method: dict[str, MethodUsage] | None = Field(
        description="Gmail calls and quota units since the daemon started; null without a daemon")
    push: PushStatus | None = Field(None, description="Gmail push through Cloud Pub/Sub")
    totals: Totals


class SuspendedRow(BaseModel):
    id: int
    reason: str
    kind: str
    from_: str = Field(alias="from")
    subject: str
    received_at: str | None


class Person(BaseModel):
    name: str
    email: str


class TicketRow(BaseModel):
    id: int
    subject: str
    status: str
    requester: Person
    group: str
    inbox: str | None
    received_at_address: str
    comment_count: int
    flags: list[str]
    created_at: str | None
    updated_at: str | None


class AttachmentInfo(BaseModel):
    filename: str
    content_type: str
    size: int
    sha256: str
    content_id: str | None
    inline: bool


class CommentInfo(BaseModel):
    id: int
    author: Person
    public: bool
    message_id: str
    body_text: str
    attachments: list[AttachmentInfo]
    created_at: str | None


class HelpdeskLink(BaseModel):
    destination: str
    id: str = Field(description="the helpdesk's ticket id")
    url: str | None = Field(description="where an agent opens it")


class TicketDetail(TicketRow):
    comments: list[CommentInfo]
    helpdesk: list[HelpdeskLink] = Field(default_factory=list, description="this ticket in the helpdesk, once delivered")


class InboxAction(BaseModel):
    address: str
    state: str
    sync: Literal["scheduled", "not_requested"] = "not_requested"


class SuspendedAction(BaseModel):
    id: int
    state: Literal["recovered", "deleted"]
    outcome: str | None = Field(None, description="what recovering did, e.g. 'ticket 12 created'")
