from __future__ import annotations

import pickle

from airflow_provider_cloudflows.errors import (
    AuthError,
    InvalidResponseError,
    NotFoundError,
    ServiceUnavailableError,
    ThrottledError,
)
from airflow_provider_cloudflows.hooks.retry import RetryPolicy
from airflow_provider_cloudflows.protocols.codes import ALIBABA_CODES, COS_CODES, TENCENT_API3_CODES, classify


def test_error_text_names_everything_needed():
    err = AuthError(
        "Signature mismatch",
        vendor="WeData",
        action="GetTriggerWorkflowRun",
        http_status=200,
        code="AuthFailure.SignatureFailure",
        request_id="req-1",
        run_id="exec-9",
    )
    text = str(err)
    for part in (
        "WeData GetTriggerWorkflowRun",
        "Signature mismatch",
        "exec-9",
        "AuthFailure.SignatureFailure",
        "req-1",
    ):
        assert part in text


def test_errors_survive_pickling_with_their_fields():
    err = ThrottledError("slow down", vendor="DataWorks", code="Throttling.User", retry_after=1.5)
    copy = pickle.loads(pickle.dumps(err))
    assert type(copy) is ThrottledError and copy.code == "Throttling.User" and copy.retry_after == 1.5
    assert str(copy) == str(err)


def test_retryable_flags():
    assert ThrottledError("x", vendor="v").retryable
    assert ServiceUnavailableError("x", vendor="v").retryable
    assert InvalidResponseError("x", vendor="v").retryable
    assert not AuthError("x", vendor="v").retryable
    assert not NotFoundError("x", vendor="v").retryable


def test_classification_tables():
    assert classify("Throttling.User", 400, ALIBABA_CODES) is ThrottledError
    assert classify("SignatureDoesNotMatch", 400, ALIBABA_CODES) is AuthError
    assert classify("InvalidAccessKeyId.NotFound", 404, ALIBABA_CODES) is AuthError
    assert classify("Forbidden.WorkflowNotFound", 404, ()) is NotFoundError
    assert classify("RequestLimitExceeded.UinLimitExceeded", None, TENCENT_API3_CODES) is ThrottledError
    assert classify("AuthFailure.SecretIdNotFound", None, TENCENT_API3_CODES) is AuthError
    assert classify("ResourceNotFound", None, TENCENT_API3_CODES) is NotFoundError
    assert classify("SlowDown", 503, COS_CODES) is ThrottledError
    assert classify(None, 502, COS_CODES) is ServiceUnavailableError
    assert classify(None, 429, ()) is ThrottledError


def test_backoff_grows_is_capped_and_honours_retry_after():
    policy = RetryPolicy(max_attempts=10, base_delay=1.0, max_delay=8.0)
    delays = [policy.delay(n) for n in range(1, 8)]
    for n, d in enumerate(delays, start=1):
        ceiling = min(8.0, 2 ** (n - 1))
        assert ceiling / 2 <= d <= ceiling
    throttled = ThrottledError("x", vendor="v", retry_after=5.0)
    assert policy.delay(1, throttled) >= 5.0
    assert policy.delay(1, ThrottledError("x", vendor="v", retry_after=500.0)) <= 8.0


def test_retry_policy_from_connection_extras():
    policy = RetryPolicy.from_extras({"retry_max_attempts": "3", "retry_base_delay": 0.2})
    assert policy.max_attempts == 3 and policy.base_delay == 0.2
    assert RetryPolicy.from_extras({}) == RetryPolicy()
