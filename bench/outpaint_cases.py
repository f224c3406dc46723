"""Outpaint bench inputs and baselines: skimage photos, zoom-out canvases, weight-free fills."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray
from skimage import data

Image = NDArray[np.uint8]
Mask = NDArray[np.bool_]

OPENCV_SAMPLES = Path("/usr/share/doc/opencv-doc/examples/data")  # Debian's opencv-doc


def _read(path: Path) -> Callable[[], Image | None]:
    def load() -> Image | None:
        if not path.is_file():
            return None
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        return None if bgr is None else np.asarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))

    return load


def _matplotlib_sample(name: str) -> Callable[[], Image | None]:
    def load() -> Image | None:
        try:
            import matplotlib
        except ImportError:
            return None
        return _read(Path(matplotlib.get_data_path()) / "sample_data" / name)()

    return load


# Real photographs: the RGB ones skimage ships (colorwheel and logo are drawings; cat is
# chelsea), a portrait in matplotlib's wheel (the [bench] extra) and the photos among OpenCV's
# samples in Debian's opencv-doc package (apt-get install opencv-doc). The first eight were the
# engine's tuning set; the others were added to judge it on photos it was not tuned on.
PHOTOS: dict[str, Callable[[], Image | None]] = {
    "astronaut": data.astronaut,
    "chelsea": data.chelsea,
    "coffee": data.coffee,
    "rocket": data.rocket,
    "motorcycle": lambda: data.stereo_motorcycle()[0],
    "hubble": data.hubble_deep_field,
    "ihc": data.immunohistochemistry,
    "retina": data.retina,
    "hopper": _matplotlib_sample("grace_hopper.jpg"),  # portrait
    "messi": _read(OPENCV_SAMPLES / "messi5.jpg"),  # a footballer on a pitch
    "baboon": _read(OPENCV_SAMPLES / "baboon.jpg"),  # animal close-up
    "fruits": _read(OPENCV_SAMPLES / "fruits.jpg"),  # close-up
    "butterfly": _read(OPENCV_SAMPLES / "butterfly.jpg"),  # close-up, flower
    "building": _read(OPENCV_SAMPLES / "building.jpg"),  # scenery, straight lines
    "orange": _read(OPENCV_SAMPLES / "orange.jpg"),  # close-up
}
QUICK = ["astronaut", "chelsea", "coffee"]
CHAIN = ["hopper", "building", "chelsea"]


def available(names: list[str]) -> tuple[list[str], list[str]]:
    """The names whose photo can be loaded here, and the missing ones."""
    found = [n for n in names if PHOTOS[n]() is not None]
    return found, [n for n in names if n not in found]


def truth(name: str, size: int) -> Image:
    """The photo, centre-cropped square and resized to size x size."""
    photo = PHOTOS[name]()
    if photo is None:
        raise LookupError(f"photo {name!r} is not installed here")
    img = np.ascontiguousarray(photo[..., :3])
    h, w = img.shape[:2]
    side = min(h, w)
    y0, x0 = (h - side) // 2, (w - side) // 2
    square = img[y0 : y0 + side, x0 : x0 + side]
    interp = cv2.INTER_AREA if side > size else cv2.INTER_CUBIC
    return np.ascontiguousarray(cv2.resize(square, (size, size), interpolation=interp))


def zoom_canvas(image: Image, ratio: float) -> tuple[Image, Mask, tuple[int, int, int, int]]:
    """The truth's centre crop of side size/ratio on an empty canvas of the truth's size."""
    size = image.shape[0]
    inner = round(size / ratio)
    o = (size - inner) // 2
    canvas = np.zeros_like(image)
    keep = np.zeros(image.shape[:2], bool)
    canvas[o : o + inner, o : o + inner] = image[o : o + inner, o : o + inner]
    keep[o : o + inner, o : o + inner] = True
    return canvas, keep, (o, o, inner, inner)


def _pad(canvas: Image, box: tuple[int, int, int, int], mode: int) -> Image:
    y0, x0, h, w = box
    crop = canvas[y0 : y0 + h, x0 : x0 + w]
    bottom = canvas.shape[0] - y0 - h
    right = canvas.shape[1] - x0 - w
    return np.asarray(cv2.copyMakeBorder(crop, y0, bottom, x0, right, mode), np.uint8)


def replicate(canvas: Image, keep: Mask, box: tuple[int, int, int, int]) -> Image:
    return _pad(canvas, box, cv2.BORDER_REPLICATE)


def reflect(canvas: Image, keep: Mask, box: tuple[int, int, int, int]) -> Image:
    return _pad(canvas, box, cv2.BORDER_REFLECT_101)


def telea(canvas: Image, keep: Mask, box: tuple[int, int, int, int]) -> Image:
    hole = (~keep).astype(np.uint8)
    return np.asarray(cv2.inpaint(canvas, hole, 3, cv2.INPAINT_TELEA), np.uint8)


def patchmatch_fill() -> Callable[[Image, Mask, tuple[int, int, int, int]], Image] | None:
    """pypatchmatch with InvokeAI's patch_size=3, or None where it is not installed."""
    try:
        from patchmatch import patch_match  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    if not patch_match.patchmatch_available:
        return None

    def fill(canvas: Image, keep: Mask, box: tuple[int, int, int, int]) -> Image:
        patch_match.set_random_seed(1)
        hole = (~keep).astype(np.uint8) * 255
        return np.asarray(patch_match.inpaint(canvas, hole, patch_size=3), np.uint8)

    return fill
