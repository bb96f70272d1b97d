"""One worker process of `errlog serve --workers N`: uvicorn serving the collector on the socket it inherits."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import socket
import sys
from collections.abc import Sequence

import uvicorn
from uvicorn.config import STARTUP_FAILURE

from errlog.cli.serve import APP, uvicorn_options
from errlog.settings import load_settings
from errlog.supervisor import HEARTBEAT_FD_ENV, HEARTBEAT_SECONDS_ENV


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m errlog.cli.serve_worker", description=__doc__)
    parser.add_argument("--fd", type=int, required=True, help="the listening socket's file descriptor")
    parser.add_argument("--log-level", default="info")
    parser.add_argument("--access-log", action="store_true", help="log a line per request")
    args = parser.parse_args(argv)
    listening = socket.socket(fileno=args.fd)
    server = uvicorn.Server(uvicorn.Config(APP, **uvicorn_options(load_settings(), args.log_level, args.access_log)))
    try:
        run(server, listening)
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


def run(server: uvicorn.Server, listening: socket.socket) -> None:
    """server.run(), with a heartbeat to the supervisor from the event loop when it asks for one."""
    heartbeat = os.environ.get(HEARTBEAT_FD_ENV)
    if heartbeat is None:
        server.run(sockets=[listening])
        return
    fd, interval = int(heartbeat), float(os.environ.get(HEARTBEAT_SECONDS_ENV, "1"))
    os.set_blocking(fd, False)

    async def serve() -> None:
        beating = asyncio.get_running_loop().create_task(beat(fd, interval))
        try:
            await server.serve(sockets=[listening])
        finally:
            beating.cancel()

    # What uvicorn's Server.run does, with the beat beside the server.
    with asyncio.Runner(loop_factory=server.config.get_loop_factory()) as runner:
        runner.run(serve())


async def beat(fd: int, interval: float) -> None:
    """A byte to the supervisor every `interval` seconds, for as long as this event loop keeps turning."""
    while True:
        try:
            os.write(fd, b".")
        except BlockingIOError:  # a full pipe: the supervisor has plenty of beats to read
            pass
        except OSError:  # the supervisor is gone; nothing to tell
            return
        await asyncio.sleep(interval)


if __name__ == "__main__":
    sys.exit(main())
