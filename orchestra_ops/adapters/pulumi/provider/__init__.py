"""Pulumi dynamic providers for Lambda Cloud (no registry ships a Lambda Labs provider).

Each provider calls the REST API through :class:`~orchestra_ops.adapters.lambda_cloud.
LambdaCloudClient`, built inside every method from settings read at call time, so the
pickled provider carries no client and no credential.
"""
