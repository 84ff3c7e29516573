"""GooglePubSub: the Pub/Sub port over Google's REST client, the one module importing googleapiclient for it.

It uses the `pubsub v1` discovery document bundled with google-api-python-client: no gRPC and no
google-cloud-pubsub, so the daemon keeps one Google HTTP stack. Against the emulator
(PUBSUB_EMULATOR_HOST, handed in by the caller) it talks plain HTTP with anonymous credentials.
Not thread-safe: one adapter per listener thread. No retries here: the listener's loop backs off.
"""
from __future__ import annotations

import socket
from typing import Any, Sequence

import google_auth_httplib2
import httplib2
from google.auth import credentials as auth_credentials
from google.auth import exceptions as auth_exceptions
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from connector.pubsub.errors import transport_failure, translate
from connector.pubsub.notifications import decode
from connector.pubsub.port import PubSubDenied, PubSubUnavailable, Pulled, SubscriptionInfo, TopicMissing

SCOPE = "https://www.googleapis.com/auth/pubsub"
# More ack ids in one request can exceed Pub/Sub's request size limit (googleapis/python-pubsub#802).
_ACK_CHUNK = 1000
_MAX_EXTEND_SECONDS = 600
# What subscriptions.get reports as the topic once the topic has been deleted.
_DELETED_TOPIC = "_deleted-topic_"
_TRANSPORT_ERRORS = (httplib2.HttpLib2Error, ConnectionError, OSError, auth_exceptions.TransportError)


class _WaitedOut(PubSubUnavailable):
    """The long poll reached its socket timeout; for a pull that only means nothing arrived."""


class GooglePubSub:
    """One pull subscription ("projects/P/subscriptions/S"); implements connector.pubsub.port.PullSource."""

    def __init__(self, subscription: str, credentials: Any = None, emulator_host: str | None = None, *,
                 timeout: float = 30):
        self._subscription = subscription
        if emulator_host:
            self._credentials: Any = auth_credentials.AnonymousCredentials()
            endpoint = emulator_host if "://" in emulator_host else f"http://{emulator_host}/"
            options: dict | None = {"api_endpoint": endpoint}
        elif credentials is None:
            raise ValueError("GooglePubSub needs credentials unless it talks to the Pub/Sub emulator")
        else:
            self._credentials = auth_credentials.with_scopes_if_required(credentials, [SCOPE])
            options = None
        self._http = self._authorized(timeout)
        # Passing the authorised http (never nothing) keeps build() from probing for default credentials.
        self._service = build("pubsub", "v1", http=self._http, static_discovery=True,
                              cache_discovery=False, client_options=options)
        self._subscriptions = self._service.projects().subscriptions()
        self._poll: tuple[float, google_auth_httplib2.AuthorizedHttp] | None = None

    @classmethod
    def from_settings(cls, settings: Any) -> "GooglePubSub":
        """What the composition root calls: PUBSUB_SUBSCRIPTION with the emulator, a key file, or ADC."""
        if settings.pubsub_emulator_host:
            return cls(settings.pubsub_subscription, emulator_host=settings.pubsub_emulator_host)
        if settings.pubsub_credentials_file:
            from google.oauth2 import service_account
            try:
                credentials = service_account.Credentials.from_service_account_file(
                    settings.pubsub_credentials_file, scopes=[SCOPE])
            except (OSError, ValueError) as exc:
                raise PubSubDenied(f"PUBSUB_CREDENTIALS_FILE cannot be used: {type(exc).__name__}") from None
        else:
            import google.auth
            try:
                credentials, _ = google.auth.default(scopes=[SCOPE])
            except auth_exceptions.DefaultCredentialsError:
                raise PubSubDenied("no credentials for Pub/Sub: set PUBSUB_CREDENTIALS_FILE to a service-account "
                                   "key with roles/pubsub.subscriber, or configure application default "
                                   "credentials") from None
        return cls(settings.pubsub_subscription, credentials)

    def _authorized(self, timeout: float) -> google_auth_httplib2.AuthorizedHttp:
        return google_auth_httplib2.AuthorizedHttp(self._credentials, http=httplib2.Http(timeout=timeout))

    def close(self) -> None:
        self._http.close()
        self._drop_poller()

    def __enter__(self) -> "GooglePubSub":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- plumbing ------------------------------------------------------------------------

    def _call(self, request: Any, method: str, resource: str, http: Any = None) -> dict:
        try:
            return request.execute(http=http or self._http, num_retries=0) or {}
        except HttpError as exc:
            raise translate(exc.resp.status, exc.content, method, resource) from exc
        except auth_exceptions.RefreshError as exc:
            # google-auth marks a refresh that may succeed later (a 5xx from the token endpoint) retryable.
            if getattr(exc, "retryable", False):
                raise PubSubUnavailable(f"Pub/Sub {method}: the token refresh failed for now") from exc
            raise PubSubDenied(f"Pub/Sub {method}: the credentials could not be refreshed") from exc
        except socket.timeout as exc:
            raise _WaitedOut(f"Pub/Sub {method} on {resource} failed: no answer in time") from exc
        except _TRANSPORT_ERRORS as exc:
            raise transport_failure(exc, method, resource) from exc

    def _poller(self, wait: float) -> google_auth_httplib2.AuthorizedHttp:
        # A pull blocks until a message comes or the server gives up (90 s on the emulator); only the
        # socket timeout bounds it, and httplib2 fixes that per connection, so long polls get their own.
        if self._poll is None or self._poll[0] != wait:
            self._drop_poller()
            self._poll = (wait, self._authorized(wait))
        return self._poll[1]

    def _drop_poller(self) -> None:
        if self._poll is not None:
            self._poll[1].close()
            self._poll = None

    # ---- the port ------------------------------------------------------------------------

    def pull(self, max_messages: int, wait: float) -> list[Pulled]:
        if max_messages < 1 or wait <= 0:
            raise ValueError("pull needs max_messages >= 1 and wait > 0")
        # returnImmediately is deprecated (it starves the subscriber); leaving it out long-polls.
        request = self._subscriptions.pull(subscription=self._subscription, body={"maxMessages": max_messages})
        try:
            body = self._call(request, "subscriptions.pull", self._subscription, http=self._poller(wait))
        except _WaitedOut:
            # The abandoned request stays open at the server, and a message arriving just now may be
            # handed to it: Pub/Sub redelivers that one after the ack deadline. A fresh connection
            # keeps the late answer from being read as the next pull's.
            self._drop_poller()
            return []
        return [decode(item) for item in body.get("receivedMessages", ()) if isinstance(item, dict)]

    def ack(self, ack_ids: Sequence[str]) -> None:
        for chunk in _chunks(ack_ids):
            request = self._subscriptions.acknowledge(subscription=self._subscription, body={"ackIds": chunk})
            self._call(request, "subscriptions.acknowledge", self._subscription)

    def extend(self, ack_ids: Sequence[str], seconds: int) -> None:
        if not 0 <= seconds <= _MAX_EXTEND_SECONDS:
            raise ValueError(f"an ack deadline is 0 to {_MAX_EXTEND_SECONDS} seconds, not {seconds}")
        for chunk in _chunks(ack_ids):
            body = {"ackIds": chunk, "ackDeadlineSeconds": seconds}
            request = self._subscriptions.modifyAckDeadline(subscription=self._subscription, body=body)
            self._call(request, "subscriptions.modifyAckDeadline", self._subscription)

    def check(self) -> SubscriptionInfo:
        found = self._call(self._subscriptions.get(subscription=self._subscription),
                           "subscriptions.get", self._subscription)
        topic = str(found.get("topic") or "")
        if not topic or topic == _DELETED_TOPIC:
            raise TopicMissing(f"the topic of the subscription {self._subscription} was deleted: "
                               "Gmail's notifications no longer reach it (make the subscription again)")
        self._call(self._service.projects().topics().get(topic=topic), "topics.get", topic)
        return SubscriptionInfo(self._subscription, topic, int(found.get("ackDeadlineSeconds") or 10))


def _chunks(ack_ids: Sequence[str]) -> list[list[str]]:
    # Pub/Sub refuses an empty list, and an empty id is what a Malformed without one carries.
    unique = list(dict.fromkeys(a for a in ack_ids if a))
    return [unique[i:i + _ACK_CHUNK] for i in range(0, len(unique), _ACK_CHUNK)]
