"""The references of every benchmark (issue #11): a minimal FastAPI app and a raw ASGI app.

Both answer GET / with the same small JSON body. bench/serve.py serves them with exactly the
uvicorn flags of the app (one worker, loopback, `--loop auto --http auto`):

    python -m uvicorn bench.hello:app ...   # FastAPI, one `async def` route: the 100 % row
    python -m uvicorn bench.hello:raw ...   # a bare ASGI callable: what uvicorn alone costs
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import FastAPI

app = FastAPI()


@app.get("/")
async def hello() -> dict[str, str]:
    return {"hello": "world"}


BODY = b'{"hello":"world"}'
HEADERS = [
    (b"content-type", b"application/json"),
    (b"content-length", str(len(BODY)).encode()),
]

Message = MutableMapping[str, Any]


async def raw(
    scope: MutableMapping[str, Any],
    receive: Callable[[], Awaitable[Message]],
    send: Callable[[Message], Awaitable[None]],
) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})
