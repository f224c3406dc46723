"""Blob storage for result images; pick one with settings."""

from __future__ import annotations

from outframe.core.config import Settings
from outframe.storage.base import BlobStorage


def load_storage(settings: Settings) -> BlobStorage:
    from outframe.storage.local import LocalStorage

    return LocalStorage(settings.images_dir, settings.resolved_public_base_url() + "/cdn")
