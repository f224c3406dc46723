"""The BlobStorage interface, and an in-memory implementation for tests."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from pathlib import Path


class BlobNotFound(KeyError):
    pass


class BlobStorage(ABC):
    """Stores images by name (`<jobId>-<n>.png`, and videos) and says where clients fetch
    them."""

    @abstractmethod
    def put(self, name: str, data: bytes) -> None:
        """Store data under name, replacing what was there (a retried job rewrites its images)."""

    def put_file(self, name: str, path: Path) -> None:
        """Store a finished file under name, whole or not at all (a video); the file may be
        moved away. The default reads it into memory; storages override it to stream."""
        self.put(name, path.read_bytes())

    @abstractmethod
    def get(self, name: str) -> bytes:
        """The stored bytes, or BlobNotFound."""

    @abstractmethod
    def url(self, name: str) -> str:
        """The URL a client fetches the blob from."""

    @abstractmethod
    def delete(self, name: str) -> None:
        """Remove a blob; absent is fine."""


class MemoryStorage(BlobStorage):
    def __init__(self, base_url: str = "memory://cdn") -> None:
        self.base_url = base_url
        self.blobs: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def put(self, name: str, data: bytes) -> None:
        with self._lock:
            self.blobs[name] = data

    def get(self, name: str) -> bytes:
        with self._lock:
            try:
                return self.blobs[name]
            except KeyError:
                raise BlobNotFound(name) from None

    def url(self, name: str) -> str:
        return f"{self.base_url}/{name}"

    def delete(self, name: str) -> None:
        with self._lock:
            self.blobs.pop(name, None)
