"""Google's JSON error shape, raised anywhere in the sandbox and rendered once by the app."""
from __future__ import annotations

_STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
           409: "ALREADY_EXISTS", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}


class ApiError(Exception):
    """An error answered to a Gmail API call exactly as Google shapes it."""

    def __init__(self, code: int, message: str, reason: str, status: str | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason
        self.status = status or _STATUS.get(code, "UNKNOWN")
        self.headers = headers or {}

    def body(self) -> dict:
        return {"error": {"code": self.code, "message": self.message,
                          "errors": [{"message": self.message, "domain": "global", "reason": self.reason}],
                          "status": self.status}}


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
                    "authError", headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'})


def insufficient_scope() -> ApiError:
    return ApiError(403, "Request had insufficient authentication scopes.", "insufficientPermissions",
                    headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/", '
                                                 'error="insufficient_scope"'})


def delegation_denied(user_id: str) -> ApiError:
    return ApiError(403, f"Delegation denied for {user_id}", "forbidden")


def service_account_only() -> ApiError:
    return ApiError(403, "Access restricted to service accounts that have been delegated domain-wide authority",
                    "forbidden")


def rate_limited(retry_after: int, retry_at_iso: str, suffix: str = "") -> ApiError:
    message = f"User-rate limit exceeded.  Retry after {retry_at_iso}{suffix}"
    return ApiError(429, message, "rateLimitExceeded", headers={"Retry-After": str(retry_after)})


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
}


def for_reason(reason: str, status: int | None = None) -> ApiError:
    """Google's error for an injected fault of this reason (`status` overrides its usual code)."""
    if reason not in _BY_REASON:
        raise ValueError(f"unknown fault reason {reason!r}; known: {', '.join(sorted(_BY_REASON))}")
    code, message, state = _BY_REASON[reason]
    code = status or code
    return ApiError(code, message, reason, state if code == _BY_REASON[reason][0] else None)


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
