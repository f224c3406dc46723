"""API keys and teams: created, listed, disabled and checked; only SHA-256 hashes are stored."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.orm import Session

from outframe.services import credits
from outframe.services.clock import new_id, utcnow
from outframe.services.errors import Forbidden, NotFound, Unauthorized
from outframe.store.db import PreparedQuery
from outframe.store.models import ApiKey, Team

KEY_PREFIX = "afk_"
# Built once: every request runs it, and building a statement costs more than running it.
_KEY_BY_HASH = PreparedQuery(
    select(ApiKey.id, ApiKey.name, ApiKey.key_hash, ApiKey.team_id, ApiKey.active).where(
        ApiKey.key_hash == bindparam("digest")
    )
)


@dataclass(frozen=True)
class Caller:
    """Who is calling: the key that authenticated and its team."""

    key_id: str
    key_name: str
    key_hash: str
    team_id: str


def hash_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def create_key(
    session: Session,
    *,
    name: str,
    credits_: int = 0,
    team_id: str | None = None,
    max_concurrent_jobs: int = 3,
) -> tuple[ApiKey, str]:
    """Create a key (and a team for it unless one is named); returns the key and its plaintext."""
    now = utcnow()
    if team_id is None:
        team = Team(
            id=new_id(),
            name=name,
            credits=0,
            max_concurrent_jobs=max_concurrent_jobs,
            created_at=now,
        )
        session.add(team)
        session.flush()
    else:
        found = session.get(Team, team_id)
        if found is None:
            raise NotFound(f"no team with id {team_id}")
        team = found
    plaintext = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        id=new_id(),
        team_id=team.id,
        name=name,
        key_hash=hash_key(plaintext),
        prefix=plaintext[:10],
        active=True,
        created_at=now,
    )
    session.add(key)
    session.flush()
    if credits_:
        credits.grant(session, team.id, credits_)
    return key, plaintext


def authenticate(conn: Connection | Session, plaintext: str | None) -> Caller:
    """Resolve the X-API-Key header to a caller, or raise 401/403."""
    if not plaintext:
        raise Unauthorized("API key is required", code="missing_api_key")
    return authenticate_digest(conn, hash_key(plaintext))


def authenticate_digest(conn: Connection | Session, digest: str) -> Caller:
    row = _KEY_BY_HASH.first(conn, digest=digest)
    # The index lookup finds the row; the constant-time compare keeps the final check honest.
    if row is None or not hmac.compare_digest(row["key_hash"], digest):
        raise Unauthorized("Invalid API key", code="invalid_api_key")
    if not row["active"]:
        raise Forbidden("API key is inactive", code="inactive_api_key")
    return Caller(key_id=row["id"], key_name=row["name"], key_hash=digest, team_id=row["team_id"])


class CallerCache:
    """Remembers recent key checks for `ttl` seconds, so most requests skip the key lookup.

    The price: a key disabled in the database is still accepted for up to `ttl` seconds by
    a node that saw it just before. Unknown keys are never cached, so guessing cannot fill it.
    """

    def __init__(self, ttl: float, max_entries: int = 10_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[str, tuple[float, Caller | Forbidden]] = {}

    def get(self, digest: str) -> Caller | Forbidden | None:
        entry = self._entries.get(digest)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, digest: str, outcome: Caller | Forbidden) -> None:
        if self.ttl <= 0:
            return
        if len(self._entries) >= self.max_entries:
            self._entries.clear()  # crude, but bounded; a refill costs one lookup per key
        self._entries[digest] = (time.monotonic() + self.ttl, outcome)


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.created_at)))


def set_active(session: Session, key_id: str, active: bool) -> ApiKey:
    key = session.get(ApiKey, key_id)
    if key is None:
        raise NotFound(f"no API key with id {key_id}")
    key.active = active
    return key


def get_key(session: Session, key_id: str) -> ApiKey:
    key = session.get(ApiKey, key_id)
    if key is None:
        raise NotFound(f"no API key with id {key_id}")
    return key
