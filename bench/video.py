"""Zoom videos: seconds of rendering per second of video, against a naive baseline.

    .venv/bin/python -m bench.video [--size 1024] [--fps 30] [--seconds-per-step 2]

A chain of three zoom-outs (2, 1.5, 2) of a photo, filled by the classic engine, rendered the
way the server renders it (outframe.video: each frame composed from the sharpest image that
covers each pixel) and the naive way (each frame a crop of the outermost image resized to the
frame, as a by-hand tool does with one image). Each is timed rendering only, and rendering
and encoding into MP4 (H.264) and WebM (VP9) with PyAV; "s / video s" is wall-clock seconds
per second of video. The first frame's PSNR against the innermost image, and the detail at the
frame's centre (variance of the Laplacian of the middle quarter, averaged over the frames), say
what the naive way loses.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np

from bench import outpaint_cases as cases
from outframe.engines.classic import ClassicEngine
from outframe.imaging.canvas import outpaint_placement, zoom_out
from outframe.imaging.codec import RGB
from outframe.video import encoder
from outframe.video.camera import Camera, Inside, Level, Window, place, video_size, views
from outframe.video.encoder import VideoFormat, VideoWriter
from outframe.video.frames import Composer, rendered_ahead

RATIOS = (2.0, 1.5, 2.0)


def make_chain(size: int, photo: str) -> tuple[list[RGB], list[Level]]:
    engine = ClassicEngine()
    engine.start()
    images = [cases.truth(photo, size)]
    insides = []
    for n, ratio in enumerate(RATIOS):
        images.append(engine.fill(zoom_out(images[-1], ratio), "", [n], lambda _: None)[0])
        where = outpaint_placement(size, size, ratio)
        insides.append(Inside(where.x, where.y, where.width, where.height))
    return images, place([(size, size)] * len(images), insides)


def naive(outer: RGB, width: int, height: int) -> Callable[[Window], RGB]:
    """Each frame a crop of the outermost image, resized to the frame."""

    def frame(view: Window) -> RGB:
        x, y, w, h = view
        left, top = round(x), round(y)
        crop = outer[top : top + max(1, round(h)), left : left + max(1, round(w))]
        shrink = crop.shape[1] > width
        method = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
        return np.asarray(cv2.resize(crop, (width, height), interpolation=method), np.uint8)

    return frame


def detail(frame: RGB) -> float:
    h, w = frame.shape[:2]
    middle = cv2.cvtColor(
        frame[h * 3 // 8 : h * 5 // 8, w * 3 // 8 : w * 5 // 8], cv2.COLOR_RGB2GRAY
    )
    return float(cv2.Laplacian(middle, cv2.CV_64F).var())


def psnr(a: RGB, b: RGB) -> float:
    mse = float(((a.astype(float) - b.astype(float)) ** 2).mean())
    return float(10 * np.log10(255**2 / max(mse, 1e-10)))


def run(
    render: Callable[[Window], RGB],
    windows: list[Window],
    size: tuple[int, int],
    fps: int,
    video_format: str | None,
) -> tuple[float, RGB, float, int]:
    """Seconds for the whole video; its first frame; the mean centre detail; the file's bytes.
    Encoding, frames are rendered a thread ahead of the encoder, as the server does."""
    details = []
    size_bytes = 0
    first: RGB | None = None
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        if video_format is None:
            for n, view in enumerate(windows):
                frame = render(view)
                if n % 10 == 0:
                    details.append(detail(frame))
                first = frame if first is None else first
        else:
            path = Path(folder) / f"bench.{video_format}"
            fmt: VideoFormat = "mp4" if video_format == "mp4" else "webm"
            with VideoWriter(path, fmt, size[0], size[1], fps) as writer:
                for n, frame in enumerate(rendered_ahead(_Renders(render), windows)):
                    writer.write(frame, key=n == len(windows) - 1)
                    first = frame if first is None else first
        seconds = time.perf_counter() - start
        if video_format is not None:
            size_bytes = path.stat().st_size
    assert first is not None
    return seconds, first, statistics.fmean(details) if details else float("nan"), size_bytes


class _Renders(Composer):
    """A render function where rendered_ahead takes a Composer."""

    def __init__(self, render: Callable[[Window], RGB]) -> None:
        self._render = render

    def frame(self, view: Window) -> RGB:
        return self._render(view)


def rows(args: argparse.Namespace) -> Iterator[tuple[str, str, float, float, float, int]]:
    images, levels = make_chain(args.size, args.photo)
    width, height = video_size(args.size, args.size, args.size)
    camera = Camera(levels, width / height)
    frames = round(args.fps * args.seconds_per_step * len(RATIOS))
    windows = list(views(camera, frames, frames / args.fps, "out"))
    video_seconds = frames / args.fps
    composer = Composer(images, levels, (width, height))
    ways = {"outframe": composer.frame, "naive (outermost only)": naive(images[-1], width, height)}
    for name, render in ways.items():
        for video_format in (None, "mp4", "webm"):
            times, first, centre, size_bytes = [], images[0], float("nan"), 0
            for _ in range(args.repeat):
                seconds, first, found, size_bytes = run(
                    render, windows, (width, height), args.fps, video_format
                )
                times.append(seconds)
                centre = found if video_format is None else centre
            what = "render only" if video_format is None else f"render + {video_format}"
            per = statistics.median(times) / video_seconds
            yield name, what, per, psnr(first, images[0]), centre, size_bytes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--seconds-per-step", type=float, default=2.0)
    parser.add_argument("--photo", default="astronaut", choices=sorted(cases.PHOTOS))
    parser.add_argument("--repeat", type=int, default=3, help="runs of each; the median is shown")
    parser.add_argument("--x264-preset", help="another x264 preset than the server's")
    args = parser.parse_args()
    if args.x264_preset:
        container, codec, options = encoder.CODECS["mp4"]
        encoder.CODECS["mp4"] = (container, codec, {**options, "preset": args.x264_preset})
    frames = round(args.fps * args.seconds_per_step * len(RATIOS))
    print(
        f"{len(RATIOS)} zoom-outs {RATIOS} of {args.photo} at {args.size} px, {args.fps} fps, "
        f"{args.seconds_per_step:g} s per step: {frames} frames; {os.cpu_count()} cores; "
        f"x264 {encoder.CODECS['mp4'][2]['preset']}"
    )
    header = ("way", "what", "s / video s", "first frame dB", "centre detail", "MB")
    print("{:24} {:16} {:>11} {:>14} {:>13} {:>5}".format(*header))
    for name, what, per, first_db, centre, size_bytes in rows(args):
        shown_centre = "" if np.isnan(centre) else f"{centre:.1f}"
        shown_size = f"{size_bytes / 1e6:.1f}" if size_bytes else ""
        print(
            f"{name:24} {what:16} {per:11.3f} {first_db:14.1f} {shown_centre:>13} {shown_size:>5}"
        )


if __name__ == "__main__":
    main()
