"""GoogleGmail: the Gmail port over Google's real client, the one module importing googleapiclient.

Each instance owns one httplib2 connection (not thread-safe): one adapter per thread or job.
Every call goes through `_call`, which counts it, retries what Google says is temporary, and
turns whatever is left into the port's errors, always chained with `from`.
"""
from __future__ import annotations

import base64
import random
import socket
import time
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Sequence

import google_auth_httplib2
import httplib2
from google.auth import exceptions as auth_exceptions
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError
from googleapiclient.http import BatchHttpRequest

from connector.gmail import batching
from connector.gmail.errors import (AlreadyExists, HttpFailure, failure_from_response, is_forwarding_rules_limit,
                                    is_rate_limit, is_transient_precondition, transport_failure, translate)
from connector.gmail.port import (FetchResult, FilterRule, ForwardingAddress, GmailError, HistoryDelta, Label,
                                  Profile, SendAs, SentMessage, TransientError, WatchStarted)
from connector.gmail.retry import Backoff, Verdict, run_with_retries, should_retry

_TRANSPORT_ERRORS = (httplib2.HttpLib2Error, socket.timeout, ConnectionError, OSError,
                     auth_exceptions.TransportError)
_PAGE = 500
_MODIFY_CHUNK = 1000


def _method_name(request: Any) -> str:
    # "gmail.users.messages.get" -> "messages.get": the names Gmail's quota table and the sandbox use.
    return str(getattr(request, "methodId", "") or "unknown").removeprefix("gmail.users.")


def _token_failure_unjudged(exc: Exception) -> GmailError:
    # Without the owner's rule nothing is known but that the refresh failed: retry, never "revoked".
    return TransientError(f"Gmail token refresh failed ({type(exc).__name__}); it will be tried again later")


def _failure(exc: HttpError) -> HttpFailure:
    return failure_from_response(exc.resp.status, exc.content, dict(exc.resp))


class GoogleGmail:
    """One mailbox ("me") through googleapiclient; implements connector.gmail.port.GmailGateway."""

    def __init__(self, credentials: Any, endpoint: str = "", *, timeout: float = 30, max_retries: int = 5,
                 sleep: Callable[[float], None] = time.sleep, rng: Callable[[], float] = random.random,
                 on_call: Callable[[str], None] | None = None,
                 on_token_failure: Callable[[Exception], GmailError] | None = None):
        self._endpoint = endpoint.rstrip("/")
        self._http = google_auth_httplib2.AuthorizedHttp(credentials, http=httplib2.Http(timeout=timeout))
        options = {"api_endpoint": self._endpoint} if self._endpoint else None
        # Passing the authorised http (never nothing) keeps build() from probing for default credentials.
        self._service = build("gmail", "v1", http=self._http, static_discovery=True,
                              cache_discovery=False, client_options=options)
        self._backoff = Backoff(max_retries=max_retries)
        self._sleep, self._rng = sleep, rng
        self._on_call = on_call or (lambda method: None)
        # Whether a failed refresh means "consent again" is the credentials' owner's rule (oauth/gmail_access.py).
        self._token_failure = on_token_failure or _token_failure_unjudged
        self._label_cache: dict[str, Label] = {}
        # Building a discovery resource costs milliseconds; a backfill asks for this one per message.
        self._messages = self._service.users().messages()

    @classmethod
    def from_credentials(cls, credentials: Any, settings: Any, **kwargs: Any) -> "GoogleGmail":
        """What the composition root calls: the adapter aimed where the settings say."""
        return cls(credentials, settings.gmail_api_endpoint, **kwargs)

    def close(self) -> None:
        """Close the kept-alive connection (a job's adapter lives as long as the job)."""
        self._http.close()

    def __enter__(self) -> "GoogleGmail":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- plumbing ------------------------------------------------------------------------

    def _users(self) -> Any:
        return self._service.users()

    def _call(self, request: Any, retry_server_errors: bool = True, count: bool = True) -> dict:
        method = _method_name(request)

        def once() -> dict:
            if count:
                self._on_call(method)
            return request.execute(num_retries=0) or {}

        def judge(exc: Exception) -> Verdict:
            if isinstance(exc, HttpError):
                failure = _failure(exc)
                if is_forwarding_rules_limit(failure, method):
                    return Verdict(False)       # its retry time is unreliable: the job reschedules instead
                retry = is_rate_limit(failure) or (retry_server_errors and (
                    should_retry(failure.status, failure.reason) or is_transient_precondition(failure, method)))
                return Verdict(retry, failure.retry_after)
            return Verdict(retry_server_errors and isinstance(exc, _TRANSPORT_ERRORS)
                           and not isinstance(exc, auth_exceptions.RefreshError))

        try:
            return run_with_retries(once, judge, self._backoff, self._sleep, self._rng)
        except HttpError as exc:
            raise translate(_failure(exc), method) from exc
        except auth_exceptions.RefreshError as exc:
            raise self._token_failure(exc) from exc
        except _TRANSPORT_ERRORS as exc:
            raise transport_failure(exc, method) from exc

    # ---- reading -------------------------------------------------------------------------

    def profile(self) -> Profile:
        body = self._call(self._users().getProfile(userId="me"))
        return Profile(email=body.get("emailAddress", ""), history_id=str(body.get("historyId", "")),
                       messages_total=int(body.get("messagesTotal", 0)), threads_total=int(body.get("threadsTotal", 0)))

    def list_message_ids(self, query: str = "", label_ids: Sequence[str] = (), limit: int | None = None,
                         include_spam_trash: bool = False) -> list[str]:
        ids: list[str] = []
        token = None
        while limit is None or len(ids) < limit:
            page = _PAGE if limit is None else min(_PAGE, limit - len(ids))
            params: dict[str, Any] = {"userId": "me", "maxResults": page, "includeSpamTrash": include_spam_trash,
                                      "fields": "messages/id,nextPageToken"}
            params.update({k: v for k, v in (("q", query), ("labelIds", list(label_ids)), ("pageToken", token)) if v})
            body = self._call(self._messages.list(**params))
            ids.extend(m["id"] for m in body.get("messages", ()))
            token = body.get("nextPageToken")
            if not token:
                break
        return ids if limit is None else ids[:limit]

    def history_since(self, start_history_id: str) -> HistoryDelta:
        added: dict[str, None] = {}
        deleted: dict[str, None] = {}
        token, history_id = None, str(start_history_id)
        while True:
            request = self._users().history().list(
                userId="me", startHistoryId=start_history_id,
                historyTypes=["messageAdded", "messageDeleted", "labelAdded"], maxResults=_PAGE, pageToken=token,
                fields="history(messagesAdded/message/id,messagesDeleted/message/id,labelsAdded(message/id,labelIds)),"
                       "historyId,nextPageToken")
            body = self._call(request)
            for record in body.get("history", ()):
                added.update((item["message"]["id"], None) for item in record.get("messagesAdded", ()))
                # Mail released from Spam or Trash reaches the Inbox by a label change, not as a new message.
                added.update((item["message"]["id"], None) for item in record.get("labelsAdded", ())
                             if "INBOX" in item.get("labelIds", ()))
                deleted.update((item["message"]["id"], None) for item in record.get("messagesDeleted", ()))
            history_id = str(body.get("historyId", history_id))
            token = body.get("nextPageToken")
            if not token:
                return HistoryDelta(tuple(added), tuple(deleted), history_id)

    def fetch_raw(self, message_ids: Sequence[str]) -> FetchResult:
        return batching.fetch_in_batches(message_ids, self._run_fetch_batch, self._backoff, self._sleep, self._rng)

    def _run_fetch_batch(self, ids: list[str]) -> dict[str, batching.PartResult]:
        results: dict[str, batching.PartResult] = {}

        def collect(request_id: str, response: Any, exc: HttpError | None) -> None:
            failure = _failure(exc) if exc is not None else None
            results[request_id] = batching.PartResult(body=response, failure=failure)

        def send_batch() -> dict:
            results.clear()
            self._refresh_if_stale()
            batch = self._new_batch(collect)
            for mid in ids:
                self._on_call("messages.get")
                batch.add(self._messages.get(userId="me", id=mid, format="raw",
                                                       fields=batching.RAW_FIELDS), request_id=mid)
            batch.execute()
            return {}

        # The batch envelope costs no quota; its parts were counted one by one above.
        self._call(_Deferred(send_batch, "batch"), count=False)
        return dict(results)

    def _refresh_if_stale(self) -> None:
        # BatchHttpRequest refreshes a stale token through a throwaway httplib2.Http with no
        # timeout that it never closes; refreshing here first keeps our timeout and connection.
        credentials = self._http.credentials
        if not credentials.valid:
            credentials.refresh(google_auth_httplib2.Request(self._http.http))

    def _new_batch(self, callback: Callable[..., None]) -> BatchHttpRequest:
        if not self._endpoint:
            return self._service.new_batch_http_request(callback=callback)
        # new_batch_http_request() builds its URI from the discovery document's rootUrl, which
        # client_options' api_endpoint does not change: without this, batches would go to Google.
        return BatchHttpRequest(callback=callback, batch_uri=f"{self._endpoint}/batch/gmail/v1")

    def labels(self) -> list[Label]:
        body = self._call(self._users().labels().list(userId="me", fields="labels(id,name,type)"))
        found = [Label(id=item["id"], name=item["name"], type=str(item.get("type", "user")).lower())
                 for item in body.get("labels", ())]
        self._label_cache = {label.name: label for label in found}
        return found

    def find_by_message_id(self, rfc822_message_id: str, include_spam_trash: bool = True) -> list[str]:
        bare = rfc822_message_id.strip().strip("<>")
        return self.list_message_ids(query=f"rfc822msgid:{bare}", include_spam_trash=include_spam_trash)

    # ---- changing ------------------------------------------------------------------------

    def ensure_label(self, name: str) -> Label:
        found = self._label_cache.get(name) or self._find_label(name)
        if found:
            return found
        body = {"name": name, "labelListVisibility": "labelShow", "messageListVisibility": "show"}
        try:
            item = self._call(self._users().labels().create(userId="me", body=body))
        except AlreadyExists:
            # Another worker created it between our list and our create: take theirs.
            found = self._find_label(name)
            if found:
                return found
            raise
        label = Label(id=item["id"], name=item.get("name", name), type="user")
        self._label_cache[label.name] = label
        return label

    def _find_label(self, name: str) -> Label | None:
        labels = self.labels()
        # Gmail refuses a second label differing only in case, so match the way it does.
        return next((lb for lb in labels if lb.name == name), None) or next(
            (lb for lb in labels if lb.name.casefold() == name.casefold()), None)

    def modify_labels(self, message_ids: Sequence[str], add: Iterable[str] = (), remove: Iterable[str] = ()) -> None:
        add_ids, remove_ids = list(add), list(remove)
        if not message_ids or not (add_ids or remove_ids):
            return
        for chunk in batching.chunked(list(dict.fromkeys(message_ids)), _MODIFY_CHUNK):
            body = {"ids": chunk, "addLabelIds": add_ids, "removeLabelIds": remove_ids}
            self._call(self._messages.batchModify(userId="me", body=body))

    def send(self, raw: bytes, thread_id: str | None = None) -> SentMessage:
        # A JSON body, not a media upload: upload URLs ignore the api_endpoint override.
        body: dict[str, Any] = {"raw": base64.urlsafe_b64encode(raw).decode("ascii")}
        if thread_id:
            body["threadId"] = thread_id
        # A 5xx or dropped connection may hide a message that did go out: never resend blindly.
        item = self._call(self._messages.send(userId="me", body=body), retry_server_errors=False)
        return SentMessage(id=item["id"], thread_id=item.get("threadId", ""), label_ids=tuple(item.get("labelIds", ())))

    # ---- push ----------------------------------------------------------------------------

    def watch(self, topic: str, label_ids: Sequence[str] = ("INBOX",)) -> WatchStarted:
        body = {"topicName": topic, "labelIds": list(label_ids), "labelFilterBehavior": "include"}
        item = self._call(self._users().watch(userId="me", body=body))
        expiration = datetime.fromtimestamp(int(item["expiration"]) / 1000, timezone.utc)
        return WatchStarted(history_id=str(item["historyId"]), expiration=expiration)

    def stop_watch(self) -> None:
        self._call(self._users().stop(userId="me"))

    # ---- settings ------------------------------------------------------------------------

    def _settings(self) -> Any:
        return self._users().settings()

    def send_as(self) -> list[SendAs]:
        body = self._call(self._settings().sendAs().list(userId="me"))
        return [SendAs(email=item["sendAsEmail"], display_name=item.get("displayName", ""),
                       is_primary=bool(item.get("isPrimary")), is_default=bool(item.get("isDefault")),
                       verification_status=item.get("verificationStatus", "accepted"))
                for item in body.get("sendAs", ())]

    def forwarding_addresses(self) -> list[ForwardingAddress]:
        body = self._call(self._settings().forwardingAddresses().list(userId="me"))
        return [ForwardingAddress(item["forwardingEmail"], item.get("verificationStatus", "pending"))
                for item in body.get("forwardingAddresses", ())]

    def create_forwarding_address(self, email: str) -> ForwardingAddress:
        request = self._settings().forwardingAddresses().create(userId="me", body={"forwardingEmail": email})
        item = self._call(request)
        return ForwardingAddress(item.get("forwardingEmail", email), item.get("verificationStatus", "pending"))

    def delete_forwarding_address(self, email: str) -> None:
        self._call(self._settings().forwardingAddresses().delete(userId="me", forwardingEmail=email))

    def filters(self) -> list[FilterRule]:
        body = self._call(self._settings().filters().list(userId="me"))
        return [FilterRule(item["id"], item.get("criteria", {}), item.get("action", {}))
                for item in body.get("filter", ())]

    def create_filter(self, criteria: dict, action: dict) -> FilterRule:
        request = self._settings().filters().create(userId="me", body={"criteria": criteria, "action": action})
        item = self._call(request)
        return FilterRule(item["id"], item.get("criteria", criteria), item.get("action", action))

    def delete_filter(self, filter_id: str) -> None:
        self._call(self._settings().filters().delete(userId="me", id=filter_id))

    def auto_forwarding(self) -> dict:
        return self._call(self._settings().getAutoForwarding(userId="me"))

    def update_auto_forwarding(self, enabled: bool, email_address: str = "", disposition: str = "leaveInInbox") -> dict:
        body: dict[str, Any] = {"enabled": enabled}
        if enabled:
            body.update(emailAddress=email_address, disposition=disposition)
        return self._call(self._settings().updateAutoForwarding(userId="me", body=body))


class _Deferred:
    """Lets a whole batch POST run through `_call` (retries, error translation) like one request."""

    def __init__(self, run: Callable[[], dict], method_id: str):
        self._run, self.methodId = run, method_id

    def execute(self, num_retries: int = 0) -> dict:
        return self._run()
