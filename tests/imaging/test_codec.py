from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from outframe.imaging.codec import decode_mask, decode_png, decode_upload, encode_png
from outframe.services.errors import BadRequest
from tests.conftest import png_bytes


def test_png_round_trip() -> None:
    image = np.random.default_rng(0).integers(0, 256, (17, 23, 3), dtype=np.uint8)
    assert np.array_equal(decode_png(encode_png(image)), image)


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "P", "LA", "I;16", "CMYK"])
def test_upload_modes_become_rgb(mode: str) -> None:
    img = Image.new("RGB", (9, 5), (10, 200, 30)).convert(mode)
    buf = io.BytesIO()
    img.save(buf, format="TIFF" if mode in ("I;16", "CMYK") else "PNG")
    out = decode_upload(buf.getvalue(), max_pixels=1000)
    assert out.shape == (5, 9, 3) and out.dtype == np.uint8


def test_jpeg_upload() -> None:
    buf = io.BytesIO()
    Image.new("RGB", (32, 16), (255, 0, 0)).save(buf, format="JPEG")
    assert decode_upload(buf.getvalue(), max_pixels=10_000).shape == (16, 32, 3)


@pytest.mark.parametrize("data", [b"", b"GIF89a nonsense", b"\x89PNG\r\n\x1a\n" + b"\0" * 40])
def test_not_images(data: bytes) -> None:
    with pytest.raises(BadRequest):
        decode_upload(data, max_pixels=10_000)


def test_too_many_pixels_refused_before_decoding() -> None:
    with pytest.raises(BadRequest, match="pixels"):
        decode_upload(png_bytes(np.zeros((100, 100, 3), np.uint8)), max_pixels=9_999)


def test_mask_white_means_repaint() -> None:
    mask = np.zeros((4, 4), np.uint8)
    mask[0, 0] = 255
    decoded = decode_mask(png_bytes(mask), max_pixels=100)
    assert decoded[0, 0] and decoded.sum() == 1
    with pytest.raises(BadRequest):
        decode_mask(b"nope", max_pixels=100)
