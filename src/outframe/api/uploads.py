"""Uploaded pixels (an import's image, an inpaint's mask), along one bounded path: the header is
checked against the limit that applies before a pixel is decoded, then (the parent and the quota
checked first) the decode waits for room in the server's pixel budget, stays at 8 bits per
channel, and what is stored is re-encoded no larger than it needs to be."""

from __future__ import annotations

import base64
import binascii
import ctypes
import ctypes.util
from dataclasses import dataclass

from fastapi.concurrency import run_in_threadpool

from outframe.container import Services
from outframe.imaging.codec import (
    Upload,
    decode_image,
    decode_mask,
    encode_mask_png,
    encode_upload,
    open_upload,
)
from outframe.services import quota
from outframe.services.errors import BadRequest
from outframe.services.jobs import JobRequest, ParentInfo
from outframe.services.keys import Caller
from outframe.services.runner import image_name, mask_name

# What clients put into base64 besides the alphabet: line breaks (GNU base64 wraps at 76
# columns, MIME at 76 with CRLF) and the odd space.
_ASCII_SPACE = str.maketrans("", "", " \t\n\r\f\v")


def _libc_trim() -> object:
    """glibc's malloc_trim, or None elsewhere."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


# A decode frees hundreds of MB in large blocks that glibc keeps for the thread that freed them
# (in its arena, or below a raised mmap threshold): three 8000² imports one after the other on
# three threadpool threads grew the server by 830 MB instead of 510. Handing them back at once
# keeps the budget's cap a cap on memory too.
_MALLOC_TRIM = _libc_trim()


def _give_back_memory() -> None:
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)  # type: ignore[operator]


@dataclass(frozen=True)
class Stored:
    """An upload written to storage, before its job exists."""

    name: str
    size: tuple[int, int]
    nbytes: int


def decode_base64(encoded: str, problem: str, code: str) -> bytes:
    """Strict base64, as clients send it: perhaps a data: URL, perhaps wrapped in lines. Any
    other character outside the alphabet is a 400 saying `problem`."""
    text = encoded.split(",", 1)[-1].translate(_ASCII_SPACE)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadRequest(problem, code=code) from exc


def check_mask_size(size: tuple[int, int], parent: ParentInfo) -> None:
    width, height = size
    if (width, height) != (parent.width, parent.height):
        raise BadRequest(
            f"mask is {width}x{height} but the parent image is "
            f"{parent.width}x{parent.height}; they must match",
            code="invalid_mask",
        )


async def store_mask(
    services: Services, caller: Caller, job: JobRequest, encoded: str, job_id: str
) -> Stored:
    """Check, decode and store an inpaint's mask (a 400 or 404 saying what is wrong). Its size
    is checked against the canvas limit (a mask is never larger than the canvas it repaints)
    and against the parent's before it is decoded."""
    raw = decode_base64(encoded, "mask must be a base64-encoded PNG", "invalid_mask")
    upload = open_upload(
        raw,
        max_pixels=services.settings.max_canvas_pixels,
        setting="OUTFRAME_MAX_CANVAS_PIXELS",
        what="mask",
        code="invalid_mask",
    )

    def parent_of() -> ParentInfo:
        with services.db.session() as session:
            return services.jobs.check_parent(session, caller, job)

    check_mask_size(upload.size, await run_in_threadpool(parent_of))
    async with services.decode_budget.hold(upload.pixels):
        data = await run_in_threadpool(_mask_png, upload)
    # Stored before the job exists (a worker may take the job the moment it is committed),
    # and outside the database's write lock; the caller discards it if no job comes of it.
    name = mask_name(job_id)
    await run_in_threadpool(services.storage.put, name, data)
    return Stored(name, upload.size, len(data))


def _mask_png(upload: Upload) -> bytes:
    try:
        mask = decode_mask(upload)
        if mask.getbbox() is None:
            raise BadRequest("mask has no white pixels: nothing to repaint", code="invalid_mask")
        return encode_mask_png(mask)
    finally:
        upload.image.close()  # (frees the decoded pixels now, not when the request ends)
        _give_back_memory()


async def store_import(services: Services, caller: Caller, raw: bytes, job_id: str) -> Stored:
    """Check, decode, re-encode and store an imported image."""
    settings = services.settings
    upload = open_upload(
        raw, max_pixels=settings.max_image_pixels, setting="OUTFRAME_MAX_IMAGE_PIXELS"
    )
    # A team already at its quota is refused before its image is decoded; the exact check,
    # with the stored size, is made in the job's own transaction.
    await services.db.read(
        lambda conn: quota.check(conn, caller.team_id, settings.import_quota_bytes)
    )
    async with services.decode_budget.hold(upload.pixels):
        data, extension = await run_in_threadpool(_reencode, upload)
    name = image_name(job_id, 1, extension)
    await run_in_threadpool(services.storage.put, name, data)
    return Stored(name, upload.size, len(data))


def _reencode(upload: Upload) -> tuple[bytes, str]:
    pixels = None
    try:
        pixels = decode_image(upload)
        return encode_upload(upload, pixels)
    finally:
        if pixels is not None:
            pixels.close()
        upload.image.close()
        _give_back_memory()
