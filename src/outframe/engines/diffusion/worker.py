"""The server's handle on the diffusion worker process: start it and wait for its models, send
it one request at a time, relay its progress, and turn its death or errors into EngineError."""

from __future__ import annotations

import contextlib
import functools
import logging
import multiprocessing
import os
import signal
import time
from collections.abc import Callable
from typing import Any

from outframe.engines.base import EngineConfigError, EngineError, ProgressFn
from outframe.engines.diffusion import child
from outframe.engines.diffusion.protocol import CANCEL, ErrorKind, Options, Ready, Request
from outframe.imaging.codec import RGB

log = logging.getLogger(__name__)

POLL_SECONDS = 0.5  # how often a wait checks that the process lives and the job may go on
CANCEL_GRACE_SECONDS = 30.0  # how long a cancelled request may take to stop before a kill


class WorkerDied(EngineError):
    """The worker process ended mid-request (killed, crashed, or its device failed)."""


class OutOfMemory(EngineError):
    """The device ran out of memory on this request; the worker freed its caches."""


def _exit_description(code: int | None) -> str:
    if code is not None and code < 0:
        return f"killed by {signal.Signals(-code).name}"
    return f"exit code {code}"


class DiffusionWorker:
    """One spawned process holding the models. Not thread-safe: the engine serialises calls."""

    def __init__(self, options: Options, load_timeout: float) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child_conn = context.Pipe()
        self.process = context.Process(
            target=child.serve,
            args=(child_conn, options, os.getpid()),
            name="outframe-diffusion",
            daemon=True,
        )
        started = time.monotonic()
        self.process.start()
        child_conn.close()
        try:
            message = self._receive(deadline=started + load_timeout)
        except WorkerDied as exc:
            self.stop()
            raise EngineConfigError(f"the diffusion worker could not start: {exc}") from exc
        except TimeoutError as exc:
            self.stop()
            raise EngineConfigError(
                f"the models did not load within {load_timeout:g} s "
                "(OUTFRAME_DIFFUSERS_LOAD_TIMEOUT_SECONDS)"
            ) from exc
        if message[0] != "ready":
            self.stop()
            raise EngineConfigError(f"the diffusion models failed to load: {message[1]}")
        self.ready: Ready = message[1]
        log.info(
            "diffusion worker %d ready in %.1f s: %s on %s (%s), native %d px",
            self.process.pid,
            time.monotonic() - started,
            ", ".join(self.ready.pipelines),
            self.ready.device,
            self.ready.dtype,
            self.ready.native_side,
        )

    def alive(self) -> bool:
        return self.process.is_alive()

    def run(self, request: Request, progress: ProgressFn) -> list[RGB]:
        """The request's images. Progress is relayed; if `progress` raises (timeout, lost
        lease), the worker is told to stop at its next step and the exception is re-raised.
        If the exchange is cut short any other way (an interrupt, a broken pipe), the process
        may still be busy with this request, so it is killed: a new one takes the next."""
        answered = False
        try:
            self._send(request)
            stopping: Exception | None = None
            deadline: float | None = None
            last = 0.0

            def stop_with(exc: Exception) -> None:
                nonlocal stopping, deadline
                stopping, deadline = exc, time.monotonic() + CANCEL_GRACE_SECONDS
                with contextlib.suppress(OSError):
                    self._conn.send(CANCEL)

            while True:
                try:
                    # While waiting, progress is re-reported, so that a timeout or a lost lease
                    # is noticed even when one step takes long.
                    idle = None if stopping else functools.partial(progress, last)
                    message = self._receive(deadline, idle)
                except TimeoutError:
                    assert stopping is not None  # it did not stop when asked
                    raise stopping from None
                except WorkerDied:
                    raise
                except Exception as exc:
                    stop_with(exc)
                    continue
                kind = message[0]
                if kind == "progress":
                    last = float(message[1])
                    if stopping is None:
                        try:
                            progress(last)
                        except Exception as exc:
                            stop_with(exc)
                    continue
                answered = True
                if stopping is not None and kind in ("done", "cancelled"):
                    raise stopping
                if kind == "done":
                    images: list[RGB] = message[1]
                    return images
                if kind == "error":
                    raise self._error(ErrorKind(message[1]), message[2])
                raise EngineError(f"the diffusion worker answered {kind!r} unexpectedly")
        finally:
            if not answered:
                self.kill()

    def _send(self, message: object) -> None:
        try:
            self._conn.send(message)
        except OSError as exc:
            raise WorkerDied(
                f"the diffusion worker process is gone ({_exit_description(self.process.exitcode)})"
            ) from exc

    def _error(self, kind: ErrorKind, text: str) -> EngineError:
        if kind is ErrorKind.OUT_OF_MEMORY:
            return OutOfMemory(
                f"the device ran out of memory ({text}); try a smaller OUTFRAME_DIFFUSERS_SIZE, "
                "OUTFRAME_DIFFUSERS_CPU_OFFLOAD=true, or one worker per GPU"
            )
        if kind is ErrorKind.DEVICE:
            self.process.join(10)
            self.kill()  # if the device's teardown hangs, do not wait for it
            return WorkerDied(f"device error ({text}); a new worker starts for the next job")
        return EngineError(text)

    def _receive(
        self, deadline: float | None, idle: Callable[[], None] | None = None
    ) -> tuple[Any, ...]:
        """The next message. Raises WorkerDied if the process ends first, TimeoutError past
        `deadline`; calls `idle()` between polls (it may raise)."""
        while not self._conn.poll(POLL_SECONDS):
            if not self.process.is_alive() and not self._conn.poll(0):
                exit_code = _exit_description(self.process.exitcode)
                raise WorkerDied(
                    f"the diffusion worker process died ({exit_code}); "
                    "a new one starts for the next job"
                )
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError
            if idle is not None:
                idle()
        try:
            message: tuple[Any, ...] = self._conn.recv()
        except (EOFError, OSError) as exc:
            self.process.join(5)
            raise WorkerDied(
                f"the diffusion worker process died ({_exit_description(self.process.exitcode)})"
            ) from exc
        return message

    def kill(self) -> None:
        """End the process now (SIGKILL if it still runs)."""
        if self.process.is_alive():
            self.process.kill()
        self.process.join(10)
        self._conn.close()

    def stop(self) -> None:
        """Ask the process to exit; kill it if it does not."""
        if self.process.is_alive() and not self._conn.closed:
            with contextlib.suppress(OSError):
                self._conn.send(None)
            self.process.join(10)
        self.kill()
