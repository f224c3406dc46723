"""Server logging: OUTFRAME_LOG_LEVEL, and OUTFRAME_LOG_FORMAT=json (one JSON object a line, for
log collectors) or text. Request and job lines carry their fields as `extra`, which the JSON
format writes as keys of their own."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Literal

LogFormat = Literal["text", "json"]
# The `extra` fields of outframe's request and job lines (api/accesslog.py, services/joblog.py).
FIELDS = (
    "method",
    "path",
    "status",
    "ms",
    "request_id",
    "job_id",
    "action",
    "team",
    "job_status",
    "seconds",
    "error",
)
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """{"time", "level", "logger", "message", ...the line's fields, "exception"?}."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in FIELDS:
            value = record.__dict__.get(name)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure(level: str = "INFO", fmt: LogFormat = "text") -> None:
    """One handler on the root logger, on stderr; replaces what was there."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Libraries' chatter at INFO is not what the server did: keep it to warnings.
    for name in ("alembic", "httpx", "httpcore", "multipart"):
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
