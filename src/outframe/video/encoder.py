"""Frames to an MP4 (H.264) or WebM (VP9) file with PyAV, whose wheels carry FFmpeg with
libx264 and libvpx. PyAV is the `[video]` extra, imported only where a video is made."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from outframe.imaging.codec import RGB

VideoFormat = Literal["mp4", "webm"]
MISSING = "zoom videos need PyAV: pip install 'outframe[video]'"

# (container, codec, codec options). x264's CRF 16 is visually lossless for photographs (the
# first and last frames come out within 35 dB of the chain's images); VP9's CRF 30 at constant
# quality (b:v 0) is about as good. The presets trade size for speed:
# the encoder is most of a video's time (docs/BENCHMARKS.md, zoom videos).
_CODECS: dict[str, tuple[str, str, dict[str, str]]] = {
    "mp4": ("mp4", "libx264", {"crf": "16", "preset": "veryfast"}),
    "webm": (
        "webm",
        "libvpx-vp9",
        {"crf": "30", "b": "0", "deadline": "realtime", "cpu-used": "8", "row-mt": "1"},
    ),
}
CONTENT_TYPES = {"mp4": "video/mp4", "webm": "video/webm"}


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
        container_format, codec, options = _CODECS[video_format]
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
        video_frame = self._av.VideoFrame.from_ndarray(frame, format="rgb24")
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
