"""Typed errors for every vendor call. They carry what an operator needs to act, never a secret."""

from __future__ import annotations


class CloudflowsError(Exception):
    """A vendor API call failed. Subclasses say how; the fields say where and why.

    `retryable` tells the shared retry loop whether another attempt can help.
    """

    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        vendor: str,
        action: str | None = None,
        http_status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        run_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.vendor = vendor
        self.action = action
        self.http_status = http_status
        self.code = code
        self.request_id = request_id
        self.run_id = run_id

    def __str__(self) -> str:
        where = f"{self.vendor} {self.action}" if self.action else self.vendor
        facts = [
            f"{name}={value}"
            for name, value in (
                ("run", self.run_id),
                ("code", self.code),
                ("http", self.http_status),
                ("request_id", self.request_id),
            )
            if value not in (None, "")
        ]
        return f"{where} failed: {self.message}" + (f" ({', '.join(facts)})" if facts else "")

    def __reduce__(self):  # keep the fields across pickling (e.g. process pools, XCom of errors)
        return (_rebuild, (type(self), self.message, self.__dict__))


def _rebuild(cls: type[CloudflowsError], message: str, state: dict) -> CloudflowsError:
    err = cls.__new__(cls)
    Exception.__init__(err, message)
    err.__dict__.update(state)
    return err


class AuthError(CloudflowsError):
    """Credentials were rejected: wrong key or secret, bad signature, missing permission."""


class ClockSkewError(AuthError):
    """The vendor rejected the request time: this machine's clock is off."""

    def __init__(self, message: str, *, skew_seconds: float | None = None, **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.skew_seconds = skew_seconds


class NotFoundError(CloudflowsError):
    """The run (or project, bucket, workflow) does not exist or is no longer queryable."""


class InvalidRequestError(CloudflowsError):
    """The vendor refused the parameters (missing or invalid); retrying the same call cannot help."""


class ThrottledError(CloudflowsError):
    """The vendor asked us to slow down; `retry_after` is its hint in seconds, when it gave one."""

    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServiceUnavailableError(CloudflowsError):
    """A 5xx answer or a network fault: the call may succeed if repeated."""

    retryable = True


class EndpointError(CloudflowsError):
    """The endpoint cannot work as configured (bad scheme or URL, TLS against a plain port, an
    untrusted certificate): no outage looks like this, so the first poll fails, naming the fix."""


class EndpointUnreachableError(ServiceUnavailableError):
    """No server answered at an endpoint that has not answered before (unknown host, nothing
    listening): after the hook's own retries this is most likely a typo, so a wait ends here
    instead of polling until its timeout. The same failure from an endpoint that answered before
    is an outage (`ServiceUnavailableError`) and is ridden out."""


class InvalidResponseError(CloudflowsError):
    """The vendor answered with something we cannot read (truncated, malformed, wrong shape).

    Retryable: proxies and overloaded gateways do cut bodies; a persistent one ends after the
    retry budget with this error, naming what was wrong.
    """

    retryable = True


class ResponseTooLargeError(InvalidResponseError):
    """The answer was larger than the hook reads (`max_response_bytes`); asking again cannot help."""

    retryable = False


class VendorApiError(CloudflowsError):
    """Any other vendor error code, reported as the vendor gave it."""
