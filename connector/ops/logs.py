"""Log lines as JSON objects, one a line, with the organization, directory and run of the line.

Asked for with ``CONNECTOR_LOG_FORMAT=json`` (every command) or ``--log-json`` (``worker``,
``scheduler``).  The CLI's redacting filter runs before the formatter, so a line holds no secret.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from datetime import timezone

from connector import log_context

LOG_FORMAT_ENV = "CONNECTOR_LOG_FORMAT"


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message", "org", "directory", "run_id", "exception"}``."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **log_context.current(),
        }
        if record.exc_info and record.exc_info[1] is not None:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def use_json_logs(root: logging.Logger | None = None) -> int:
    """Give every handler of the root logger the JSON formatter; how many it changed."""
    handlers = (root or logging.getLogger()).handlers
    for handler in handlers:
        handler.setFormatter(JsonFormatter())
    return len(handlers)
