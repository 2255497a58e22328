"""Wire protocols: how a request is built, signed and decoded, and what the vendor's error codes mean.

Three protocols serve the four products: Alibaba Cloud RPC with ACS3 signing (`alibaba_rpc`:
ICE, DataWorks, STS), Tencent Cloud API 3.0 with TC3 signing (`tencent_api3`: WeData, STS) and
the COS XML API with q-sign (`cos_xml`: Cloud Infinite). A protocol knows nothing of Airflow or of
any product's operations; a product hook holds one protocol object configured for its product.
"""
