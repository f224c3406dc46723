"""Images in S3-compatible object storage (the `[s3]` extra): AWS S3, MinIO, Ceph, R2, ..."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from outframe.storage.base import BlobNotFound, BlobStorage

_CONTENT_TYPES = {".jpg": "image/jpeg", ".mp4": "video/mp4", ".webm": "video/webm"}


def content_type(name: str) -> str:
    return _CONTENT_TYPES.get(Path(name).suffix, "image/png")


class S3Storage(BlobStorage):
    """Objects under `prefix` in `bucket`. URLs are `public_base_url/<key>` when the bucket (or a
    CDN in front of it) is public, else presigned GETs that expire after `presign_seconds`."""

    def __init__(
        self,
        bucket: str,
        *,
        prefix: str = "",
        endpoint_url: str | None = None,
        region: str | None = None,
        public_base_url: str = "",
        presign_seconds: int = 7 * 24 * 3600,
        client: Any = None,
    ) -> None:
        if client is None:
            try:
                import boto3
            except ImportError as exc:  # pragma: no cover - depends on the install
                raise RuntimeError(
                    "OUTFRAME_STORAGE=s3 needs boto3: pip install 'outframe[s3]'"
                ) from exc
            client = boto3.client("s3", endpoint_url=endpoint_url or None, region_name=region)
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.public_base_url = public_base_url.rstrip("/")
        self.presign_seconds = presign_seconds

    def _key(self, name: str) -> str:
        return self.prefix + name

    def put(self, name: str, data: bytes) -> None:
        self.client.put_object(
            Bucket=self.bucket, Key=self._key(name), Body=data, ContentType=content_type(name)
        )

    def put_file(self, name: str, path: Path) -> None:
        # An object appears whole when its upload (multipart for large files) completes.
        self.client.upload_file(
            str(path), self.bucket, self._key(name), ExtraArgs={"ContentType": content_type(name)}
        )

    def get(self, name: str) -> bytes:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._key(name))
        except self.client.exceptions.NoSuchKey:
            raise BlobNotFound(name) from None
        data: bytes = response["Body"].read()
        return data

    def url(self, name: str) -> str:
        if self.public_base_url:
            return f"{self.public_base_url}/{self._key(name)}"
        url: str = self.client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": self._key(name)},
            ExpiresIn=self.presign_seconds,
        )
        return url

    def delete(self, name: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(name))
