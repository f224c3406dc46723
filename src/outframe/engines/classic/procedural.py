"""Procedural landscapes: real, varied pictures made from a seed, with no model and no network.

The classic engine does not understand prompts; the prompt only picks the palette family, so the
same prompt gives related pictures and different seeds give different ones.
"""

from __future__ import annotations

import hashlib

import numpy as np

from outframe.engines.classic.noise import fbm, fbm_1d
from outframe.imaging.codec import RGB

# (sky top, sky horizon, far mountains, near land, water) per palette family.
_PALETTES = [
    ((40, 90, 170), (190, 215, 240), (95, 120, 150), (60, 95, 55), (50, 100, 140)),  # day
    ((30, 20, 70), (250, 150, 90), (110, 70, 100), (60, 40, 50), (120, 70, 80)),  # sunset
    ((10, 15, 40), (60, 70, 120), (40, 45, 80), (20, 25, 35), (30, 40, 70)),  # night
    ((120, 160, 200), (230, 235, 240), (170, 180, 195), (225, 230, 235), (140, 170, 190)),  # snow
    ((150, 110, 60), (240, 200, 140), (180, 120, 80), (200, 150, 90), (90, 120, 120)),  # desert
]


def prompt_palette(prompt: str) -> int:
    return int.from_bytes(hashlib.sha256(prompt.encode()).digest()[:4], "big") % len(_PALETTES)


def landscape(prompt: str, width: int, height: int, seed: int) -> RGB:
    """A sky, a sun or moon, layered ridges with aerial perspective, and water or land below."""
    rng = np.random.default_rng(seed)
    sky_top, horizon_col, far_col, near_col, water_col = (
        np.array(c, np.float32) for c in _PALETTES[prompt_palette(prompt)]
    )
    jitter = rng.normal(0, 12, size=3).astype(np.float32)
    ys = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    horizon = rng.uniform(0.45, 0.7)

    # Sky: gradient towards the horizon, with clouds.
    t = np.clip(ys / horizon, 0, 1) ** 1.5
    img = sky_top * (1 - t) + horizon_col * t + jitter
    img = np.broadcast_to(img, (height, width, 3)).copy()
    clouds = np.clip(fbm(rng, height, width, base_cells=3, octaves=6) * 1.6 + 0.1, 0, 1)
    cloud_col = np.minimum(horizon_col + 40, 255)
    img = img * (1 - 0.55 * clouds[..., None]) + cloud_col * 0.55 * clouds[..., None]

    # Sun or moon: a soft disc with a glow.
    cx, cy = rng.uniform(0.15, 0.85) * width, rng.uniform(0.1, horizon * 0.7) * height
    radius = rng.uniform(0.03, 0.07) * max(width, height)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    dist = np.hypot(xx - cx, yy - cy)
    disc = np.clip((radius - dist) / 2.0, 0, 1)[..., None]
    glow = np.exp(-dist / (radius * 3))[..., None] * 0.35
    img = img * (1 - disc) + 250 * disc + glow * 60

    # Ridges, far to near: each nearer layer is darker, more textured and lower.
    layers = int(rng.integers(2, 5))
    for i in range(layers):
        depth = i / max(1, layers - 1)
        base = horizon - 0.22 + 0.2 * depth + rng.uniform(-0.04, 0.04)
        ridge = base + fbm_1d(rng, width, base_cells=2 + i, octaves=7) * (0.16 - 0.05 * depth)
        ridge_px = (ridge * height)[None, :]
        inside = np.clip(yy - ridge_px + 1.0, 0, 1)[..., None]
        colour = far_col * (1 - depth) + near_col * depth
        haze = (1 - depth) * 0.45
        colour = colour * (1 - haze) + horizon_col * haze
        texture = fbm(rng, height, width, base_cells=16, octaves=4)[..., None]
        shade = np.clip((yy - ridge_px) / (0.3 * height), 0, 1)[..., None]
        layer = colour * (1 + 0.18 * texture * (0.4 + depth)) * (1 - 0.25 * shade * depth)
        img = img * (1 - inside) + layer * inside

    # Water or meadow below the horizon line.
    if rng.random() < 0.5:
        shore = horizon + 0.12 + fbm_1d(rng, width, base_cells=2) * 0.03
        below = np.clip(yy - (shore * height)[None, :], 0, 1)[..., None]
        ripples = fbm(rng, height, width, base_cells=4, octaves=5)
        reflection = np.flipud(img) * 0.5 + water_col * 0.5
        water = reflection * (1 + 0.12 * ripples[..., None])
        img = img * (1 - below) + water * below
    out: RGB = np.clip(img, 0, 255).astype(np.uint8)
    return out
