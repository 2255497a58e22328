"""Airflow provider for workflow runs in Alibaba Cloud (ICE, DataWorks) and Tencent Cloud (WeData, Cloud Infinite)."""

__version__ = "0.1.0"
