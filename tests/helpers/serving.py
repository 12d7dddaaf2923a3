"""An aiohttp application served on a loopback port, in a background thread with its own event loop."""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import aiohttp
from aiohttp import web

WebSocket = web.WebSocketResponse | aiohttp.ClientWebSocketResponse


@contextmanager
def serving(app: web.Application, ssl_context: ssl.SSLContext | None = None) -> Iterator[str]:
    """Run `app` on a free loopback port in a background thread with its own event loop; yield its URL
    (https with `ssl_context`)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    runner = web.AppRunner(app)
    asyncio.run_coroutine_threadsafe(runner.setup(), loop).result(10)
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context)
    asyncio.run_coroutine_threadsafe(site.start(), loop).result(10)
    try:
        yield f"{'https' if ssl_context else 'http'}://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


async def relay(one: WebSocket, other: WebSocket) -> None:
    """Pass text and binary messages between two WebSockets, both ways, until either side ends; no reader is
    left behind while the caller closes the sockets."""
    tasks = [asyncio.ensure_future(_pump(one, other)), asyncio.ensure_future(_pump(other, one))]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _pump(source: WebSocket, sink: WebSocket) -> None:
    async for message in source:
        if message.type == aiohttp.WSMsgType.TEXT:
            await sink.send_str(message.data)
        elif message.type == aiohttp.WSMsgType.BINARY:
            await sink.send_bytes(message.data)
        else:
            break
