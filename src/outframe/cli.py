"""The `outframe` command: serve, manage keys and credits on the database directly, and (from
outframe.client.cli) make jobs through the API."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from outframe.client import cli as client_cli

# The server's parts are imported by the commands that use them: the client's commands
# (outframe imagine, ...) start without the database, the engines or pydantic-settings.
if TYPE_CHECKING:
    from outframe.core.config import Settings
    from outframe.store.db import Database


def _database(settings: Settings) -> Database:
    from outframe.store.db import open_database

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return open_database(settings.resolved_database_url())


def cmd_keys_create(settings: Settings, args: argparse.Namespace) -> int:
    from outframe.services import keys

    with _database(settings).write() as session:
        key, plaintext = keys.create_key(
            session,
            name=args.name,
            credits_=args.credits,
            team_id=args.team_id,
            max_concurrent_jobs=args.max_concurrent_jobs or settings.default_max_concurrent_jobs,
        )
        print(f"created key {key.id} (team {key.team_id}) with {args.credits} credits")
        print("the key is shown once; store it now:")
    print(plaintext)
    return 0


def cmd_keys_list(settings: Settings, _: argparse.Namespace) -> int:
    from outframe.services import credits, keys

    with _database(settings).session() as session:
        rows = keys.list_keys(session)
        print(f"{'id':36}  {'team':36}  {'name':20}  {'prefix':10}  active  credits")
        for key in rows:
            balance = credits.balance(session, key.team_id)
            print(
                f"{key.id:36}  {key.team_id:36}  {key.name[:20]:20}  {key.prefix:10}  "
                f"{'yes' if key.active else 'no':6}  {balance}"
            )
    return 0


def cmd_keys_set_active(settings: Settings, args: argparse.Namespace) -> int:
    from outframe.services import keys

    with _database(settings).write() as session:
        key = keys.set_active(session, args.id, args.command == "enable")
        print(f"key {key.id} is now {'active' if key.active else 'disabled'}")
    return 0


def cmd_credits_grant(settings: Settings, args: argparse.Namespace) -> int:
    from outframe.services import credits, keys
    from outframe.store.models import ApiKey

    with _database(settings).write() as session:
        key: ApiKey = keys.get_key(session, args.key_id)
        balance = credits.grant(session, key.team_id, args.amount)
        print(f"granted {args.amount} credits to team {key.team_id}; balance {balance}")
    return 0


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    from outframe.engines import load_engine
    from outframe.server import serve

    if args.host:
        settings.host = args.host
    if args.port:
        settings.port = args.port
    if args.no_worker:
        settings.workers = 0
    engine = None
    if settings.workers and settings.queue == "embedded":
        # Check the settings and load the models now, before uvicorn: an engine that cannot
        # start is then a one-line error here.
        engine = load_engine(settings)
        engine.start()
    serve(settings, engine=engine)
    return 0


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    from outframe.engines import check_engine

    check_engine(settings)  # before migrations and the broker: the engine starts after them
    if settings.queue == "celery":
        from outframe.queue.celery import run_worker

        run_worker(settings)
        return 0
    from outframe.worker import run_embedded_worker

    run_embedded_worker(settings)
    return 0


def cmd_migrate(settings: Settings, _: argparse.Namespace) -> int:
    _database(settings).dispose()
    print(f"schema up to date on {settings.resolved_database_url().split('@')[-1]}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="outframe", description=__doc__)
    sub = parser.add_subparsers(dest="group", required=True)

    serve = sub.add_parser("serve", help="run the API and the worker pool")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--no-worker", action="store_true", help="API only; workers run elsewhere")
    serve.set_defaults(func=cmd_serve)

    worker = sub.add_parser(
        "worker", help="run jobs without the API (Celery worker, or threads on a shared database)"
    )
    worker.set_defaults(func=cmd_worker)

    sub.add_parser("migrate", help="bring the database schema up to date").set_defaults(
        func=cmd_migrate
    )

    key_parser = sub.add_parser("keys", help="create, list, disable API keys")
    key_sub = key_parser.add_subparsers(dest="command", required=True)
    create = key_sub.add_parser("create", help="create a key; prints the plaintext last")
    create.add_argument("--name", required=True)
    create.add_argument("--credits", type=int, default=0)
    create.add_argument("--team-id", help="add the key to an existing team (default: a new team)")
    create.add_argument("--max-concurrent-jobs", type=int)
    create.set_defaults(func=cmd_keys_create)
    key_sub.add_parser("list", help="list keys").set_defaults(func=cmd_keys_list)
    for verb in ("disable", "enable"):
        p = key_sub.add_parser(verb, help=f"{verb} a key")
        p.add_argument("id")
        p.set_defaults(func=cmd_keys_set_active)

    credit_parser = sub.add_parser("credits", help="grant credits")
    credit_sub = credit_parser.add_subparsers(dest="command", required=True)
    grant = credit_sub.add_parser("grant", help="add credits to a key's team")
    grant.add_argument("--key-id", required=True)
    grant.add_argument("amount", type=int)
    grant.set_defaults(func=cmd_credits_grant)
    client_cli.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if hasattr(args, "client_command"):
        # A user of the API: no server settings, no database.
        return client_cli.run(args)
    from pydantic import ValidationError

    from outframe.core import logs
    from outframe.core.config import Settings
    from outframe.engines import EngineConfigError
    from outframe.services.errors import ServiceError

    logging.basicConfig(level=logging.INFO, format=logs.TEXT_FORMAT)
    try:
        settings = Settings()
    except ValidationError as exc:
        for error in exc.errors():
            name = "OUTFRAME_" + "_".join(str(part) for part in error["loc"]).upper()
            print(f"error: {name}={error['input']!r}: {error['msg']}", file=sys.stderr)
        return 2
    logs.configure(settings.log_level, settings.log_format)
    try:
        return int(args.func(settings, args))
    except ServiceError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    except EngineConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
