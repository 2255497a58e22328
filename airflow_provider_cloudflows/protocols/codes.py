"""Vendor error codes -> our typed errors. One table per protocol, read top to bottom."""

from __future__ import annotations

from airflow_provider_cloudflows.errors import (
    AuthError,
    CloudflowsError,
    InvalidRequestError,
    NotFoundError,
    ServiceUnavailableError,
    ThrottledError,
    VendorApiError,
)

# (code prefix, error class). First match wins; a prefix matches the code itself or "prefix.*".
ALIBABA_CODES: tuple[tuple[str, type[CloudflowsError]], ...] = (
    ("Throttling", ThrottledError),
    ("ServiceUnavailable", ServiceUnavailableError),
    ("InternalError", ServiceUnavailableError),
    ("InvalidAccessKeyId", AuthError),
    ("SignatureDoesNotMatch", AuthError),
    ("IncompleteSignature", AuthError),
    ("SignatureNonceUsed", AuthError),
    ("InvalidTimeStamp", AuthError),
    ("InvalidSecurityToken", AuthError),
    ("Forbidden", AuthError),
    ("NoPermission", AuthError),
    ("MissingParameter", InvalidRequestError),
    ("InvalidParameter", InvalidRequestError),
    ("InvalidAction", InvalidRequestError),
    ("InvalidVersion", InvalidRequestError),
)

TENCENT_API3_CODES: tuple[tuple[str, type[CloudflowsError]], ...] = (
    ("RequestLimitExceeded", ThrottledError),
    ("InvalidParameter.ServiceIsBusy", ThrottledError),
    ("LimitExceeded", ThrottledError),
    ("AuthFailure", AuthError),
    ("UnauthorizedOperation", AuthError),
    ("OperationDenied", AuthError),
    ("ResourceNotFound", NotFoundError),
    ("InvalidParameter.WorkspaceNotExist", NotFoundError),
    ("InternalError", ServiceUnavailableError),
    ("InvalidParameter", InvalidRequestError),
    ("InvalidParameterValue", InvalidRequestError),
    ("MissingParameter", InvalidRequestError),
    ("UnknownParameter", InvalidRequestError),
)

COS_CODES: tuple[tuple[str, type[CloudflowsError]], ...] = (
    ("SlowDown", ThrottledError),
    ("AccessDenied", AuthError),
    ("SignatureDoesNotMatch", AuthError),
    ("InvalidAccessKeyId", AuthError),
    ("InvalidSecretId", AuthError),
    ("RequestTimeTooSkewed", AuthError),
    ("NoSuchResource", NotFoundError),
    ("NoSuchKey", NotFoundError),
    ("NoSuchBucket", NotFoundError),
    ("NoSuchWorkflow", NotFoundError),
    ("InvalidArgument", InvalidRequestError),
    ("MissingParameter", InvalidRequestError),
    ("InternalError", ServiceUnavailableError),
    ("ServiceUnavailable", ServiceUnavailableError),
)


def classify(
    code: str | None, http_status: int | None, table: tuple[tuple[str, type[CloudflowsError]], ...]
) -> type[CloudflowsError]:
    """Pick the error class for a vendor code, falling back on the HTTP status."""
    if code:
        for prefix, cls in table:
            if code == prefix or code.startswith(prefix + "."):
                return cls
        if "NotFound" in code or "NotExist" in code:
            return NotFoundError
    if http_status is not None:
        if http_status == 429:
            return ThrottledError
        if http_status >= 500:
            return ServiceUnavailableError
        if http_status in (401, 403):
            return AuthError
        if http_status == 404:
            return NotFoundError
    return VendorApiError
