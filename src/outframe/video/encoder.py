"""Frames to an MP4 (H.264) or WebM (VP9) file with PyAV, whose wheels carry FFmpeg with
libx264 and libvpx. PyAV is the `[video]` extra, imported only where a video is made."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import cv2
import numpy as np
from numpy.typing import NDArray

from outframe.imaging.codec import RGB

VideoFormat = Literal["mp4", "webm"]
MISSING = "zoom videos need PyAV: pip install 'outframe[video]'"

# (container, codec, codec options). x264's CRF 16 is visually lossless for photographs (the
# first and last frames come out within 35 dB of the chain's images); VP9's CRF 30 at constant
# quality (b:v 0) is about as good. The presets trade size for speed:
# the encoder is most of a video's time (docs/BENCHMARKS.md, zoom videos).
CODECS: dict[str, tuple[str, str, dict[str, str]]] = {
    "mp4": (
        "mp4",
        "libx264",
        # (and the colour matrix the frames are converted with, so players need not guess)
        {"crf": "16", "preset": "veryfast", "x264-params": "colormatrix=smpte170m"},
    ),
    "webm": (
        "webm",
        "libvpx-vp9",
        {"crf": "30", "b": "0", "deadline": "realtime", "cpu-used": "8", "row-mt": "1"},
    ),
}
CONTENT_TYPES = {"mp4": "video/mp4", "webm": "video/webm"}


_LIMITED = 224 / 255  # chroma's share of the 8-bit range in BT.601's limited ("TV") range


def yuv420(frame: RGB) -> NDArray[np.uint8]:
    """BT.601 limited-range 4:2:0 planes (Y, then U, then V), as FFmpeg's default conversion
    makes them but about 5x faster: luma from OpenCV's I420, chroma from the area average of
    each 2x2 block (OpenCV's own I420 picks chroma 2 dB worse)."""
    height, width = frame.shape[:2]
    planes = np.asarray(cv2.cvtColor(frame, cv2.COLOR_RGB2YUV_I420), dtype=np.uint8)
    small = cv2.resize(frame, (width // 2, height // 2), interpolation=cv2.INTER_AREA)
    full = cv2.cvtColor(small, cv2.COLOR_RGB2YCrCb)  # the chroma in full range
    chroma = cv2.convertScaleAbs(full, alpha=_LIMITED, beta=128 * (1 - _LIMITED))
    quarter = height // 4
    planes[height : height + quarter] = chroma[..., 2].reshape(quarter, width)
    planes[height + quarter :] = chroma[..., 1].reshape(quarter, width)
    return planes


def available() -> bool:
    """Whether PyAV (and so the encoders) can be imported here."""
    try:
        import av  # noqa: F401
    except ImportError:
        return False
    return True


def _av() -> Any:
    try:
        import av
    except ImportError as exc:
        raise RuntimeError(MISSING) from exc
    return av


class VideoWriter:
    """Encodes frames as they come (nothing is held but the encoder's own look-ahead)."""

    def __init__(
        self, path: Path, video_format: VideoFormat, width: int, height: int, fps: int
    ) -> None:
        av = _av()
        container_format, codec, options = CODECS[video_format]
        container_options = {"movflags": "+faststart"} if video_format == "mp4" else {}
        self._av = av
        self._container = av.open(
            str(path), mode="w", format=container_format, options=container_options
        )
        try:
            stream = self._container.add_stream(codec, rate=fps, options=options)
            stream.width, stream.height = width, height
            stream.pix_fmt = "yuv420p"
            self._stream = stream
        except BaseException:
            self._container.close()
            raise
        self.frames = 0

    def write(self, frame: RGB, *, key: bool = False) -> None:
        """Encode one frame; `key` makes it a keyframe (coded whole, at its best)."""
        video_frame = self._av.VideoFrame.from_ndarray(yuv420(frame), format="yuv420p")
        if key:
            video_frame.pict_type = self._av.video.frame.PictureType.I
        for packet in self._stream.encode(video_frame):
            self._container.mux(packet)
        self.frames += 1

    def close(self) -> None:
        """Flush the encoder and finish the file."""
        try:
            for packet in self._stream.encode():
                self._container.mux(packet)
        finally:
            self._container.close()

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if kind is None:
            self.close()
        else:
            self._container.close()
