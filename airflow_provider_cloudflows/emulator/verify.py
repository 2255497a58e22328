"""Server-side signature verification for the local emulator.

Each verifier recomputes the signature the way the vendor's gateway does, from the request as
received (raw query, the headers the client declared as signed, the body bytes), and raises
SignatureRejected carrying the vendor's own error code.
"""

from __future__ import annotations

import calendar
import hashlib
import hmac
import time
from collections.abc import Mapping, MutableSet
from dataclasses import dataclass, field

from airflow_provider_cloudflows.auth import acs3, cos, tc3
from airflow_provider_cloudflows.auth._base import parse_query
from airflow_provider_cloudflows.emulator.request import IncomingRequest


@dataclass(frozen=True)
class Credential:
    secret: str = field(repr=False)
    security_token: str | None = field(default=None, repr=False)


class SignatureRejected(Exception):
    def __init__(self, code: str, message: str, http_status: int) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.http_status = http_status


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def _token_ok(expected: str | None, received: str | None) -> bool:
    """A token must be sent exactly when the credential has one, and must then match it."""
    if not expected and not received:
        return True
    return bool(expected and received and _same(expected, received))


# --------------------------------------------------------------------------- Alibaba


def _acs_reject(code: str, message: str, status: int = 400) -> SignatureRejected:
    return SignatureRejected(code, message, status)


def _parse_acs_time(value: str) -> float:
    for fmt in ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S.%fZ"):
        try:
            return float(calendar.timegm(time.strptime(value, fmt)))
        except ValueError:
            continue
    raise _acs_reject("InvalidTimeStamp.Format", f"The specified timestamp {value!r} is not valid.")


def _check_acs_time(value: str, now: float, max_skew: int) -> None:
    skew = abs(now - _parse_acs_time(value))
    if skew > max_skew:
        raise _acs_reject(
            "InvalidTimeStamp.Expired",
            f"Specified time stamp or date value is expired: {value} is {int(skew)} seconds off the "
            f"server time {acs3.format_date(now)}.",
        )


def _acs_credential(credentials: Mapping[str, Credential], key_id: str) -> Credential:
    credential = credentials.get(key_id)
    if credential is None:
        raise _acs_reject("InvalidAccessKeyId.NotFound", "Specified access key is not found.", 404)
    return credential


def _check_acs_token(credential: Credential, token: str | None) -> None:
    if not _token_ok(credential.security_token, token):
        raise _acs_reject(
            "InvalidSecurityToken.MismatchWithAccessKey",
            "The security token does not belong to the access key.",
        )


def _use_nonce(seen: MutableSet[str] | None, nonce: str) -> None:
    if seen is None:
        return
    if nonce in seen:
        raise _acs_reject("SignatureNonceUsed", "Specified signature nonce was used already.")
    seen.add(nonce)


_ACS3_REQUIRED = {
    "x-acs-action": "MissingAction",
    "x-acs-version": "MissingVersion",
    "x-acs-date": "MissingTimestamp",
    "x-acs-signature-nonce": "MissingSignatureNonce",
    "x-acs-content-sha256": "MissingParameter",
}


def verify_acs3(
    req: IncomingRequest,
    credentials: Mapping[str, Credential],
    *,
    now: float,
    max_skew_seconds: int = 900,
    seen_nonces: MutableSet[str] | None = None,
) -> str:
    """Verify an ACS3-HMAC-SHA256 request; returns the access key id."""
    headers = req.lowered_headers()
    value = headers.get("authorization")
    if not value:
        raise _acs_reject("IncompleteSignature", "The Authorization header is missing.")
    try:
        auth = acs3.parse_authorization(value)
    except ValueError as exc:
        raise _acs_reject("IncompleteSignature", f"The request signature is malformed: {exc}.") from None
    for name, code in _ACS3_REQUIRED.items():
        if not headers.get(name):
            raise _acs_reject(code, f"The required header {name} is missing.")
    signed = [h.lower() for h in auth.signed_headers]
    must_sign = {"host", *(h for h in headers if h.startswith("x-acs-"))}
    if "content-type" in headers:
        must_sign.add("content-type")
    unsigned = sorted(must_sign - set(signed))
    if unsigned:
        raise _acs_reject("IncompleteSignature", f"Headers must be signed: {';'.join(unsigned)}.")
    absent = [h for h in signed if h not in headers]
    if absent:
        raise _acs_reject("IncompleteSignature", f"Signed headers are absent: {';'.join(absent)}.")
    _check_acs_time(headers["x-acs-date"], now, max_skew_seconds)
    credential = _acs_credential(credentials, auth.access_key_id)

    hashed_payload = hashlib.sha256(req.body).hexdigest()
    if not _same(headers["x-acs-content-sha256"].lower(), hashed_payload):
        raise _acs_reject("SignatureDoesNotMatch", "x-acs-content-sha256 does not match the request body.")
    query = acs3.canonical_query_string(parse_query(req.raw_query))
    creq = acs3.canonical_request(
        req.method, acs3.canonical_uri(req.path), query, headers, signed, headers["x-acs-content-sha256"]
    )
    to_sign = acs3.string_to_sign(creq)
    if not _same(acs3.sign(credential.secret, to_sign), auth.signature):
        raise _acs_reject(
            "SignatureDoesNotMatch",
            f"Specified signature does not match our calculation. server string to sign is:{to_sign}",
        )
    _check_acs_token(credential, headers.get("x-acs-security-token"))
    _use_nonce(seen_nonces, headers["x-acs-signature-nonce"])
    return auth.access_key_id


_RPC_REQUIRED = {
    "Signature": "IncompleteSignature",
    "AccessKeyId": "MissingAccessKeyId",
    "SignatureMethod": "MissingSignatureMethod",
    "SignatureVersion": "MissingSignatureVersion",
    "Timestamp": "MissingTimestamp",
    "SignatureNonce": "MissingSignatureNonce",
}


def verify_rpc_v1(
    req: IncomingRequest,
    credentials: Mapping[str, Credential],
    *,
    now: float,
    max_skew_seconds: int = 900,
    seen_nonces: MutableSet[str] | None = None,
) -> str:
    """Verify a legacy RPC request (Signature in the query, HMAC-SHA1); returns the key id."""
    params: dict[str, str] = dict(parse_query(req.raw_query))
    content_type = (req.header("content-type") or "").lower()
    if req.body and content_type.startswith("application/x-www-form-urlencoded"):
        params.update(parse_query(req.body.decode("utf-8", errors="replace")))
    for name, code in _RPC_REQUIRED.items():
        if not params.get(name):
            raise _acs_reject(code, f"{name} is mandatory for this action.")
    if params["SignatureMethod"] != "HMAC-SHA1" or params["SignatureVersion"] != "1.0":
        raise _acs_reject("IncompleteSignature", "Only SignatureMethod HMAC-SHA1, version 1.0 is supported.")
    _check_acs_time(params["Timestamp"], now, max_skew_seconds)
    credential = _acs_credential(credentials, params["AccessKeyId"])
    signature = params.pop("Signature")
    to_sign = acs3.rpc_v1_string_to_sign(req.method, params)
    if not _same(acs3.rpc_v1_signature(req.method, params, credential.secret), signature):
        raise _acs_reject(
            "SignatureDoesNotMatch",
            f"Specified signature does not match our calculation. server string to sign is:{to_sign}",
        )
    _check_acs_token(credential, params.get("SecurityToken"))
    _use_nonce(seen_nonces, params["SignatureNonce"])
    return params["AccessKeyId"]


# --------------------------------------------------------------------------- Tencent API 3.0


def _tc_reject(code: str, message: str) -> SignatureRejected:
    # API 3.0 reports every error inside an HTTP 200 body.
    return SignatureRejected(code, message, 200)


def verify_tc3(
    req: IncomingRequest,
    credentials: Mapping[str, Credential],
    *,
    now: float,
    service: str,
    max_skew_seconds: int = 300,
) -> str:
    """Verify a TC3-HMAC-SHA256 request; returns the SecretId."""
    headers = req.lowered_headers()
    value = headers.get("authorization")
    if not value:
        raise _tc_reject("AuthFailure.InvalidAuthorization", "The Authorization header is missing.")
    try:
        auth = tc3.parse_authorization(value)
    except ValueError as exc:
        raise _tc_reject("AuthFailure.InvalidAuthorization", f"Authorization is malformed: {exc}.") from None
    signed = [h.lower() for h in auth.signed_headers]
    if not {"content-type", "host"} <= set(signed):
        raise _tc_reject("AuthFailure.InvalidAuthorization", "SignedHeaders lacks content-type or host.")
    absent = [h for h in signed if h not in headers]
    if absent:
        raise _tc_reject("AuthFailure.InvalidAuthorization", f"Signed headers absent: {';'.join(absent)}.")
    raw_timestamp = headers.get("x-tc-timestamp")
    if not raw_timestamp:
        raise _tc_reject("MissingParameter", "The request is missing the X-TC-Timestamp header.")
    try:
        timestamp = int(raw_timestamp)
    except ValueError:
        raise _tc_reject("InvalidParameter", f"X-TC-Timestamp {raw_timestamp!r} is not an integer.") from None
    skew = abs(int(now) - timestamp)
    if skew > max_skew_seconds:
        # The vendor's wording (API 3.0 common errors), with the two times it compared.
        raise _tc_reject(
            "AuthFailure.SignatureExpire",
            f"Signature expired. Timestamp and server time cannot differ by more than "
            f"{max_skew_seconds // 60} minutes: the request time {timestamp} is {skew} seconds off "
            f"the server time {int(now)}. Please ensure your current local time matches the standard time.",
        )
    if auth.date != tc3.utc_date(timestamp):
        raise _tc_reject(
            "AuthFailure.SignatureFailure",
            f"The credential scope date {auth.date} is not the UTC date of X-TC-Timestamp {timestamp}.",
        )
    if auth.service != service:
        raise _tc_reject("AuthFailure.SignatureFailure", f"The credential scope service must be {service}.")
    credential = credentials.get(auth.secret_id)
    if credential is None:
        raise _tc_reject("AuthFailure.SecretIdNotFound", "The SecretId is not found.")

    if req.method.upper() == "GET":
        query, payload = req.raw_query, b""
    else:
        query, payload = "", req.body
    if headers.get("x-tc-content-sha256") == tc3.UNSIGNED_PAYLOAD:
        payload = tc3.UNSIGNED_PAYLOAD.encode("ascii")
    creq = tc3.canonical_request(req.method, query, headers, signed, payload)
    expected = tc3.sign(
        tc3.signing_key(credential.secret, auth.date, auth.service),
        tc3.string_to_sign(timestamp, auth.scope, creq),
    )
    if not _same(expected, auth.signature):
        raise _tc_reject("AuthFailure.SignatureFailure", "The provided credentials could not be validated.")
    if not _token_ok(credential.security_token, headers.get("x-tc-token")):
        raise _tc_reject("AuthFailure.TokenFailure", "The security token is invalid for this SecretId.")
    return auth.secret_id


# --------------------------------------------------------------------------- COS / CI


def _cos_reject(code: str, message: str) -> SignatureRejected:
    return SignatureRejected(code, message, 403)


def _cos_window(fields: Mapping[str, str], now: float) -> None:
    start_s, sep, end_s = fields["q-sign-time"].partition(";")
    try:
        start, end = int(start_s), int(end_s)
    except ValueError:
        start = end = -1
    if not sep or start < 0 or end < start:
        raise _cos_reject("AccessDenied", "q-sign-time is malformed.")
    server = int(now)
    if server < start:
        raise _cos_reject(
            "RequestTimeTooSkewed",
            f"The difference between the request time {start} and the server time {server} is too large.",
        )
    if server > end:
        raise _cos_reject("AccessDenied", f"Request has expired: signed until {end}, server time {server}")


def verify_cos(req: IncomingRequest, credentials: Mapping[str, Credential], *, now: float) -> str:
    """Verify a COS/CI `q-sign-algorithm=sha1` request; returns the SecretId."""
    headers = req.lowered_headers()
    value = headers.get("authorization")
    if not value:
        raise _cos_reject("AccessDenied", "Access Denied: the Authorization header is missing.")
    try:
        fields = cos.parse_authorization(value)
    except ValueError as exc:
        raise _cos_reject("AccessDenied", f"Authorization is malformed: {exc}.") from None
    if fields["q-sign-algorithm"] != cos.ALGORITHM:
        raise _cos_reject("AccessDenied", "q-sign-algorithm must be sha1.")
    _cos_window(fields, now)
    credential = credentials.get(fields["q-ak"])
    if credential is None:
        raise _cos_reject("InvalidAccessKeyId", "The access key Id you provided does not exist.")

    declared_headers = [h for h in fields["q-header-list"].split(";") if h]
    declared_params = [p for p in fields["q-url-param-list"].split(";") if p]
    # Names in the lists are the encoded, lowercased keys; match received names the same way.
    received_headers = {cos.encode(k).lower(): (k, v) for k, v in headers.items()}
    query = [(cos.encode(k).lower(), k, v) for k, v in parse_query(req.raw_query)]
    received_params = [(k, v) for name, k, v in query if name in declared_params]
    missing = [h for h in declared_headers if h not in received_headers]
    missing += [p for p in declared_params if p not in {name for name, _, _ in query}]
    if missing:
        raise _cos_reject("AccessDenied", f"Declared but not present in the request: {';'.join(missing)}.")
    _, http_headers = cos.http_headers([received_headers[h] for h in declared_headers])
    _, http_params = cos.http_parameters(received_params)
    to_sign = cos.string_to_sign(
        fields["q-key-time"], cos.http_string(req.method, req.path, http_params, http_headers)
    )
    expected = cos.sign(cos.sign_key(credential.secret, fields["q-key-time"]), to_sign)
    if not _same(expected, fields["q-signature"]):
        raise _cos_reject(
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        )
    token = headers.get("x-ci-security-token") or headers.get("x-cos-security-token")
    if not _token_ok(credential.security_token, token):
        raise _cos_reject("AccessDenied", "The security token is invalid for this SecretId.")
    return fields["q-ak"]
