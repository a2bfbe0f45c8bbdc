"""The payload archive: every inbound and outbound payload, kept for the client's retention period."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_s3 as s3
from constructs import Construct

# Versions replaced or deleted inside the retention period are kept this long, then removed.
NONCURRENT_VERSION_RETENTION = cdk.Duration.days(30)


def _private_bucket_props() -> dict[str, object]:
    return {
        "block_public_access": s3.BlockPublicAccess.BLOCK_ALL,
        "enforce_ssl": True,
        "minimum_tls_version": 1.2,
        "object_ownership": s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        # S3-managed keys: the only encryption server access logging can deliver into, and no KMS grants.
        "encryption": s3.BucketEncryption.S3_MANAGED,
        "removal_policy": cdk.RemovalPolicy.RETAIN,
    }


class AccessLogsBucket(Construct):
    """Receives S3 server access logs for the stack's buckets."""

    def __init__(self, scope: Construct, construct_id: str, *, retention_days: int) -> None:
        super().__init__(scope, construct_id)
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            lifecycle_rules=[s3.LifecycleRule(expiration=cdk.Duration.days(retention_days))],
            **_private_bucket_props(),
        )


class ArchiveBucket(Construct):
    """Private, versioned, TLS-only bucket whose objects expire after `retention_days`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        retention_days: int,
        access_logs: s3.IBucket,
        access_logs_prefix: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            versioned=True,
            lifecycle_rules=[
                s3.LifecycleRule(
                    expiration=cdk.Duration.days(retention_days),
                    noncurrent_version_expiration=NONCURRENT_VERSION_RETENTION,
                    abort_incomplete_multipart_upload_after=cdk.Duration.days(1),
                )
            ],
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix=access_logs_prefix,
            **_private_bucket_props(),
        )
