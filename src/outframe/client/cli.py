"""The `outframe` commands that make jobs, as a user of the API: imagine, upsample, zoom, pan,
vary, inpaint, import, video, jobs, show. They run on outframe.client, against OUTFRAME_URL with
OUTFRAME_KEY (or --base-url / --key), so they work against any server of the v2 API.

A submit command with --wait follows the job with a progress bar and ends with its image URLs;
follow-up steps after it make a chain in one command, run in the order given:
`outframe imagine "a lighthouse" --pick 2 --zoom 2 --zoom 2` generates, upsamples image 2, zooms
out, and (a zoom-out makes a grid, so) upsamples image 2 of that grid again before zooming again.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from tqdm import tqdm

from outframe.client.errors import ApiConnectionError, OutframeError
from outframe.client.models import Job, Submitted
from outframe.client.sync import Client

Submit = Callable[[Client, argparse.Namespace], Submitted]
Handler = Callable[[Client, argparse.Namespace], int]


class _Step(argparse.Action):
    """--pick/--zoom/--pan/--vary: appended in command-line order to `steps`."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        steps = list(getattr(namespace, "steps", None) or [])
        steps.append((self.dest, values))
        namespace.steps = steps


def _ratio(text: str) -> float:
    value = float(text)
    if not 1 < value <= 2:
        raise argparse.ArgumentTypeError(f"a zoom ratio is in (1, 2], like 1.5 or 2; not {text}")
    return value


def _index(text: str) -> int:
    if text not in ("1", "2", "3", "4"):
        raise argparse.ArgumentTypeError(f"an image of a grid is 1, 2, 3 or 4; not {text}")
    return int(text)


DIRECTIONS = ("up", "down", "left", "right")
STATUSES = ("QUEUED", "PROCESSING", "COMPLETED", "FAILED", "CANCELLED")


def _connection_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--base-url", help="the API (default: OUTFRAME_URL, else 127.0.0.1:8080)")
    common.add_argument("--key", help="the API key (default: OUTFRAME_KEY)")
    common.add_argument("--json", action="store_true", help="print the job as JSON, for scripts")
    return common


def _follow_options(common: argparse.ArgumentParser) -> argparse.ArgumentParser:
    options = argparse.ArgumentParser(add_help=False, parents=[common])
    options.add_argument("--wait", action="store_true", help="follow the job until it ends")
    options.add_argument("--download", metavar="DIR", type=Path, help="save its files (waits)")
    options.set_defaults(steps=[])
    return options


def _job_options(common: argparse.ArgumentParser) -> argparse.ArgumentParser:
    options = argparse.ArgumentParser(add_help=False, parents=[_follow_options(common)])
    chain = options.add_argument_group("then (each waits for the job before)")
    chain.add_argument(
        "--pick", type=_index, action=_Step, metavar="N", help="upsample image N of the grid"
    )
    chain.add_argument(
        "--zoom", type=_ratio, action=_Step, metavar="RATIO",
        help="zoom out (a grid first upsamples the last --pick)",
    )  # fmt: skip
    chain.add_argument("--pan", choices=DIRECTIONS, action=_Step, help="pan (as --zoom)")
    chain.add_argument(
        "--vary", type=_index, action=_Step, metavar="N", help="variations of image N of the grid"
    )
    return options


def register(sub: Any) -> None:
    """Add the client's commands to the `outframe` parser's subcommands."""
    common = _connection_options()
    job = _job_options(common)

    def command(name: str, help: str, handler: Handler, parents: list[Any]) -> Any:
        parser = sub.add_parser(name, help=help, parents=parents)
        parser.set_defaults(client_command=handler)
        return parser

    p = command("imagine", "generate a grid of four from a prompt", _submitting(_imagine), [job])
    p.add_argument("prompt")
    p.add_argument("--ar", metavar="W:H", help="aspect ratio, e.g. 3:2")
    p = command("upsample", "upsample image N of a grid", _submitting(_upsample), [job])
    p.add_argument("job")
    p.add_argument("index", type=_index)
    p = command("zoom", "zoom out an upsample or import", _submitting(_zoom), [job])
    p.add_argument("job")
    p.add_argument("--ratio", type=_ratio, default=2.0, help="1.5 or 2 (any in (1, 2])")
    p.add_argument("--prompt")
    p = command("pan", "grow an upsample or import by half one way", _submitting(_pan), [job])
    p.add_argument("job")
    p.add_argument("direction", choices=DIRECTIONS)
    p.add_argument("--prompt")
    p = command("vary", "variations of image N of a grid", _submitting(_vary), [job])
    p.add_argument("job")
    p.add_argument("index", type=_index)
    p.add_argument("--prompt")
    p = command("inpaint", "repaint the white part of a mask", _submitting(_inpaint), [job])
    p.add_argument("job")
    p.add_argument("--mask", required=True, type=Path, help="PNG of the parent's size")
    p.add_argument("--prompt")
    p = command("import", "import an image as a completed job", _submitting(_import), [job])
    p.add_argument("file", type=Path)
    p = command(
        "video",
        "a zoom video of the chain of zoom-outs that ends at an upsample",
        _submitting(_video),
        [_follow_options(common)],
    )
    p.add_argument("job", help="the upsample (or import) at the end of the chain")
    p.add_argument("--direction", choices=("out", "in"), default="out")
    p.add_argument("--fps", type=int, default=30)
    p.add_argument("--seconds-per-step", type=float, default=2.0, metavar="S")
    p.add_argument("--size", type=int, metavar="PX", help="the longer side (default: the images')")
    p.add_argument("--format", choices=("mp4", "webm"), default="mp4")
    p = command("show", "show a job (--wait: follow it)", _show, [job])
    p.add_argument("job")
    p = command("cancel", "cancel a job (refunded)", _cancel, [common])
    p.add_argument("job")
    p = command("jobs", "list your jobs, newest first", _list_jobs, [common])
    p.add_argument("--status", choices=STATUSES)
    p.add_argument("--limit", type=int, default=20)


def _imagine(client: Client, args: argparse.Namespace) -> Submitted:
    return client.generate(args.prompt, aspect_ratio=args.ar)


def _upsample(client: Client, args: argparse.Namespace) -> Submitted:
    return client.upsample(args.job, args.index)


def _zoom(client: Client, args: argparse.Namespace) -> Submitted:
    return client.outpaint(args.job, args.ratio, prompt=args.prompt)


def _pan(client: Client, args: argparse.Namespace) -> Submitted:
    return client.pan(args.job, args.direction, prompt=args.prompt)


def _vary(client: Client, args: argparse.Namespace) -> Submitted:
    return client.variation(args.job, args.index, prompt=args.prompt)


def _inpaint(client: Client, args: argparse.Namespace) -> Submitted:
    return client.inpaint(args.job, args.mask, prompt=args.prompt)


def _import(client: Client, args: argparse.Namespace) -> Submitted:
    return client.import_image(args.file)


def _video(client: Client, args: argparse.Namespace) -> Submitted:
    return client.zoom_video(
        args.job,
        direction=args.direction,
        fps=args.fps,
        seconds_per_step=args.seconds_per_step,
        size=args.size,
        video_format=args.format,
    )


def _submitting(submit: Submit) -> Handler:
    def handle(client: Client, args: argparse.Namespace) -> int:
        return _job_command(client, args, submit(client, args).job_id)

    return handle


def _show(client: Client, args: argparse.Namespace) -> int:
    return _job_command(client, args, args.job)


def _cancel(client: Client, args: argparse.Namespace) -> int:
    _print(client.cancel(args.job), as_json=args.json)
    return 0


def _list_jobs(client: Client, args: argparse.Namespace) -> int:
    page = client.list(status=args.status, limit=args.limit)
    if args.json:
        print(json.dumps({"jobs": [job.raw for job in page.jobs], "nextCursor": page.next_cursor}))
        return 0
    for job in page.jobs:
        print(f"{job.id}  {job.action:9}  {job.status:10}  {job.progress:3}%  {job.created_at}")
    return 0


def run(args: argparse.Namespace) -> int:
    """Run a client command; 1 when the API or the job says no, with its message."""
    # The client's retry notices (a 429's wait), not httpx's line per request.
    logging.basicConfig(level=logging.WARNING, format="outframe: %(message)s")
    logging.getLogger("outframe.client").setLevel(logging.INFO)
    try:
        client = Client(args.base_url, args.key)
    except OutframeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        with client:
            handler: Handler = args.client_command
            return handler(client, args)
    except ApiConnectionError as exc:
        print(f"error: cannot reach {client.http.base_url}: {exc}", file=sys.stderr)
    except OutframeError as exc:  # the API's error, a failed job, a chain that cannot go on
        print(f"error: {exc}", file=sys.stderr)
    except KeyboardInterrupt:
        return 130
    return 1


def _job_command(client: Client, args: argparse.Namespace, job_id: str) -> int:
    """Show the job, or follow it (and the chain after it) to the end; save its images."""
    follow = args.wait or bool(args.download) or bool(args.steps)
    job = _follow(client, job_id, quiet=args.json) if follow else client.get(job_id)
    job = _chain(client, job, args.steps, quiet=args.json)
    _print(job, as_json=args.json)
    if args.download:
        for path in client.download(job, args.download):
            print(f"saved {path}", file=sys.stderr)
    return 0


def _print(job: Job, *, as_json: bool) -> None:
    if as_json:
        print(json.dumps(job.raw))
    elif job.status == "COMPLETED":
        for url in (*job.images, job.grid_url, job.video_url):
            if url is not None:
                print(url)
    elif job.done:
        print(f"{job.id} {job.status}" + (f": {job.error}" if job.error else ""))
    else:
        print(f"{job.id} {job.status} (follow it: outframe show {job.id} --wait)")


def _follow(client: Client, job_id: str, *, quiet: bool) -> Job:
    """wait() with a progress bar on stderr."""
    with tqdm(
        total=100,
        desc=job_id[:8],
        unit="%",
        bar_format="{desc} {bar} {n:3.0f}% {elapsed}{postfix}",
        disable=quiet,
        file=sys.stderr,
    ) as bar:

        def show(job: Job) -> None:
            bar.set_description_str(f"{job.action} {job.id[:8]}", refresh=False)
            bar.set_postfix_str(job.status, refresh=False)
            bar.update(job.progress - bar.n)

        return client.wait(job_id, on_progress=show)


def _chain(client: Client, job: Job, steps: list[tuple[str, Any]], *, quiet: bool) -> Job:
    """Each step on the job before it; a zoom or pan of a grid upsamples the last pick first."""
    pick: int | None = None
    for kind, value in steps:
        if kind in ("zoom", "pan") and job.is_grid:
            if pick is None:
                raise OutframeError(
                    f"--{kind} needs one image, and job {job.id} is a grid: "
                    "say which with --pick N before it"
                )
            job = _follow(client, client.upsample(job.id, pick).job_id, quiet=quiet)
        if kind == "pick":
            pick = value
            submitted = client.upsample(job.id, value)
        elif kind == "vary":
            submitted = client.variation(job.id, value)
        elif kind == "zoom":
            submitted = client.outpaint(job.id, value)
        else:
            submitted = client.pan(job.id, value)
        job = _follow(client, submitted.job_id, quiet=quiet)
    return job
