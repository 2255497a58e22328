"""Connection types: whose credentials a hook uses, the UI form, and the connection test.

`alibabacloud` (ICE, DataWorks) and `tencentcloud` (WeData, Cloud Infinite); both are declared in
products.py. A connection type knows nothing of any product's operations.
"""
