"""Both connection types against the emulator: test_connection, credentials from AIRFLOW_CONN_* JSON."""

from __future__ import annotations

import json

import pytest

from airflow_provider_cloudflows.connections.alibabacloud import AlibabaCloudHook
from airflow_provider_cloudflows.connections.tencentcloud import TencentCloudHook

HOOKS = {"alibabacloud": AlibabaCloudHook, "tencentcloud": TencentCloudHook}


def _conn_json(emulator, conn_type: str, **overrides) -> str:
    raw = json.loads(getattr(emulator, f"{conn_type}_connection_json")())
    raw.update(overrides)
    return json.dumps(raw)


@pytest.mark.parametrize("conn_type", sorted(HOOKS))
def test_connection_test_succeeds_with_good_keys_in_one_request(cloudflows_emulator, monkeypatch, conn_type):
    monkeypatch.setenv("AIRFLOW_CONN_CF_GOOD", _conn_json(cloudflows_emulator, conn_type))
    ok, message = HOOKS[conn_type]("cf_good").test_connection()
    assert ok, message
    assert message.startswith("Connected to ")
    assert len(cloudflows_emulator.control.requests(vendor="sts")) == 1


@pytest.mark.parametrize(
    ("conn_type", "expected_code"),
    [("alibabacloud", "SignatureDoesNotMatch"), ("tencentcloud", "AuthFailure.SignatureFailure")],
)
def test_connection_test_reports_the_vendor_code_for_a_wrong_secret(
    cloudflows_emulator, monkeypatch, conn_type, expected_code
):
    monkeypatch.setenv(
        "AIRFLOW_CONN_CF_BAD", _conn_json(cloudflows_emulator, conn_type, password="wrong-secret")
    )
    ok, message = HOOKS[conn_type]("cf_bad").test_connection()
    assert not ok
    assert expected_code in message
    assert "wrong-secret" not in message
    assert len(cloudflows_emulator.control.requests(vendor="sts")) == 1  # no retry of an auth error


@pytest.mark.parametrize(
    ("conn_type", "expected_code"),
    [("alibabacloud", "InvalidAccessKeyId.NotFound"), ("tencentcloud", "AuthFailure.SecretIdNotFound")],
)
def test_connection_test_reports_an_unknown_key(cloudflows_emulator, monkeypatch, conn_type, expected_code):
    monkeypatch.setenv(
        "AIRFLOW_CONN_CF_UNKNOWN", _conn_json(cloudflows_emulator, conn_type, login="AKIDnobody")
    )
    ok, message = HOOKS[conn_type]("cf_unknown").test_connection()
    assert not ok and expected_code in message


def test_product_hooks_test_the_connection_through_sts(cloudflows_emulator, monkeypatch):
    from airflow_provider_cloudflows.hooks.cloud_infinite import CloudInfiniteHook
    from airflow_provider_cloudflows.hooks.dataworks import DataWorksHook
    from airflow_provider_cloudflows.hooks.ice import IceHook
    from airflow_provider_cloudflows.hooks.wedata import WeDataHook

    monkeypatch.setenv(
        "AIRFLOW_CONN_ALIBABACLOUD_DEFAULT", cloudflows_emulator.alibabacloud_connection_json()
    )
    monkeypatch.setenv(
        "AIRFLOW_CONN_TENCENTCLOUD_DEFAULT",
        cloudflows_emulator.tencentcloud_connection_json(bucket="examplebucket-1250000000"),
    )
    for hook in (IceHook(), DataWorksHook(), WeDataHook(), CloudInfiniteHook()):
        ok, message = hook.test_connection()
        assert ok, f"{type(hook).__name__}: {message}"


def test_uri_form_connections_work_too(cloudflows_emulator, monkeypatch):
    from urllib.parse import quote

    url = quote(cloudflows_emulator.url, safe="")
    monkeypatch.setenv(
        "AIRFLOW_CONN_CF_URI",
        f"tencentcloud://{cloudflows_emulator.tencent_secret_id}:{cloudflows_emulator.tencent_secret_key}@"
        f"/?region=ap-guangzhou&endpoint={url}",
    )
    ok, message = TencentCloudHook("cf_uri").test_connection()
    assert ok, message
