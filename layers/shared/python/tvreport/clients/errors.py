"""Typed failures of outside services, so callers decide by type, never by message."""
from __future__ import annotations


class UpstreamError(Exception):
    """An outside service did not give a usable answer."""

    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        service: str,
        status: int | None = None,
        code: str | None = None,
        attempts: int = 1,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message)
        self.service = service
        self.status = status
        self.code = code
        self.attempts = attempts  # calls made before giving up
        self.retry_after_s = retry_after_s  # what the service asked us to wait, if it said

    def __str__(self) -> str:
        details = ", ".join(
            f"{key}={value}"
            for key, value in (("status", self.status), ("code", self.code), ("attempts", self.attempts))
            if value is not None
        )
        return f"{self.service}: {self.args[0]} ({details})"


def upstream_fields(error: UpstreamError) -> dict[str, object]:
    """What a log line may say about a failure: never its message, which can quote
    the upstream's answer or the request (a title)."""
    return {"upstream": error.service, "status": error.status, "code": error.code, "attempts": error.attempts}


class PermanentUpstreamError(UpstreamError):
    """Cannot succeed if repeated: 4xx other than 408/429, or a Gandalf
    RECORD_NOT_FOUND / INVALID_SIGNATURE / PROTOCOL_NOT_SUPPORTED."""

    retryable = False


# Rounds of a client's bounded retries one show's lookup (TMDB, Rotten Tomatoes) gets
# for a transient error before the show counts failed, each within the invocation's
# deadline: a run of failed attempts (4 in a row are 1 in 10,000 at a 10 % error rate)
# must not decide a show's outcome for a session.
LOOKUP_ROUNDS = 2


class RetryableUpstreamError(UpstreamError):
    """Transient (5xx, 408, 429, timeout, connection); raised to the caller once the
    bounded retries are exhausted, so the message can be redelivered later."""

    retryable = True


class UpstreamAuthError(PermanentUpstreamError):
    """The service refused our credential (HTTP 401/403): nothing will succeed until
    an operator fixes the key, so the session fails with UPSTREAM_AUTH_FAILED rather
    than completing with every show "not found"."""
