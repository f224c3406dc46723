"""The outpaint contact sheet: one row per image and ratio, truth then each method's result."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

Image = NDArray[np.uint8]
THUMB = 256
LABEL = 22


def _tile(image: Image, text: str) -> Image:
    thumb = cv2.resize(image, (THUMB, THUMB), interpolation=cv2.INTER_AREA)
    tile = np.full((THUMB + LABEL, THUMB, 3), 255, np.uint8)
    tile[LABEL:] = thumb
    cv2.putText(tile, text, (4, LABEL - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1)
    return tile


def contact_sheet(rows: list[tuple[str, list[Image]]], labels: list[str], path: Path) -> None:
    """Write a PNG grid: each row is an image and ratio, the columns are labelled methods."""
    lines = []
    for title, images in rows:
        tiles = [_tile(img, f"{title}" if i == 0 else labels[i]) for i, img in enumerate(images)]
        gap = np.full((THUMB + LABEL, 4, 3), 255, np.uint8)
        line = np.concatenate([t for tile in tiles for t in (tile, gap)], axis=1)
        lines.append(line)
    width = max(line.shape[1] for line in lines)
    padded = [np.pad(ln, ((0, 4), (0, width - ln.shape[1]), (0, 0)), constant_values=255)
              for ln in lines]  # fmt: skip
    sheet = np.concatenate(padded, axis=0)
    cv2.imwrite(str(path), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
