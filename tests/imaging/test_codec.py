from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from outframe.imaging.codec import (
    decode_image,
    decode_mask,
    decode_png,
    decode_stored_mask,
    encode_mask_png,
    encode_png,
    encode_upload,
    open_upload,
)
from outframe.services.errors import BadRequest
from tests.conftest import png_bytes


def _open(data: bytes, max_pixels: int = 10_000, **kwargs: str):  # type: ignore[no-untyped-def]
    return open_upload(data, max_pixels=max_pixels, setting="OUTFRAME_MAX_IMAGE_PIXELS", **kwargs)


def _decoded(data: bytes) -> np.ndarray:  # type: ignore[type-arg]
    return np.asarray(decode_image(_open(data, max_pixels=10**8)))


def test_png_round_trip() -> None:
    image = np.random.default_rng(0).integers(0, 256, (17, 23, 3), dtype=np.uint8)
    assert np.array_equal(decode_png(encode_png(image)), image)


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "P", "LA", "I;16", "CMYK"])
def test_upload_modes_become_8_bit(mode: str) -> None:
    img = Image.new("RGB", (9, 5), (10, 200, 30)).convert(mode)
    buf = io.BytesIO()
    img.save(buf, format="TIFF" if mode in ("I;16", "CMYK") else "PNG")
    out = decode_image(_open(buf.getvalue()))
    assert out.mode in ("RGB", "L") and out.size == (9, 5)


def test_transparency_is_composited_over_white() -> None:
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[:2, :, 3] = 255  # top half opaque red-ish, bottom half fully transparent
    out = _decoded(png_bytes(Image.fromarray(rgba, "RGBA")))
    assert out[0, 0].tolist() == [200, 0, 0] and out[3, 3].tolist() == [255, 255, 255]


def test_a_16_bit_gradient_keeps_its_ramp() -> None:
    """A 16-bit ramp is scaled to 8 bits (65535 -> 255), not clipped to white above 255."""
    ramp = np.tile(np.linspace(0, 65535, 1024).astype(np.uint16), (8, 1))
    expected = ramp.astype(float) / 257
    for fmt in ("PNG", "TIFF"):
        buf = io.BytesIO()
        Image.fromarray(ramp).save(buf, format=fmt)
        out = _decoded(buf.getvalue()).astype(float)
        assert out.shape == ramp.shape, fmt
        assert np.abs(out - expected).max() <= 1, fmt
        assert (out >= 254.5).mean() < 0.01, fmt


def test_a_float_image_is_scaled_from_0_to_1() -> None:
    ramp = np.tile(np.linspace(0, 1, 256, dtype=np.float32), (4, 1))
    buf = io.BytesIO()
    Image.fromarray(ramp, "F").save(buf, format="TIFF")
    out = _decoded(buf.getvalue()).astype(float)
    assert np.abs(out - ramp * 255).max() <= 1


def test_jpeg_is_kept_as_jpeg_at_its_own_size() -> None:
    noise = np.random.default_rng(1).integers(0, 256, (256, 256, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(noise).save(buf, format="JPEG", quality=80)
    upload = _open(buf.getvalue(), max_pixels=10**6)
    data, extension = encode_upload(upload, decode_image(upload))
    assert extension == "jpg" and len(data) <= 1.05 * len(buf.getvalue())
    assert decode_png(data).shape == (256, 256, 3)  # the workers' decoder reads it


def test_png_is_stored_as_png_grey_as_grey() -> None:
    grey = np.tile(np.arange(256, dtype=np.uint8), (16, 1))
    upload = _open(png_bytes(grey))
    data, extension = encode_upload(upload, decode_image(upload))
    assert extension == "png" and Image.open(io.BytesIO(data)).mode == "L"
    assert np.array_equal(decode_png(data)[..., 0], grey)


@pytest.mark.parametrize("data", [b"", b"GIF89a nonsense", b"\x89PNG\r\n\x1a\n" + b"\0" * 40])
def test_not_images(data: bytes) -> None:
    with pytest.raises(BadRequest):
        decode_image(_open(data))


def test_a_format_not_accepted_is_refused_at_open() -> None:
    buf = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buf, format="ICO")
    with pytest.raises(BadRequest, match="not an image"):
        _open(buf.getvalue())


def test_too_many_pixels_refused_before_decoding() -> None:
    with pytest.raises(BadRequest, match="OUTFRAME_MAX_IMAGE_PIXELS") as err:
        _open(png_bytes(np.zeros((100, 100, 3), np.uint8)), max_pixels=9_999)
    assert err.value.code == "image_too_large"


def test_mask_white_means_repaint() -> None:
    mask = np.zeros((4, 4), np.uint8)
    mask[0, 0] = 255
    decoded = decode_mask(_open(png_bytes(mask), what="mask", code="invalid_mask"))
    assert decoded.mode == "L"
    repaint = decode_stored_mask(encode_mask_png(decoded))
    assert repaint[0, 0] and repaint.sum() == 1
    with pytest.raises(BadRequest) as err:
        _open(b"nope", what="mask", code="invalid_mask")
    assert err.value.code == "invalid_mask"
