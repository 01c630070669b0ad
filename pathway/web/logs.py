"""Logging for `pathway serve`: the request line's method, path and status, and nothing a user typed.

Referral answers travel only in request bodies, which are never logged. The
access log drops the query string too, in case someone puts answers there.
"""
from __future__ import annotations

import copy
import logging
from typing import Any

from uvicorn.logging import AccessFormatter

from .security import loggable


class PathOnlyAccessFormatter(AccessFormatter):
    """uvicorn's access line, with the query string and any job id cut from the path."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        args = record.args
        if isinstance(args, tuple) and len(args) == 5:
            record = copy.copy(record)
            client, method, full_path, version, status = args
            record.args = (client, method, loggable(str(full_path)), version, status)
        return super().formatMessage(record)


def log_config(level: str = "info") -> dict[str, Any]:
    """uvicorn's logging set-up with the path-only access formatter and the app's own logger."""
    upper = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "default": {"()": "uvicorn.logging.DefaultFormatter", "fmt": "%(levelprefix)s %(message)s",
                        "use_colors": None},
            "access": {"()": f"{__name__}.PathOnlyAccessFormatter",
                       "fmt": '%(levelprefix)s %(client_addr)s - "%(request_line)s" %(status_code)s'},
        },
        "handlers": {
            "default": {"formatter": "default", "class": "logging.StreamHandler", "stream": "ext://sys.stderr"},
            "access": {"formatter": "access", "class": "logging.StreamHandler", "stream": "ext://sys.stdout"},
        },
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": upper, "propagate": False},
            "uvicorn.error": {"level": upper},
            "uvicorn.access": {"handlers": ["access"], "level": upper, "propagate": False},
            "pathway.web": {"handlers": ["default"], "level": upper, "propagate": False},
        },
    }
