"""Images on local disk, served by the API under /cdn."""

from __future__ import annotations

import errno
import os
import re
import shutil
import tempfile
from pathlib import Path

from outframe.storage.base import BlobNotFound, BlobStorage

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$")


def check_name(name: str) -> str:
    if not _SAFE_NAME.match(name) or ".." in name:
        raise ValueError(f"unsafe blob name {name!r}")
    return name


class LocalStorage(BlobStorage):
    def __init__(self, root: Path, base_url: str) -> None:
        self.root = root
        self.base_url = base_url.rstrip("/")
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, name: str) -> Path:
        return self.root / check_name(name)

    def put(self, name: str, data: bytes) -> None:
        # Write then rename, so a reader (or a crash) never sees half a file.
        target = self.path(name)
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def put_file(self, name: str, path: Path) -> None:
        # Moved beside the target, then renamed over it: readers see the old name absent or
        # the whole file, never a part of it.
        target = self.path(name)
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".tmp-")
        os.close(fd)
        try:
            try:
                os.replace(path, tmp)
            except OSError as exc:
                if exc.errno != errno.EXDEV:
                    raise
                shutil.copyfile(path, tmp)  # another file system: copied, then renamed
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, name: str) -> bytes:
        try:
            return self.path(name).read_bytes()
        except FileNotFoundError:
            raise BlobNotFound(name) from None

    def url(self, name: str) -> str:
        return f"{self.base_url}/{name}"

    def delete(self, name: str) -> None:
        self.path(name).unlink(missing_ok=True)
