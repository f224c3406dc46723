"""The classic engine: exact kept pixels, distinct seeded candidates, awkward inputs, and a
quality check against edge replication on a real photo."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from bench.outpaint_cases import replicate, truth, zoom_canvas
from bench.outpaint_metrics import diversity, lowfreq_psnr, swd

from outframe.engines.classic import ClassicEngine
from outframe.engines.classic.blend import blend_pieces
from outframe.engines.classic.guide import stretch_guide
from outframe.engines.classic.synth import FACE_DEPTH, SUBJECT_DEPTH, WAVE, synthesize
from outframe.engines.classic.texture import subject_weight
from outframe.imaging.canvas import PAN_DIRECTIONS, Canvas, pan, repaint, zoom_out

ENGINE = ClassicEngine()


def noop(_: float) -> None:
    pass


def photo(height: int = 64, width: int = 64) -> np.ndarray:  # type: ignore[type-arg]
    return ENGINE.generate("a photo", width, height, [7], noop)[0]


def grey_texture(side: int, seed: int, mean: float, amplitude: float, blur: float) -> np.ndarray:  # type: ignore[type-arg]
    """A seeded square of blurred noise, grey in three channels (8-bit)."""
    rng = np.random.default_rng(seed)
    noise = cv2.GaussianBlur(rng.normal(0, 1, (side, side)).astype(np.float32), (0, 0), blur)
    grey = np.clip(mean + amplitude * noise / noise.std(), 0, 255).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=2)


def test_generate_is_seeded_and_varied() -> None:
    a = ENGINE.generate("a lake", 96, 64, [1, 2, 3, 4], noop)
    b = ENGINE.generate("a lake", 96, 64, [1, 2, 3, 4], noop)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert all(img.shape == (64, 96, 3) for img in a)
    assert len({img.tobytes() for img in a}) == 4
    assert min(float(img.std()) for img in a) > 10  # a picture, not a flat colour


@pytest.mark.parametrize(
    ("shape", "ratio"),
    [((64, 64), 2), ((47, 81), 1.5), ((16, 16), 2), ((33, 17), 1.2), ((81, 47), 1.33)],
)
def test_fill_keeps_pixels_and_differs_by_seed(shape: tuple[int, int], ratio: float) -> None:
    canvas = zoom_out(photo(*shape), ratio)
    out = ENGINE.fill(canvas, "", [1, 2, 3, 4], noop)
    assert all(img.shape == (*shape, 3) for img in out)
    for img in out:
        assert np.array_equal(img[canvas.keep], canvas.pixels[canvas.keep])
    new = ~canvas.keep
    diffs = [np.abs(out[0][new].astype(int) - img[new].astype(int)).mean() for img in out[1:]]
    assert min(diffs) > 1
    again = ENGINE.fill(canvas, "", [1, 2, 3, 4], noop)
    assert all(np.array_equal(x, y) for x, y in zip(out, again, strict=True))


def test_fill_grey_input_and_pan_and_inpaint() -> None:
    grey = np.repeat(np.linspace(0, 255, 40, dtype=np.uint8)[None, :, None], 30, 0).repeat(3, 2)
    out = ENGINE.fill(pan(grey, "up"), "", [5], noop)[0]
    assert out.shape == (45, 40, 3)
    mask = np.zeros((30, 40), bool)
    mask[10:20, 10:30] = True
    canvas = repaint(photo(30, 40), mask)
    filled = ENGINE.fill(canvas, "", [9], noop)[0]
    assert np.array_equal(filled[~mask], canvas.pixels[~mask])


def test_vary_keeps_composition() -> None:
    """Variations keep the layout (high low-frequency PSNR against the input), differ by seed,
    and are the same for the same seed."""
    image = truth("chelsea", 128)
    out = ENGINE.vary(image, "", [1, 2, 3, 4], noop)
    again = ENGINE.vary(image, "", [1, 2, 3, 4], noop)
    assert all(np.array_equal(x, y) for x, y in zip(out, again, strict=True))
    everywhere = np.ones(image.shape[:2], bool)
    assert diversity(out, everywhere) > 2
    for img in out:
        assert img.shape == image.shape and img.dtype == np.uint8
        assert lowfreq_psnr(img, image, everywhere, factor=8) > 24


def test_vary_odd_inputs() -> None:
    for image in (photo(17, 29), photo(16, 16), np.full((9, 5, 3), 77, np.uint8)):
        out = ENGINE.vary(image, "", [1, 2], noop)
        assert all(img.shape == image.shape for img in out)
    grey = np.full((20, 24, 3), 120, np.uint8)
    for img in ENGINE.vary(grey, "", [3], noop):
        assert np.abs(img.astype(int) - 120).max() <= 16  # only the seeded colour drift


def test_blend_keeps_texture_contrast() -> None:
    """Two unrelated noise textures cross-faded over a wide zone keep their contrast there (a
    plain cross-fade would lose about 30% of it in the middle)."""
    rng = np.random.default_rng(0)
    source = (128 + 30 * rng.standard_normal((64, 128, 3))).astype(np.float32)
    flat = np.arange(64 * 128).reshape(64, 128)
    left, right = flat[:, :32].ravel(), flat[:, 32:64].ravel()
    # The right piece reads 64 columns further on: noise unrelated to the left piece's.
    shifts = np.array([[0, 0], [0, 64]])
    readable = np.ones((64, 128), bool)
    offsets = np.zeros((2, 3), np.float32)
    blended = blend_pieces(source, readable, [left, right], shifts, offsets, 6.0)
    assert blended.reached[:, :64].all()
    middle = blended.image[8:-8, 28:36]
    assert middle.std() > 0.85 * 30
    assert abs(float(middle.mean()) - 128) < 3


def test_progress_reaches_one() -> None:
    seen: list[float] = []
    ENGINE.fill(zoom_out(photo(), 2), "", [1, 2], seen.append)
    assert seen[-1] == 1.0 and seen == sorted(seen)


@pytest.mark.parametrize("direction", PAN_DIRECTIONS)
def test_pan_keeps_pixels_and_differs_by_seed(direction: str) -> None:
    canvas = pan(photo(40, 56), direction)
    out = ENGINE.fill(canvas, "", [1, 2], noop)
    new = ~canvas.keep
    for img in out:
        assert img.shape == (*canvas.keep.shape, 3)
        assert np.array_equal(img[canvas.keep], canvas.pixels[canvas.keep])
    assert np.abs(out[0][new].astype(int) - out[1][new].astype(int)).mean() > 1


def test_inpaint_interior_hole_matches_its_surroundings() -> None:
    image = photo(80, 96)
    mask = np.zeros((80, 96), bool)
    mask[30:45, 40:60] = True
    canvas = repaint(image, mask)
    for img in ENGINE.fill(canvas, "", [3, 4], noop):
        assert np.array_equal(img[~mask], image[~mask])
        ring = np.zeros_like(mask)
        ring[25:50, 35:65] = True
        ring &= ~mask
        # The hole's colour follows the pixels around it, not some unrelated colour.
        assert np.abs(img[mask].mean(0) - image[ring].mean(0)).max() < 25


def test_flat_grey_stays_flat() -> None:
    grey = np.full((37, 53, 3), 120, np.uint8)
    for canvas in (zoom_out(grey, 2), pan(grey, "left"), repaint(grey, grey[..., 0] > 0)):
        out = ENGINE.fill(canvas, "", [1, 2], noop)
        for img in out:
            assert np.array_equal(img[canvas.keep], canvas.pixels[canvas.keep])
        if canvas.keep.any():
            assert all(np.abs(img.astype(int) - 120).max() <= 1 for img in out)
        else:  # nothing kept: still an image per seed, and the seeds differ
            assert not np.array_equal(out[0], out[1])


def test_single_kept_pixel() -> None:
    keep = np.zeros((20, 30), bool)
    keep[7, 11] = True
    pixels = np.zeros((20, 30, 3), np.uint8)
    pixels[7, 11] = (200, 40, 10)
    out = ENGINE.fill(Canvas(pixels, keep), "", [1], noop)[0]
    assert out.shape == (20, 30, 3)
    assert tuple(out[7, 11]) == (200, 40, 10)


def test_fill_is_deterministic_per_seed_whatever_the_batch() -> None:
    canvas = zoom_out(photo(48, 72), 1.5)
    alone = ENGINE.fill(canvas, "", [11], noop)[0]
    batch = ENGINE.fill(canvas, "", [10, 11, 12], noop)
    assert np.array_equal(alone, batch[1])


def test_progress_can_abort() -> None:
    class Abort(Exception):
        pass

    def stop(_: float) -> None:
        raise Abort

    with pytest.raises(Abort):
        ENGINE.fill(zoom_out(photo(), 2), "", [1, 2], stop)


@pytest.mark.parametrize(("name", "size", "margin"), [("coffee", 384, 0.8), ("chelsea", 384, 1.0)])
def test_zoom_out_beats_edge_replication_on_a_photo(name: str, size: int, margin: float) -> None:
    """On a real photo, every candidate's new area is closer to the truth than edge replication
    in patch statistics (SWD) and in layout (low-frequency PSNR)."""
    real = truth(name, size)
    pixels, keep, box = zoom_canvas(real, 2)
    new = ~keep
    base = replicate(pixels, keep, box)
    for img in ENGINE.fill(Canvas(pixels, keep), "", [1, 2, 3, 4], noop):
        assert swd(img, real, new) < margin * swd(base, real, new)
        assert lowfreq_psnr(img, real, new) > lowfreq_psnr(base, real, new)


def test_subject_weight_tells_texture_from_subject() -> None:
    """A stationary texture needs no guard against repeating a subject; a cat's face does."""
    rng = np.random.default_rng(0)
    grain = cv2.GaussianBlur(rng.normal(128, 40, (160, 160, 3)).astype(np.float32), (0, 0), 1.5)
    texture = np.clip(grain, 0, 255).astype(np.uint8)
    keep = np.ones((160, 160), bool)
    assert subject_weight(texture, keep) == 0.0
    assert subject_weight(truth("chelsea", 160), keep) == 1.0
    hole = keep.copy()
    hole[60:90, 60:90] = False  # an interior hole: no verdict, the guards stay on
    assert subject_weight(texture, hole) == 1.0


def test_a_subject_on_a_plain_background_does_not_reappear() -> None:
    """A bright disc in the middle of a textured grey background: the new area is made of the
    background, with nothing of the disc's colour (the subject is not cloned)."""
    image = grey_texture(192, seed=5, mean=100, amplitude=12, blur=1.5)
    cv2.circle(image, (96, 96), 34, (230, 40, 40), -1)
    canvas = zoom_out(image, 2)
    for out in ENGINE.fill(canvas, "", [1, 2, 3, 4], noop):
        new = out[~canvas.keep].astype(int)
        red = (new[:, 0] > 170) & (new[:, 1] < 90)
        assert red.mean() < 0.001


def test_stripes_continue_straight_across_the_border() -> None:
    """Vertical stripes leave the kept image through its top and bottom edges: above and below
    it they go on in line, for every seed."""
    x = np.arange(160)
    row = np.where((x // 10) % 2 == 0, 200, 60).astype(np.uint8)
    image = np.repeat(np.repeat(row[None, :, None], 160, 0), 3, 2)
    canvas = zoom_out(image, 2)
    ys, xs = np.nonzero(canvas.keep)
    top, bottom = ys.min(), ys.max() + 1
    inner = slice(xs.min() + 4, xs.max() - 3)
    edge_row = canvas.pixels[bottom - 1, inner, 0].astype(np.float32)
    for out in ENGINE.fill(canvas, "", [1, 2, 3, 4], noop):
        for band in (out[bottom + 2 : bottom + 12, inner, 0], out[top - 12 : top - 2, inner, 0]):
            profile = band.astype(np.float32).mean(axis=0)
            assert np.corrcoef(profile, edge_row)[0, 1] > 0.8


def test_rgba_and_grey_uploads_fill() -> None:
    """Greyscale and RGBA images, read as the worker reads a parent's stored image, fill as
    any."""
    from io import BytesIO

    from PIL import Image

    from outframe.imaging.codec import decode_png

    for mode in ("L", "RGBA"):
        buf = BytesIO()
        Image.fromarray(photo(40, 52)).convert(mode).save(buf, "PNG")
        image = decode_png(buf.getvalue())
        canvas = zoom_out(image, 1.5)
        out = ENGINE.fill(canvas, "", [1, 2], noop)
        assert all(img.shape == (40, 52, 3) for img in out)
        assert all(np.array_equal(img[canvas.keep], canvas.pixels[canvas.keep]) for img in out)


def test_a_straight_structure_crossing_the_border_continues_straight() -> None:
    """A pole that leaves the kept image through its bottom edge goes on below it, in line,
    for every seed (pieces just inside the border are offered as straight continuations)."""
    image = grey_texture(160, seed=3, mean=110, amplitude=25, blur=2)
    image[:, 70:78] = 240  # the pole: columns 70-77
    canvas = zoom_out(image, 2)
    bottom = np.nonzero(canvas.keep)[0].max() + 1
    # The pole on the canvas: where its kept pixels are in the last kept row.
    pole = np.flatnonzero(canvas.pixels[bottom - 1, :, 0] > 200)
    for out in ENGINE.fill(canvas, "", [1, 2, 3, 4], noop):
        below = out[bottom + 2 : bottom + 14, :, 0].astype(np.float32)
        profile = below.mean(axis=0)
        # (The pole is 240 and the ground about 110.)
        assert profile[pole].min() > 185, profile[pole.min() - 4 : pole.max() + 5].round()


def test_a_face_filling_the_kept_image_leaves_the_rest_as_sources() -> None:
    """A tight portrait, its face most of the kept image: only the face itself is never a
    source (the hair and shoulders around it still are), so the new area gets texture, not the
    smooth colour of a fill left with nothing to copy."""
    from skimage import data

    from outframe.engines.classic.subject import faces

    portrait = np.ascontiguousarray(data.astronaut()[10:230, 130:350])
    canvas = zoom_out(portrait, 2)
    core, around = faces(canvas.pixels, canvas.keep)
    assert core.any() and around.any()
    assert core.sum() < 0.8 * canvas.keep.sum()
    out = ENGINE.fill(canvas, "", [1], noop)[0]
    detail = np.abs(cv2.Laplacian(cv2.cvtColor(out, cv2.COLOR_RGB2GRAY), cv2.CV_32F))
    deep = cv2.erode((~canvas.keep).astype(np.uint8), np.ones((15, 15), np.uint8)) > 0
    assert detail[deep].mean() > 0.3 * detail[canvas.keep].mean()


def test_stitching_takes_away_a_brightness_step_between_pieces() -> None:
    """Two halves of a hole copied from bits of a sky 20 levels apart: stitched, the step
    between them and against the kept border is gone, and each half keeps its own texture."""
    from outframe.engines.classic.stitch import stitch

    rng = np.random.default_rng(0)
    height, width = 40, 60
    sky = np.linspace(90, 130, height, dtype=np.float32)[:, None, None].repeat(width, 1)
    sky = (sky + rng.normal(0, 2, (height, width, 1))).repeat(3, 2).astype(np.float32)
    hole = np.zeros((height, width), bool)
    hole[15:25, 20:40] = True
    src = np.zeros((height, width, 2), np.int32)
    img = sky.copy()
    ys, xs = np.nonzero(hole)
    # The left half from 10 rows higher (darker), the right half from 10 rows lower.
    dy = np.where(xs < 30, -10, 10)
    src[ys, xs, 0], src[ys, xs, 1] = ys + dy, xs
    img[ys, xs] = sky[ys + dy, xs]
    out = stitch(img, hole, src)
    step_before = abs(float(img[15:25, 29].mean() - img[15:25, 30].mean()))
    step_after = abs(float(out[15:25, 29].mean() - out[15:25, 30].mean()))
    assert step_before > 15 and step_after < 0.3 * step_before
    assert np.abs(out[hole].mean() - sky[hole].mean()) < 3
    assert np.array_equal(out[~hole], img[~hole])
    # A constant shift per piece: the texture inside each half is untouched.
    left = hole & (np.arange(width) < 30)[None, :]
    assert np.allclose(np.diff(out[left].reshape(10, 10, 3), axis=1),
                       np.diff(img[left].reshape(10, 10, 3), axis=1), atol=1e-3)  # fmt: skip


def test_a_candidate_with_a_face_in_its_new_area_is_made_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Where the detector sees a face in a candidate's new area, the candidate is made again
    from a seed derived from its own: a different result, the same on every run."""
    from outframe.engines.classic import fill

    canvas = zoom_out(photo(48, 48), 2)
    plain = ENGINE.fill(canvas, "", [1], noop)[0]
    seen: list[int] = []

    def first_has_a_face(pixels: np.ndarray, region: np.ndarray) -> int:  # type: ignore[type-arg]
        seen.append(1)
        return 1 if len(seen) % 2 == 1 else 0

    monkeypatch.setattr(fill, "faces_in", first_has_a_face)
    again = [ENGINE.fill(canvas, "", [1], noop)[0] for _ in range(2)]
    assert len(seen) == 4
    assert not np.array_equal(again[0], plain)
    assert np.array_equal(again[0], again[1])
    assert np.array_equal(again[0][canvas.keep], canvas.pixels[canvas.keep])


def test_faces_in_counts_only_faces_in_the_region() -> None:
    from skimage import data

    from outframe.engines.classic.subject import faces_in

    portrait = np.ascontiguousarray(data.astronaut()[:256, 64:320])
    region = np.zeros(portrait.shape[:2], bool)
    assert faces_in(portrait, region) == 0
    assert faces_in(portrait, ~region) == 1


@pytest.mark.parametrize(("grade", "continued"), [(1.0, True), (2.0, False)])
def test_the_band_round_a_face_goes_only_a_little_way_out(grade: float, continued: bool) -> None:
    """A red cap crosses the kept border, running on far into the kept image. As subject
    (grade 1) it goes on straight out; as the band round a face (grade 2: hair, a cap) it ends
    a few pixels out, no tower of cap pieces."""
    pixels = grey_texture(128, seed=3, mean=100, amplitude=12, blur=1.5).astype(np.float32)
    keep = np.zeros((128, 128), bool)
    keep[64:] = True  # the hole is the top half, 64 px deep
    pixels[64:96, 48:80] = (230, 40, 40)
    guarded = np.zeros((128, 128), np.float32)
    guarded[64:96, 48:80] = grade
    excluded = np.zeros_like(keep)
    out = synthesize(pixels, stretch_guide(pixels, keep), keep, excluded, guarded, seed=1)
    red = (out[..., 0] > 170) & (out[..., 1] < 90)
    far = 64 - int(FACE_DEPTH * 64) - 8  # rows above this lie past the band's reach
    assert bool(red[:far].any()) is continued
    np.testing.assert_array_equal(out[keep], pixels[keep])


@pytest.mark.parametrize(("tall", "continued"), [(40, True), (16, False)])
def test_the_subject_runs_on_only_where_it_does_not_end(tall: int, continued: bool) -> None:
    """A red piece of the subject (grade 1) crosses the kept border. Where it runs on far into
    the kept image (a pole, a body) it goes on out; where it ends a few pixels in (a cup's rim,
    a lamp) it ends a little way out too, no tower of rim pieces (without that gate, 78 red
    pixels lie past its reach)."""
    pixels = grey_texture(128, seed=5, mean=100, amplitude=12, blur=1.5).astype(np.float32)
    keep = np.zeros((128, 128), bool)
    keep[64:] = True
    pixels[64 : 64 + tall, 48:80] = (230, 40, 40)
    guarded = np.zeros((128, 128), np.float32)
    guarded[64 : 64 + tall, 48:80] = 1.0
    out = synthesize(pixels, stretch_guide(pixels, keep), keep, np.zeros_like(keep), guarded, 1)
    red = (out[..., 0] > 170) & (out[..., 1] < 90)
    far = 64 - int(SUBJECT_DEPTH * 64 * (1 + WAVE)) - 8  # past the subject's reach, wave and all
    assert (int(red[:far].sum()) > 40) is continued
    near = 64 - int(SUBJECT_DEPTH * 64 * (1 - WAVE))  # within its reach, wherever it wavers
    assert red[near:64, 48:80].mean() > 0.5  # ... where it does go on
    np.testing.assert_array_equal(out[keep], pixels[keep])


def test_where_the_subject_ends_wavers_within_bounds() -> None:
    """The subject's reach past the border wavers with the seed, between 1 - WAVE and 1 + WAVE
    times its depth limit, never unbounded (an unclipped wave once switched the limit off),
    and differs between seeds."""
    from outframe.engines.classic.noise import fbm
    from outframe.engines.classic.synth import WAVE_CELLS, Level, _reach_depth

    pixels = grey_texture(128, seed=5, mean=100, amplitude=12, blur=1.5).astype(np.float32)
    keep = np.zeros((128, 128), bool)
    keep[64:] = True
    pixels[64:72] = (230, 40, 40)  # a red strip ending 8 px in, all along the border
    hole_depth = cv2.distanceTransform((~keep).astype(np.uint8), cv2.DIST_L2, 5)
    level = Level(pixels, pixels, keep, np.zeros_like(keep), np.zeros((128, 128), np.float32))
    reaches = []
    for seed in range(8):
        wave = fbm(np.random.default_rng(seed), 128, 128, base_cells=WAVE_CELLS, octaves=3)
        reach = _reach_depth(level, hole_depth, wave, 12.0)
        assert reach[~keep].min() > 0  # the strip ends: every hole pixel counts
        ratio = hole_depth[~keep] / reach[~keep]
        assert ratio.min() >= 1 - WAVE - 1e-6 and ratio.max() <= 1 + WAVE + 1e-6
        reaches.append(reach)
    assert not np.allclose(reaches[0], reaches[1])


def test_a_face_band_that_is_most_of_the_kept_image_still_fills(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Where the band round a face is most of the kept image (a tight portrait), forbidding it
    deep in the hole would leave the coarse levels nothing to copy (a mosaic of random blocks):
    it is then guarded as the subject only, and the fill still beats edge replication."""
    from outframe.engines.classic import fill

    def band_everywhere(pixels: np.ndarray, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[type-arg]
        ys, _ = np.nonzero(keep)
        band = keep.copy()
        band[: ys.min() + (ys.max() - ys.min()) // 8] = False  # all but the top eighth
        return np.zeros_like(keep), band

    monkeypatch.setattr(fill, "faces", band_everywhere)
    image = truth("coffee", 192)
    canvas, keep, box = zoom_canvas(image, 2)
    baseline = swd(replicate(canvas, keep, box), image, ~keep)
    for out in ENGINE.fill(Canvas(canvas, keep), "", [1, 2], noop):
        assert swd(out, image, ~keep) < baseline
