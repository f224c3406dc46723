"""put_file: a finished file (a zoom video) stored whole or not at all."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import pytest

from outframe.storage.base import MemoryStorage
from outframe.storage.local import LocalStorage
from outframe.storage.s3 import S3Storage


def part(folder: Path, data: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "job.abcd.part"
    path.write_bytes(data)
    return path


def test_local_moves_the_file_into_place(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "images", "http://x/cdn")
    storage.put_file("a-video.mp4", part(tmp_path / "scratch", b"old"))
    storage.put_file("a-video.mp4", part(tmp_path / "scratch", b"new video"))
    assert storage.get("a-video.mp4") == b"new video"
    assert sorted(p.name for p in (tmp_path / "images").iterdir()) == ["a-video.mp4"]
    assert not list((tmp_path / "scratch").iterdir())


def test_local_copies_across_file_systems(tmp_path: Path, monkeypatch: Any) -> None:
    storage = LocalStorage(tmp_path / "images", "http://x/cdn")
    real_replace = os.replace

    def replace(src: Any, dst: Any) -> None:
        if str(src).endswith(".part"):  # the move out of the scratch folder
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    storage.put_file("b-video.webm", part(tmp_path / "scratch", b"video"))
    assert storage.get("b-video.webm") == b"video"
    assert sorted(p.name for p in (tmp_path / "images").iterdir()) == ["b-video.webm"]


def test_memory_and_s3_store_it_with_its_type(tmp_path: Path, monkeypatch: Any) -> None:
    memory = MemoryStorage()
    memory.put_file("c-video.mp4", part(tmp_path, b"mp4"))
    assert memory.get("c-video.mp4") == b"mp4"

    boto3 = pytest.importorskip("boto3")
    moto = pytest.importorskip("moto")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "test")
    with moto.mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="videos")
        s3 = S3Storage("videos", prefix="v", client=client)
        s3.put_file("d-video.webm", part(tmp_path, b"webm bytes"))
        assert s3.get("d-video.webm") == b"webm bytes"
        head = client.head_object(Bucket="videos", Key="v/d-video.webm")
        assert head["ContentType"] == "video/webm"
        s3.put("e-1.png", b"png")
        assert client.head_object(Bucket="videos", Key="v/e-1.png")["ContentType"] == "image/png"
