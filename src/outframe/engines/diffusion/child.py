"""The diffusion worker process's main loop. Started with multiprocessing's spawn method, so it
has its own CUDA context: a CUDA error, an out-of-memory or a crash in here fails a job, never
the server. torch is imported here, not in the server process.

A reader thread takes the server's messages while the main thread computes, so that a "cancel"
is seen at the next denoising step."""

from __future__ import annotations

import os
import queue
import signal
import threading
import time
from multiprocessing.connection import Connection

from outframe.engines.diffusion.protocol import CANCEL, ErrorKind, Options, Request


def _exit_with_parent(parent: int) -> None:
    """Exit when the server is gone (even SIGKILLed), so no orphan holds the GPU."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _read(
    conn: Connection, requests: queue.SimpleQueue[Request | None], cancel: threading.Event
) -> None:
    """Requests go to the main thread; a cancel applies to the request running now (the
    server sends the next request only after the last one's answer)."""
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            message = None
        if message == CANCEL:
            cancel.set()
            continue
        cancel.clear()
        requests.put(message)
        if message is None:
            return


def serve(conn: Connection, options: Options, parent: int) -> None:
    # Ctrl-C in a terminal reaches the whole process group: the server decides when this
    # process ends, so a running job is not lost to it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _exit_with_parent(parent)
    try:
        from outframe.engines.diffusion.pipelines import Cancelled, Pipelines, classify

        pipelines = Pipelines(options)
        ready = pipelines.ready()
    except Exception as exc:
        conn.send(("failed", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ready", ready))
    requests: queue.SimpleQueue[Request | None] = queue.SimpleQueue()
    cancel = threading.Event()
    threading.Thread(target=_read, args=(conn, requests, cancel), daemon=True).start()
    while (request := requests.get()) is not None:
        try:
            images = pipelines.run(
                request, lambda f: conn.send(("progress", f)), cancelled=cancel.is_set
            )
        except Cancelled:
            pipelines.free_memory()
            conn.send(("cancelled",))
            continue
        except Exception as exc:
            kind = classify(exc)
            conn.send(("error", kind.value, f"{type(exc).__name__}: {exc}"))
            if kind is ErrorKind.DEVICE:
                os._exit(1)  # the device is in an unknown state; its teardown may hang
            pipelines.free_memory()
            continue
        conn.send(("done", images))
