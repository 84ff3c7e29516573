"""Google's JSON error shape, raised anywhere in the sandbox and rendered once by the app."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

_STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
           409: "ALREADY_EXISTS", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}


class ApiError(Exception):
    """An error answered to a Gmail API call exactly as Google shapes it."""

    def __init__(self, code: int, message: str, reason: str, status: str | None = None,
                 headers: dict[str, str] | None = None, domain: str = "global", detail: dict | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason
        self.status = status or _STATUS.get(code, "UNKNOWN")
        self.headers = headers or {}
        self.domain = domain
        self.detail = detail or {}       # extra keys of errors[0]: its own message, location, locationType

    def body(self) -> dict:
        item = {"message": self.message, "domain": self.domain, "reason": self.reason, **self.detail}
        return {"error": {"code": self.code, "message": self.message, "errors": [item], "status": self.status}}


def not_found() -> ApiError:
    return ApiError(404, "Requested entity was not found.", "notFound")


def invalid(message: str) -> ApiError:
    return ApiError(400, message, "invalidArgument")


def bad_request(message: str) -> ApiError:
    return ApiError(400, message, "badRequest")


def precondition(message: str = "Precondition check failed.") -> ApiError:
    return ApiError(400, message, "failedPrecondition", "FAILED_PRECONDITION")


def internal_error() -> ApiError:
    return ApiError(500, "Internal error encountered.", "backendError")


def unauthenticated() -> ApiError:
    # Google's wording for a missing, unknown or expired bearer token; google-auth refreshes on it.
    return ApiError(401, "Request had invalid authentication credentials. Expected OAuth 2 access token, "
                    "login cookie or other valid authentication credential. See "
                    "https://developers.google.com/identity/sign-in/web/devconsole-project.",
                    "authError", headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'},
                    # The item names the header at fault ("Resolve errors", 401 sample body).
                    detail={"message": "Invalid Credentials", "location": "Authorization",
                            "locationType": "header"})


def insufficient_scope() -> ApiError:
    return ApiError(403, "Request had insufficient authentication scopes.", "insufficientPermissions",
                    headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/", '
                                                 'error="insufficient_scope"'})


def delegation_denied(user_id: str) -> ApiError:
    return ApiError(403, f"Delegation denied for {user_id}", "forbidden")


def service_account_only() -> ApiError:
    return ApiError(403, "Access restricted to service accounts that have been delegated domain-wide authority",
                    "forbidden")


def rate_limited(retry_after: int | None, retry_at_iso: str, suffix: str = "") -> ApiError:
    """Gmail's per-user 429 ("Resolve errors": mail sending, bandwidth); quota errors come from usageLimits."""
    message = f"User-rate limit exceeded.  Retry after {retry_at_iso}{suffix}"
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
    return ApiError(429, message, "rateLimitExceeded", headers=headers, domain="usageLimits")


def _retry_at(seconds: float) -> str:
    return (datetime.now(timezone.utc) + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


# Injected faults by reason: the bodies real Gmail answers, each with where it was seen.
_BY_REASON = {
    # Now and then on messages.get/list, and the same call then succeeds: googleapis/google-api-php-client
    # #2558, googleapis/google-api-go-client #645.
    "failedPrecondition": (400, "Precondition check failed.", "FAILED_PRECONDITION"),
    # Per-user quota as a 403, often with no retry time (Gmail's usage-limits page; client issue trackers).
    "userRateLimitExceeded": (403, "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute "
                              "per user' of service 'gmail.googleapis.com' for consumer 'project_number:0'.",
                              "PERMISSION_DENIED"),
    "rateLimitExceeded": (403, "Rate Limit Exceeded", "PERMISSION_DENIED"),
    "backendError": (500, "Backend Error", "UNKNOWN"),
    # On the token endpoint (method "oauth.token"): a service account asking for a scope the Workspace
    # admin did not list for domain-wide delegation (developers.google.com/identity/protocols/oauth2/
    # service-account, "Delegating domain-wide authority").
    "unauthorized_client": (401, "Client is unauthorized to retrieve access tokens using this method, or client "
                            "not authorized for any of the scopes requested.", "UNAUTHENTICATED"),
}


# Named limits whose answer is built when it fires (its retry time is "now + ..."):
_LIMITS = {
    # Daily sending cap: 429 "(Mail sending)" with the time to retry ("Resolve errors", mail sending limits).
    "mailSendingLimit": lambda: rate_limited(86_400, _retry_at(86_400), " (Mail sending)"),
    # Changes to forwarding rules are limited on their own, and the stated retry time is not to be
    # trusted: the answer says a minute, the limit lasts as long as the fault does (issue 16, item 5).
    "forwardingRulesLimit": lambda: rate_limited(None, _retry_at(60), " (Forwarding rules)"),
}
_QUOTA_REASONS = {"userRateLimitExceeded", "rateLimitExceeded"}


def fault_reasons() -> list[str]:
    return sorted({*_BY_REASON, *_LIMITS})


def for_reason(reason: str, status: int | None = None) -> ApiError:
    """Google's error for an injected fault of this reason (`status` overrides its usual code)."""
    if reason in _LIMITS:
        return _LIMITS[reason]()
    if reason not in _BY_REASON:
        raise ValueError(f"unknown fault reason {reason!r}; known: {', '.join(fault_reasons())}")
    code, message, state = _BY_REASON[reason]
    code = status or code
    return ApiError(code, message, reason, state if code == _BY_REASON[reason][0] else None,
                    domain="usageLimits" if reason in _QUOTA_REASONS else "global")


def for_status(status: int) -> ApiError:
    """A plausible Google error for an injected fault of this HTTP status."""
    known = {
        400: ("Bad Request", "badRequest"),
        401: None,
        403: ("User Rate Limit Exceeded", "userRateLimitExceeded"),
        404: ("Requested entity was not found.", "notFound"),
        429: ("Too many concurrent requests for user.", "rateLimitExceeded"),
        500: ("Internal error encountered.", "backendError"),
        502: ("Bad Gateway", "backendError"),
        503: ("The service is currently unavailable.", "backendError"),
        504: ("Deadline exceeded.", "backendError"),
    }
    if status == 401:
        return unauthenticated()
    message, reason = known.get(status, ("Unknown error.", "unknown"))
    return ApiError(status, message, reason)
