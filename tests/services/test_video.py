"""A zoom video's price: by the pixels it renders and encodes."""

from __future__ import annotations

from outframe.services.video import price


def test_price_is_one_credit_per_twelve_frames_of_1024() -> None:
    assert price({"frames": 180, "width": 1024, "height": 1024}) == 15  # 6 s at 30 fps
    assert price({"frames": 12, "width": 1024, "height": 1024}) == 1
    assert price({"frames": 13, "width": 1024, "height": 1024}) == 2
    assert price({"frames": 180, "width": 1920, "height": 1080}) == 30  # about twice the pixels
    assert price({"frames": 2, "width": 64, "height": 64}) == 1  # at least one
