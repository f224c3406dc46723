"""Image decoding and encoding. Untrusted uploads take one path: `open_upload` reads the header
and refuses what is too large before any pixel is decoded; `decode_image`/`decode_mask` then
decode to 8 bits per channel, scaling deeper images rather than clipping them."""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image, UnidentifiedImageError

from outframe.services.errors import BadRequest

RGB = NDArray[np.uint8]  # H x W x 3, RGB order

# Fast PNG settings: our images are stored once and served many times, but encoding time sits
# on the critical path of every job; level 1 is ~5x faster than the default for ~15% more bytes.
_PNG_PARAMS = [cv2.IMWRITE_PNG_COMPRESSION, 1]
# What uploads may be: the formats clients send, not every codec PIL happens to have.
FORMATS = ("PNG", "JPEG", "WEBP", "TIFF", "BMP", "GIF")
# PIL modes of more than 8 bits per sample, as 16-bit PNG and TIFF and float TIFF open.
_DEEP_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")
_ROWS_AT_ONCE = 512  # deep images are scaled in strips, so the wide temporaries stay small
# What PIL reports for data it cannot decode, at open or when the pixels are read.
_UNREADABLE = (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError)


@dataclass(frozen=True)
class Upload:
    """An upload whose header was read and checked; no pixel is decoded yet."""

    image: Image.Image
    what: str  # "image" or "mask", for messages
    code: str  # the error code of a decode that fails

    @property
    def size(self) -> tuple[int, int]:
        return self.image.size

    @property
    def pixels(self) -> int:
        return self.image.size[0] * self.image.size[1]


@contextmanager
def _readable(code: str, problem: str, too_large: BadRequest) -> Iterator[None]:
    """PIL's errors for data that is not an image it can read, as a 400 saying `problem`;
    PIL's own bomb check (met before ours only where an operator set ours higher) as
    `too_large`."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise too_large from exc
    except _UNREADABLE as exc:
        raise BadRequest(problem, code=code) from exc


def open_upload(
    data: bytes, *, max_pixels: int, setting: str, what: str = "image", code: str = "invalid_image"
) -> Upload:
    """Read an upload's header: a 400 for what is not an image of an accepted format, or one of
    more than `max_pixels` (the limit `setting` configures), before a pixel is decoded."""
    problem = (
        "mask must be a base64-encoded PNG"
        if what == "mask"
        else "the upload is not an image that can be read (PNG, JPEG or WebP expected)"
    )
    if not data:
        raise BadRequest(f"the {what} is empty", code=code)
    too_large_code = "image_too_large" if what == "image" else code
    limit = f"at most {max_pixels} pixels are accepted ({setting})"
    bomb = BadRequest(f"the {what} is too large: {limit}", code=too_large_code)
    with _readable(code, problem, bomb):
        img = Image.open(io.BytesIO(data), formats=FORMATS)  # reads the header only
    width, height = img.size
    if width * height > max_pixels:
        raise BadRequest(f"the {what} is {width}x{height} pixels; {limit}", code=too_large_code)
    return Upload(img, what, code)


def _bomb(upload: Upload) -> BadRequest:
    return BadRequest(f"the {upload.what} is too large", code=upload.code)


def _eight_bit(img: Image.Image) -> Image.Image:
    """A deep single-channel image (16-bit, 32-bit or float) as 8-bit L, scaled: 16-bit ranges
    are divided by 257 (65535 -> 255); float images are taken as 0..1, or their own range if
    they pass it. PIL's own convert would clip everything above 255 to white."""
    if img.mode not in _DEEP_MODES:
        return img
    deep = np.asarray(img)
    if img.mode == "F":
        low, high = float(np.nanmin(deep)), float(np.nanmax(deep))
        if low >= 0 and high <= 1:
            low, high = 0.0, 1.0
    elif img.mode == "I":
        low, high = 0.0, max(65535.0, float(deep.max()))
    else:
        low, high = 0.0, 65535.0
    span = (high - low) or 1.0
    out = np.empty(deep.shape, np.uint8)
    for top in range(0, deep.shape[0], _ROWS_AT_ONCE):
        strip = deep[top : top + _ROWS_AT_ONCE].astype(np.float32)
        strip = np.nan_to_num(strip, nan=low)
        out[top : top + _ROWS_AT_ONCE] = np.clip(
            np.rint((strip - low) * (255.0 / span)), 0, 255
        ).astype(np.uint8)
    return Image.fromarray(out, "L")


def decode_image(upload: Upload) -> Image.Image:
    """The upload's pixels at 8 bits per channel: RGB, or L for a grey image (stored so, it
    takes a third of the bytes). Transparent areas are composited over white. Held as a PIL
    image, which decodes into one buffer, never widened."""
    with _readable(upload.code, "the image could not be decoded (cut short?)", _bomb(upload)):
        img = upload.image
        img.load()
    img = _eight_bit(img)
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        rgba = img if img.mode == "RGBA" else img.convert("RGBA")
        out = Image.new("RGB", rgba.size, (255, 255, 255))
        out.paste(rgba, (0, 0), rgba)  # (the alpha band as the paste mask: over white)
        return out
    return img if img.mode in ("RGB", "L") else img.convert("RGB")


def decode_mask(upload: Upload) -> Image.Image:
    """A repaint mask as 8-bit L of 0 and 255 (255 = repaint: the pixel was light)."""
    with _readable(upload.code, "mask must be a base64-encoded PNG", _bomb(upload)):
        img = upload.image
        img.load()
    grey = _eight_bit(img)
    if grey.mode != "L":
        grey = grey.convert("L")
    return grey.point([0] * 128 + [255] * 128)


def encode_upload(upload: Upload, pixels: Image.Image) -> tuple[bytes, str]:
    """How an import is stored, no larger than it needs to be: a JPEG as a JPEG with its own
    quantisation tables (about its own size; PNG would be up to 10 times that), anything else
    as PNG. Metadata is not kept (it may say where a photo was taken). Returns the bytes and
    the file extension."""
    source = upload.image
    buf = io.BytesIO()
    if source.format == "JPEG" and source.mode in ("L", "RGB"):
        source.save(buf, format="JPEG", quality="keep", subsampling="keep")
        return buf.getvalue(), "jpg"
    pixels.save(buf, format="PNG", compress_level=6)
    return buf.getvalue(), "png"


def encode_mask_png(mask: Image.Image) -> bytes:
    buf = io.BytesIO()
    mask.save(buf, format="PNG", compress_level=6)
    return buf.getvalue()


def encode_png(image: RGB) -> bytes:
    ok, buf = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), _PNG_PARAMS)
    if not ok:
        raise RuntimeError("PNG encoding failed")
    return buf.tobytes()


def decode_png(data: bytes) -> RGB:
    """Decode one of our own stored images (PNG, or an imported JPEG)."""
    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if arr is None:
        raise ValueError("stored image could not be decoded")
    return np.asarray(cv2.cvtColor(arr, cv2.COLOR_BGR2RGB), dtype=np.uint8)


def decode_stored_mask(data: bytes) -> NDArray[np.bool_]:
    """One of our own stored masks: True where the pixel is to be repainted."""
    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    if arr is None:
        raise ValueError("stored mask could not be decoded")
    return np.asarray(arr >= 128)
