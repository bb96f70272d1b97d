"""One worker process of `errlog serve --workers N`: uvicorn serving the collector on the socket it inherits."""

from __future__ import annotations

import argparse
import logging
import socket
import sys
from collections.abc import Sequence

import uvicorn
from uvicorn.config import STARTUP_FAILURE

from errlog.cli.serve import APP, uvicorn_options
from errlog.settings import load_settings


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m errlog.cli.serve_worker", description=__doc__)
    parser.add_argument("--fd", type=int, required=True, help="the listening socket's file descriptor")
    parser.add_argument("--log-level", default="info")
    parser.add_argument("--access-log", action="store_true", help="log a line per request")
    args = parser.parse_args(argv)
    listening = socket.socket(fileno=args.fd)
    server = uvicorn.Server(uvicorn.Config(APP, **uvicorn_options(load_settings(), args.log_level, args.access_log)))
    try:
        server.run(sockets=[listening])
    except SystemExit:  # uvicorn's own way out when the app does not load or its lifespan fails
        if server.started:
            raise
    except Exception:
        if server.started:
            raise
        logging.getLogger("uvicorn.error").exception("the collector could not start")
    # A worker that never served (the app failed to load, its lifespan failed) tells the supervisor so, which then
    # stops instead of starting it again and again.
    return 0 if server.started else STARTUP_FAILURE


if __name__ == "__main__":
    sys.exit(main())
