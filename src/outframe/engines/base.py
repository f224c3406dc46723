"""The Engine interface: everything that makes pixels implements these four operations."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence

from outframe.imaging.canvas import Canvas
from outframe.imaging.codec import RGB

ProgressFn = Callable[[float], None]
"""Called with the fraction done (0..1). It may raise to abort the work (timeout, lost lease)."""


class EngineConfigError(Exception):
    """The engine cannot start as configured; the message says what to set or install."""


class EngineClosed(Exception):
    """The engine is shutting down: the job is not failed but left to be retried elsewhere
    (or after a restart) when its lease lapses."""


class EngineError(Exception):
    """The engine could not make this job's images; the message is shown on the failed job."""


class Engine(ABC):
    """Makes images. Implementations must be thread-safe: several workers share one instance.

    Candidates are made one per seed, so that the same seeds give the same images. For `fill`,
    the caller pastes the kept pixels back afterwards, so an engine may touch them (diffusion
    engines do, slightly) without breaking the promise that they are kept exactly.
    """

    name: str = "engine"

    def start(self) -> None:
        """Get ready to run jobs (load models); called where workers start. Raises
        EngineConfigError when the settings cannot work."""

    def close(self) -> None:
        """Release what start() took; called when the workers stop."""

    @abstractmethod
    def generate(
        self, prompt: str, width: int, height: int, seeds: Sequence[int], progress: ProgressFn
    ) -> list[RGB]:
        """One image of the given size per seed, from a text prompt."""

    @abstractmethod
    def upsample(self, image: RGB, progress: ProgressFn) -> RGB:
        """The chosen grid image, finished; the same pixel size."""

    @abstractmethod
    def fill(
        self, canvas: Canvas, prompt: str, seeds: Sequence[int], progress: ProgressFn
    ) -> list[RGB]:
        """One completion of the canvas per seed: new content wherever canvas.keep is False."""

    @abstractmethod
    def vary(
        self, image: RGB, prompt: str, seeds: Sequence[int], progress: ProgressFn
    ) -> list[RGB]:
        """One variation per seed that keeps the image's composition."""
