"""Image decoding and encoding: untrusted uploads are checked before any pixel is decoded."""

from __future__ import annotations

import io
import warnings

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image, UnidentifiedImageError

from outframe.services.errors import BadRequest

RGB = NDArray[np.uint8]  # H x W x 3, RGB order

# Fast PNG settings: our images are stored once and served many times, but encoding time sits
# on the critical path of every job; level 1 is ~5x faster than the default for ~15% more bytes.
_PNG_PARAMS = [cv2.IMWRITE_PNG_COMPRESSION, 1]


def _load(data: bytes, *, max_pixels: int, name: str, code: str) -> Image.Image:
    """Decode an upload, refusing one of more than `max_pixels` (a decompression bomb too) with a
    400 before its pixels are read; PIL's own errors for what is not an image pass through."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))  # reads the header only
            width, height = img.size
            if width * height > max_pixels:
                raise BadRequest(
                    f"the {name} is {width}x{height} pixels; at most {max_pixels} pixels are "
                    "accepted",
                    code=code,
                )
            img.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # (PIL's own limit, met before ours when it is the lower one)
        raise BadRequest(
            f"the {name} is too large: at most {max_pixels} pixels are accepted", code=code
        ) from exc
    return img


def decode_upload(data: bytes, *, max_pixels: int) -> RGB:
    """Decode an uploaded image to RGB, refusing non-images and decompression bombs with a 400."""
    if not data:
        raise BadRequest("the image is empty", code="invalid_image")
    try:
        img = _load(data, max_pixels=max_pixels, name="image", code="image_too_large")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise BadRequest(
            "the upload is not an image that can be read (PNG, JPEG or WebP expected)",
            code="invalid_image",
        ) from exc
    return to_rgb(img)


def to_rgb(img: Image.Image) -> RGB:
    """RGB pixels of any PIL image; transparent areas are composited over white."""
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(white, rgba)
    return np.ascontiguousarray(np.asarray(img.convert("RGB"), dtype=np.uint8))


def decode_mask(data: bytes, *, max_pixels: int) -> NDArray[np.bool_]:
    """A repaint mask: True where the pixel is to be repainted (white)."""
    try:
        img = _load(data, max_pixels=max_pixels, name="mask", code="invalid_mask")
        grey = np.asarray(img.convert("L"))
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise BadRequest("mask must be a base64-encoded PNG", code="invalid_mask") from exc
    return grey >= 128


def encode_png(image: RGB) -> bytes:
    ok, buf = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), _PNG_PARAMS)
    if not ok:
        raise RuntimeError("PNG encoding failed")
    return buf.tobytes()


def decode_png(data: bytes) -> RGB:
    """Decode one of our own stored images."""
    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if arr is None:
        raise ValueError("stored image could not be decoded")
    return np.asarray(cv2.cvtColor(arr, cv2.COLOR_BGR2RGB), dtype=np.uint8)
