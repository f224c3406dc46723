"""Inpaint quality: the classic engine's fill of holes inside a photo against OpenCV Telea and
PatchMatch.

    .venv/bin/python -m bench.inpaint [--size 512] [--images a,b] [--no-patchmatch]

For each photo T (bench/outpaint_cases.py, centre-cropped square, resized to S), two rectangles
inside it (one a quarter of S wide near the top right, one a third wide near the bottom left) are
blanked and filled; each method is compared with T over the holes: SWD of 7 x 7 patches (lower
is better), low-frequency PSNR at 1/8 scale and PSNR at full scale (higher is better), and the
seam ratio (gradient on the holes' border, result / truth: 1 is right). A contact sheet goes to
bench/out/inpaint_contact.png.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

from bench import outpaint_cases as cases
from bench import outpaint_metrics as metrics
from bench.outpaint import OUT, SEEDS, Method, noop, single
from bench.outpaint_sheet import contact_sheet
from outframe.engines.classic import ClassicEngine
from outframe.imaging.canvas import repaint

HOLES = ((0.20, 0.42, 0.55, 0.80), (0.60, 0.78, 0.15, 0.45))  # y0, y1, x0, x1 as fractions of S


def holes(size: int) -> cases.Mask:
    mask = np.zeros((size, size), bool)
    for y0, y1, x0, x1 in HOLES:
        mask[round(y0 * size) : round(y1 * size), round(x0 * size) : round(x1 * size)] = True
    return mask


def psnr(result: cases.Image, truth: cases.Image, region: cases.Mask) -> float:
    diff = result[region].astype(np.float64) - truth[region].astype(np.float64)
    return float(10 * np.log10(255.0**2 / max(float((diff**2).mean()), 1e-10)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--images", default=",".join(cases.PHOTOS))
    parser.add_argument("--no-patchmatch", action="store_true")
    parser.add_argument("--sheet", default=str(OUT / "inpaint_contact.png"))
    args = parser.parse_args()
    names, missing = cases.available(args.images.split(","))
    if missing:
        print(f"note: photos not found here, skipped: {', '.join(missing)}")
    found: dict[str, Method] = {"telea": single(cases.telea)}
    pm = None if args.no_patchmatch else cases.patchmatch_fill()
    if pm is not None:
        found["patchmatch"] = single(pm)
    engine = ClassicEngine()
    found["outframe"] = lambda canvas, keep, box: engine.fill(
        repaint(canvas, ~keep), "", SEEDS, noop
    )
    columns = ("swd", "lowfreq", "psnr", "seam", "seconds")
    table: dict[str, dict[str, list[float]]] = {m: {c: [] for c in columns} for m in found}
    rows = []
    mask = holes(args.size)
    keep = ~mask
    for name in names:
        truth = cases.truth(name, args.size)
        canvas = truth.copy()
        canvas[mask] = 0  # nothing of the truth is left in the holes
        row = [truth]
        for method, fill in found.items():
            start = time.perf_counter()
            results = fill(canvas, keep, (0, 0, args.size, args.size))
            seconds = (time.perf_counter() - start) / len(results)
            assert all(metrics.kept_exactly(r, canvas, keep) for r in results), method
            scores = table[method]
            scores["swd"].append(float(np.mean([metrics.swd(r, truth, mask) for r in results])))
            scores["lowfreq"].append(
                float(np.mean([metrics.lowfreq_psnr(r, truth, mask, 8) for r in results]))
            )
            scores["psnr"].append(float(np.mean([psnr(r, truth, mask) for r in results])))
            scores["seam"].append(
                float(np.mean([metrics.seam_ratio(r, truth, keep) for r in results]))
            )
            scores["seconds"].append(seconds)
            row.append(results[0])
        rows.append((name, row))
    print(f"\ninpaint, S={args.size}, {len(names)} images, two holes each: means; seconds medians")
    print(f"{'method':<12} {'SWD':>7} {'lowfreq':>8} {'PSNR':>7} {'seam':>6} {'s/cand':>8}")
    for method, s in table.items():
        print(
            f"{method:<12} {np.mean(s['swd']):7.2f} {np.mean(s['lowfreq']):8.2f} "
            f"{np.mean(s['psnr']):7.2f} {np.mean(s['seam']):6.2f} "
            f"{statistics.median(s['seconds']):8.3f}"
        )
    print("per image SWD: " + ", ".join(
        f"{n} " + "/".join(f"{table[m]['swd'][i]:.1f}" for m in table) for i, n in enumerate(names)
    ) + f"  ({'/'.join(table)})")  # fmt: skip
    OUT.mkdir(exist_ok=True)
    contact_sheet(rows, ["truth", *found], Path(args.sheet))
    print(f"contact sheet: {args.sheet}")


if __name__ == "__main__":
    main()
