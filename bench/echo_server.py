"""A server that reads the body and answers 200 at once: what the load generator can do when the server costs nothing.

python -m uvicorn bench.echo_server:app --host 127.0.0.1 --port 9000 --no-access-log
"""

from __future__ import annotations

from typing import Any

_ANSWER = b'{"id":"00000000000000000000000000000000"}'
_HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(_ANSWER)).encode())]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
        return
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
    await send({"type": "http.response.body", "body": _ANSWER})
