"""Zoom-out quality and speed: the classic engine's fill against weight-free baselines.

    .venv/bin/python -m bench.outpaint [--size 512] [--ratios 2,1.5] [--images a,b] [--quick]
                                       [--no-patchmatch] [--job-size 1024] [--chain]

For each photo T (bench/outpaint_cases.py: centre-cropped square, resized to S) and ratio r, the
input is T's centre crop of side S/r on an S x S canvas; each method fills the rest and is
compared with T over the new area (metrics in bench/outpaint_metrics.py), with the truth's own
face count and copy rate beside. A contact sheet is written to bench/out/outpaint_contact.png;
with --chain, four 2x zoom-outs in a row on three photos go to bench/out/outpaint_chain.png.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from bench import outpaint_cases as cases
from bench import outpaint_metrics as metrics
from bench.outpaint_sheet import contact_sheet
from outframe.engines.classic import ClassicEngine
from outframe.imaging.canvas import Canvas, grid, zoom_out
from outframe.imaging.codec import encode_png

OUT = Path(__file__).resolve().parent / "out"
SEEDS = [1, 2, 3, 4]
PM_JOB_PHOTOS = 3  # PatchMatch is timed at --job-size on this many photos (it takes ~10 s each)
Box = tuple[int, int, int, int]
Method = Callable[[cases.Image, cases.Mask, Box], list[cases.Image]]


@dataclass
class Scores:
    keep: list[bool] = field(default_factory=list)
    swd: list[float] = field(default_factory=list)
    swd_levels: list[list[float]] = field(default_factory=list)
    lowfreq: list[float] = field(default_factory=list)
    seam: list[float] = field(default_factory=list)
    diversity: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    faces: list[list[int]] = field(default_factory=list)  # per photo, per candidate
    copies: list[float] = field(default_factory=list)


def noop(_: float) -> None:
    pass


def ours_method(engine: ClassicEngine) -> Method:
    def run(canvas: cases.Image, keep: cases.Mask, box: Box) -> list[cases.Image]:
        return engine.fill(Canvas(canvas, keep), "", SEEDS, noop)

    return run


def single(fn: Callable[[cases.Image, cases.Mask, Box], cases.Image]) -> Method:
    def run(canvas: cases.Image, keep: cases.Mask, box: Box) -> list[cases.Image]:
        return [fn(canvas, keep, box)]

    return run


def methods(use_patchmatch: bool) -> dict[str, Method]:
    found: dict[str, Method] = {
        "replicate": single(cases.replicate),
        "reflect": single(cases.reflect),
        "telea": single(cases.telea),
    }
    pm = cases.patchmatch_fill() if use_patchmatch else None
    if pm is not None:
        found["patchmatch"] = single(pm)
    elif use_patchmatch:
        print("note: pypatchmatch is not installed or failed to load; its baseline is skipped")
    found["outframe"] = ours_method(ClassicEngine())
    return found


def score(
    scores: Scores, results: list[cases.Image], truth: cases.Image, canvas: cases.Image,
    keep: cases.Mask, seconds: float,
) -> None:  # fmt: skip
    new = ~keep
    scores.keep.append(all(metrics.kept_exactly(r, canvas, keep) for r in results))
    levels = np.mean([metrics.swd_levels(r, truth, new) for r in results], axis=0)
    scores.swd_levels.append([float(v) for v in levels])
    scores.swd.append(float(np.mean(levels)))
    scores.lowfreq.append(float(np.mean([metrics.lowfreq_psnr(r, truth, new) for r in results])))
    scores.seam.append(float(np.mean([metrics.seam_ratio(r, truth, keep) for r in results])))
    if len(results) > 1:
        scores.diversity.append(metrics.diversity(results, new))
    scores.seconds.append(seconds / len(results))
    scores.faces.append([metrics.faces_in_new(r, new) for r in results])
    scores.copies.append(float(np.mean([metrics.copy_rate(r, keep) for r in results])))


def print_table(
    ratio: float, size: int, names: list[str], table: dict[str, Scores], real: Scores
) -> None:
    print(f"\nratio {ratio:g}, S={size}, {len(names)} images: means; seconds are medians; "
          "faces: found in the new area, all candidates of all photos; copy: copy rate"
          )  # fmt: skip
    print(f"{'method':<12} {'keep':>5} {'SWD':>7} {'lowfreq':>8} {'seam':>6} {'divers':>7} "
          f"{'s/cand':>8} {'faces':>6} {'copy':>6}")  # fmt: skip
    for method, s in table.items():
        div = f"{np.mean(s.diversity):7.1f}" if s.diversity else f"{'-':>7}"
        print(
            f"{method:<12} {'yes' if all(s.keep) else 'NO':>5} {np.mean(s.swd):7.2f} "
            f"{np.mean(s.lowfreq):8.2f} {np.mean(s.seam):6.2f} {div} "
            f"{statistics.median(s.seconds):8.3f} {sum(map(sum, s.faces)):6d} "
            f"{np.mean(s.copies):6.3f}"
        )
    print(f"{'truth':<12} {'':>5} {'':>7} {'':>8} {'':>6} {'':>7} {'':>8} "
          f"{sum(map(sum, real.faces)):6d} {np.mean(real.copies):6.3f}")  # fmt: skip
    print("SWD per pyramid level, finest band first, low-pass residual last: " + ", ".join(
        f"{m} " + "/".join(f"{v:.1f}" for v in np.mean(s.swd_levels, axis=0))
        for m, s in table.items()
    ))  # fmt: skip
    ours = table["outframe"]
    baselines = {m: s for m, s in table.items() if m != "outframe"}
    if baselines:
        best_swd = min(baselines, key=lambda m: float(np.mean(baselines[m].swd)))
        best_lf = max(baselines, key=lambda m: float(np.mean(baselines[m].lowfreq)))
        lf_gain = np.mean(ours.lowfreq) - np.mean(baselines[best_lf].lowfreq)
        print(
            f"outframe SWD = {np.mean(ours.swd) / np.mean(baselines[best_swd].swd):.0%} of the "
            f"best baseline's ({best_swd}); lowfreq {lf_gain:+.2f} dB against the best "
            f"baseline's ({best_lf})"
        )
        if "patchmatch" in table:
            ratio_pm = statistics.median(ours.seconds) / statistics.median(
                table["patchmatch"].seconds
            )
            print(f"outframe time per candidate = 1/{1 / ratio_pm:.1f} of patchmatch's")
    most = ", the most on one candidate"
    print("faces per photo (truth/" + "/".join(table) + most + "): " + ", ".join(
        f"{n} " + "/".join(str(v) for v in [real.faces[i][0]] + [
            max(table[m].faces[i]) for m in table
        ]) for i, n in enumerate(names)
    ))  # fmt: skip
    print("per image copy rate (truth/" + "/".join(table) + "): " + ", ".join(
        f"{n} " + "/".join(f"{v:.2f}" for v in [real.copies[i]] + [
            table[m].copies[i] for m in table
        ]) for i, n in enumerate(names)
    ))  # fmt: skip
    for label, metric in (("SWD", "swd"), ("lowfreq", "lowfreq")):
        print(f"per image {label}: " + ", ".join(
            f"{n} " + "/".join(f"{getattr(table[m], metric)[i]:.1f}" for m in table)
            for i, n in enumerate(names)
        ) + f"  ({'/'.join(table)})")  # fmt: skip


def job_timing(size: int, names: list[str], threads: int, use_patchmatch: bool) -> None:
    """The whole 4-candidate zoom-out job at `size`: fill, PNG encoding of 4 images and a grid;
    beside it, PatchMatch's time for one candidate on the first PM_JOB_PHOTOS photos."""
    engine = ClassicEngine()
    pm = cases.patchmatch_fill() if use_patchmatch else None
    fills, jobs, pm_fills = [], [], []
    for i, name in enumerate(names):
        truth = cases.truth(name, size)
        canvas, keep, box = cases.zoom_canvas(truth, 2)
        start = time.perf_counter()
        images = engine.fill(Canvas(canvas, keep), "", SEEDS, noop)
        filled = time.perf_counter()
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(encode_png, [*images, grid(images)]))
        fills.append((filled - start) / len(SEEDS))
        jobs.append(time.perf_counter() - start)
        if pm is not None and i < PM_JOB_PHOTOS:
            start = time.perf_counter()
            pm(canvas, keep, box)
            pm_fills.append(time.perf_counter() - start)
    print(
        f"\njob at S={size}, ratio 2, {len(names)} images: per candidate median "
        f"{statistics.median(fills):.2f} s (max {max(fills):.2f}); whole 4-candidate job with "
        f"PNG encoding median {statistics.median(jobs):.2f} s (max {max(jobs):.2f})"
    )
    if pm_fills:
        ours = statistics.median(fills[: len(pm_fills)])
        theirs = statistics.median(pm_fills)
        print(
            f"patchmatch at S={size} on the first {len(pm_fills)} images: {theirs:.2f} s per "
            f"candidate (median); outframe's there {ours:.2f} s = 1/{theirs / ours:.1f} of it"
        )


def chain(size: int, sheet: Path, steps: int = 4) -> None:
    """Four 2x zoom-outs in a row, each from the first candidate of the one before (as a user
    upsamples U1 and zooms again). Every step's new area is compared with the truth's own new
    area at step 1 (the scene's surroundings, as far as the photo reaches), so a chain that
    drifts into smoke or copies shows as a growing SWD. A true-scale continuation grows too
    (step k shows the scene 2^k times smaller), so two more rows: the photo itself at each
    step's scale scored the same way, and each step against the photo at its scale (drift
    from what a continuation at the right scale would show)."""
    engine = ClassicEngine()
    names, _ = cases.available(cases.CHAIN)
    rows: list[tuple[str, list[cases.Image]]] = []
    print(
        f"\nchain: {steps} zoom-outs of 2x at S={size}, SWD of each step's new area against "
        "the truth's; below it the photo itself at that step's scale (shrunk 2^step times, "
        "mirror-tiled) scored alike, and the step against that photo at scale"
    )
    for name in names:
        truth = cases.truth(name, size)
        _, keep, _ = cases.zoom_canvas(truth, 2)
        image = truth
        frames, swds, scaled, drift = [truth], [], [], []
        for k in range(1, steps + 1):
            step = zoom_out(image, 2)
            image = engine.fill(step, "", SEEDS[:1], noop)[0]
            frames.append(image)
            reference = at_scale(truth, 2**k)
            swds.append(metrics.swd(image, truth, ~keep))
            scaled.append(metrics.swd(reference, truth, ~keep))
            drift.append(metrics.swd(image, reference, ~keep))
        for label, values in (("", swds), ("photo at scale", scaled), ("vs it", drift)):
            print(f"{label or name:>14} " + " ".join(f"{v:6.2f}" for v in values)
                  + f"   step {steps} / step 1 = {values[-1] / values[0]:.2f}")  # fmt: skip
        rows.append((name, frames))
    contact_sheet(rows, ["truth"] + [f"step {i + 1}" for i in range(steps)], sheet)
    print(f"chain sheet: {sheet}")


def at_scale(photo: cases.Image, factor: int) -> cases.Image:
    """The photo shrunk `factor` times and mirror-tiled back to its size: what a zoom-out that
    continued the scene at its true scale would show, statistically (a chain's step k shows
    the photo 2^k times smaller)."""
    height, width = photo.shape[:2]
    small = cv2.resize(photo, (max(1, width // factor), max(1, height // factor)),
                       interpolation=cv2.INTER_AREA)  # fmt: skip
    tile = np.concatenate([small, small[:, ::-1]], axis=1)
    tile = np.concatenate([tile, tile[::-1]], axis=0)
    reps = (-(-height // tile.shape[0]), -(-width // tile.shape[1]), 1)
    return np.ascontiguousarray(np.tile(tile, reps)[:height, :width])


def override(assignment: str) -> None:
    """Set a constant of a classic engine module (outframe.engines.classic.MODULE) from
    "MODULE.NAME=VALUE", VALUE a Python literal, for tuning runs."""
    target, _, value = assignment.partition("=")
    module_name, _, name = target.rpartition(".")
    module = importlib.import_module(f"outframe.engines.classic.{module_name}")
    if not module_name or not hasattr(module, name):
        raise SystemExit(f"--set {assignment}: no constant {name!r} in that module")
    setattr(module, name, ast.literal_eval(value))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--ratios", default="2,1.5")
    parser.add_argument("--images", default=",".join(cases.PHOTOS))
    parser.add_argument("--quick", action="store_true", help="three images, for iteration")
    parser.add_argument("--no-patchmatch", action="store_true")
    parser.add_argument("--job-size", type=int, default=0, help="also time whole jobs at this S")
    parser.add_argument("--sheet", default=str(OUT / "outpaint_contact.png"))
    parser.add_argument("--chain", action="store_true", help="four 2x zoom-outs in a row")
    parser.add_argument(
        "--set", action="append", default=[], metavar="MODULE.NAME=VALUE",
        help="override a classic engine constant for this run, e.g. fill.LOW=0.08 (repeatable)",
    )  # fmt: skip
    args = parser.parse_args()
    for assignment in args.set:
        override(assignment)
    names, missing = cases.available(cases.QUICK if args.quick else args.images.split(","))
    if missing:
        print(f"note: photos not installed here, left out: {', '.join(missing)} "
              "(apt-get install opencv-doc; pip install matplotlib)")  # fmt: skip
    ratios = [float(r) for r in args.ratios.split(",")]
    found = methods(not args.no_patchmatch)
    rows: list[tuple[str, list[cases.Image]]] = []
    for ratio in ratios:
        table = {m: Scores() for m in found}
        real = Scores()
        for name in names:
            truth = cases.truth(name, args.size)
            canvas, keep, box = cases.zoom_canvas(truth, ratio)
            real.faces.append([metrics.faces_in_new(truth, ~keep)])
            real.copies.append(metrics.copy_rate(truth, keep))
            row = [truth]
            for method, fn in found.items():
                start = time.perf_counter()
                results = fn(canvas, keep, box)
                seconds = time.perf_counter() - start
                score(table[method], results, truth, canvas, keep, seconds)
                row.extend(results[:2])
            rows.append((f"{name} r={ratio:g}", row))
        print_table(ratio, args.size, names, table, real)
    labels = ["truth"] + [m for m in found for _ in range(2 if m == "outframe" else 1)]
    sheet = Path(args.sheet)
    sheet.parent.mkdir(parents=True, exist_ok=True)
    contact_sheet(rows, labels, sheet)
    print(f"\ncontact sheet: {sheet}")
    if args.job_size:
        job_timing(args.job_size, names, threads=2, use_patchmatch=not args.no_patchmatch)
    if args.chain:
        chain(args.size, OUT / "outpaint_chain.png")


if __name__ == "__main__":
    main()
