"""Time formats the vendor APIs use, in one place so every service renders them the same way."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone

_CHINA = timezone(timedelta(hours=8))


def iso8601_utc(epoch: float) -> str:
    """`2025-01-01T00:00:00Z` (Alibaba ICE CreateTime/FinishTime)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def epoch_ms(epoch: float) -> int:
    """Milliseconds since the epoch as a JSON number (DataWorks)."""
    return int(epoch * 1000)


def epoch_ms_str(epoch: float) -> str:
    """Milliseconds since the epoch as a JSON string (WeData)."""
    return str(epoch_ms(epoch))


def ci_time(epoch: float, tz: timezone = _CHINA) -> str:
    """`2019-07-07T12:12:12+0800` (Cloud Infinite), Beijing time by default as the console shows it."""
    return datetime.fromtimestamp(epoch, tz).strftime("%Y-%m-%dT%H:%M:%S%z")


def parse_ci_time(value: str) -> float:
    """Inverse of ci_time; also accepts `Z` and `+08:00` offsets."""
    text = value.strip().replace("Z", "+0000")
    if len(text) > 6 and text[-3] == ":" and text[-6] in "+-":
        text = text[:-3] + text[-2:]
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S%z").timestamp()


def parse_iso8601_utc(value: str) -> float:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
