"""Pydantic models of each vendor's responses, one module per vendor, plus the one way to validate them."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from airflow_provider_cloudflows.errors import InvalidResponseError

M = TypeVar("M", bound=BaseModel)


def parse_payload(model: type[M], payload: Any, *, vendor: str, action: str, run_id: str | None = None) -> M:
    """Validate a decoded response; a shape we cannot read is InvalidResponseError, never pydantic's error."""
    try:
        return model.model_validate(payload if payload is not None else {})
    except ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}" for e in err.errors()[:5]
        )
        raise InvalidResponseError(
            f"unexpected {action} response shape ({problems})",
            vendor=vendor,
            action=action,
            run_id=run_id,
            request_id=payload.get("RequestId") if isinstance(payload, dict) else None,
        ) from None
