"""Connection-form metadata for both connection types, declared once.

Airflow >= 3.2 reads the declarative `conn-fields` / `ui-field-behaviour` from the provider info;
Airflow 2.11 calls the hook classmethods. Both are generated from the same field list here so the
two UIs cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ExtraField:
    name: str
    label: str
    description: str
    placeholder: str = ""
    secret: bool = False

    def conn_field(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": ["string", "null"]}
        if self.secret:
            schema["format"] = "password"
        return {"label": self.label, "description": self.description, "schema": schema}


@dataclass(frozen=True)
class ConnectionForm:
    conn_type: str
    login_label: str
    password_label: str
    login_placeholder: str
    fields: tuple[ExtraField, ...]

    def ui_field_behaviour(self) -> dict[str, Any]:
        """The hook-method form (2.x): snake_case keys, placeholders keyed by plain field names."""
        return {
            "hidden_fields": ["schema", "port", "host", "extra"],
            "relabeling": {"login": self.login_label, "password": self.password_label},
            "placeholders": {
                "login": self.login_placeholder,
                **{f.name: f.placeholder for f in self.fields if f.placeholder},
            },
        }

    def provider_info(self) -> dict[str, Any]:
        """The declarative form (3.2+): kebab-case keys."""
        behaviour = self.ui_field_behaviour()
        return {
            "conn-fields": {f.name: f.conn_field() for f in self.fields},
            "ui-field-behaviour": {
                "hidden-fields": behaviour["hidden_fields"],
                "relabeling": behaviour["relabeling"],
                "placeholders": behaviour["placeholders"],
            },
        }

    def form_widgets(self) -> dict[str, Any]:
        from flask_appbuilder.fieldwidgets import BS3PasswordFieldWidget, BS3TextFieldWidget
        from flask_babel import lazy_gettext
        from wtforms import PasswordField, StringField

        widgets: dict[str, Any] = {}
        for f in self.fields:
            if f.secret:
                widgets[f.name] = PasswordField(
                    lazy_gettext(f.label), widget=BS3PasswordFieldWidget(), description=f.description
                )
            else:
                widgets[f.name] = StringField(
                    lazy_gettext(f.label), widget=BS3TextFieldWidget(), description=f.description
                )
        return widgets


_ENDPOINT_HELP = (
    "Optional base URL that replaces the public hosts for every API of this vendor, for private "
    "endpoints or the local emulator, e.g. http://127.0.0.1:8790"
)

ALIBABA_CLOUD_FORM = ConnectionForm(
    conn_type="alibabacloud",
    login_label="AccessKey ID",
    password_label="AccessKey Secret",
    login_placeholder="LTAI5t...",
    fields=(
        ExtraField("region", "Region", "Region id, e.g. cn-shanghai", "cn-shanghai"),
        ExtraField("endpoint", "Endpoint", _ENDPOINT_HELP, "https://dataworks.cn-shanghai.aliyuncs.com"),
        ExtraField(
            "security_token",
            "STS security token",
            "Only for temporary (STS) credentials",
            secret=True,
        ),
    ),
)

TENCENT_CLOUD_FORM = ConnectionForm(
    conn_type="tencentcloud",
    login_label="SecretId",
    password_label="SecretKey",
    login_placeholder="AKID...",
    fields=(
        ExtraField("region", "Region", "Region id, e.g. ap-guangzhou", "ap-guangzhou"),
        ExtraField("endpoint", "Endpoint", _ENDPOINT_HELP, "https://wedata.tencentcloudapi.com"),
        ExtraField(
            "bucket",
            "Cloud Infinite bucket",
            "BucketName-APPID of the bucket whose media workflows Cloud Infinite runs",
            "examplebucket-1250000000",
        ),
        ExtraField(
            "security_token",
            "STS security token",
            "Only for temporary (STS) credentials",
            secret=True,
        ),
    ),
)
