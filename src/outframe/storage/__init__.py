"""Blob storage for result images; pick one with settings."""

from __future__ import annotations

from outframe.core.config import Settings
from outframe.storage.base import BlobStorage


def load_storage(settings: Settings) -> BlobStorage:
    if settings.storage == "s3":
        from outframe.storage.s3 import S3Storage

        if not settings.s3_bucket:
            raise ValueError("OUTFRAME_STORAGE=s3 needs OUTFRAME_S3_BUCKET")
        return S3Storage(
            settings.s3_bucket,
            prefix=settings.s3_prefix,
            endpoint_url=settings.s3_endpoint_url or None,
            region=settings.s3_region or None,
            public_base_url=settings.s3_public_base_url,
            presign_seconds=settings.s3_presign_seconds,
        )
    from outframe.storage.local import LocalStorage

    return LocalStorage(settings.images_dir, settings.resolved_public_base_url() + "/cdn")
