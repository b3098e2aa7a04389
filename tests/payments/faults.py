"""A gateway that misbehaves like a real network: a TCP proxy in front of localstripe.

Our server talks to localstripe through it. It passes bytes both ways until told otherwise:
- `hang()`: connections are taken and requests read, but nothing is forwarded or answered
  (a gateway that hangs instead of refusing), until `release()`;
- `hold_charges()`: a charge (POST /v1/payment_intents/<id>/confirm) reaches localstripe, which
  charges, but its answer is held at the proxy until `release()` (`charge_answered` is set once
  localstripe has answered), so the test can kill our server between the charge and our commit;
- `refuse()`: each connection is closed as soon as it is taken.

It runs its own event loop in a thread, so it keeps working while the test's loop waits on a
process or sleeps.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

CHARGE = re.compile(rb"POST /v1/payment_intents/[A-Za-z0-9_]+/confirm[ ?]")


class GatewayProxy:
    def __init__(self, upstream_url: str) -> None:
        upstream = urlsplit(upstream_url)
        self._upstream_host = upstream.hostname or "127.0.0.1"
        self._upstream_port = upstream.port or 80
        self._mode = "pass"
        self._delay = 0.0
        self.charge_answered = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._released = asyncio.Event()  # set while nothing is held
        self._released.set()
        self._server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._serve, "127.0.0.1", 0), self._loop
        ).result(10)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"

    # --- what the test does ---------------------------------------------------------------

    def hang(self) -> None:
        self._set_mode("hang")

    def hold_charges(self) -> None:
        self.charge_answered.clear()
        self._set_mode("hold_charges")

    def refuse(self) -> None:
        self._set_mode("refuse")

    def slow(self, seconds: float) -> None:
        """Every answer is passed on this much later (a slow gateway, not a hung one)."""
        self._delay = seconds

    def release(self) -> None:
        """Back to passing traffic; held answers go on to whoever still waits for them."""
        self._delay = 0.0
        self._set_mode("pass")

    def stop(self) -> None:
        async def close() -> None:
            self._server.close()
            self._released.set()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    # --- the proxy ------------------------------------------------------------------------

    def _set_mode(self, mode: str) -> None:
        async def apply() -> None:
            self._mode = mode
            if mode == "pass":
                self._released.set()
            else:
                self._released = asyncio.Event()

        asyncio.run_coroutine_threadsafe(apply(), self._loop).result(10)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._mode == "refuse":
            writer.close()
            return
        if self._mode == "hang":
            await self._swallow(reader, self._released)
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(
                self._upstream_host, self._upstream_port
            )
        except OSError:
            writer.close()
            return
        held = asyncio.Event()  # this connection's last request was a charge to hold
        with self._closing(writer, up_writer):
            await asyncio.gather(
                self._requests(reader, up_writer, held),
                self._answers(up_reader, writer, held),
                return_exceptions=True,
            )

    async def _requests(
        self, reader: asyncio.StreamReader, upstream: asyncio.StreamWriter, held: asyncio.Event
    ) -> None:
        while data := await reader.read(65536):
            if self._mode == "refuse":
                upstream.close()
                return
            if self._mode == "hang":
                # Hung: this request is never forwarded; the connection dies with the hang.
                await self._swallow(reader, self._released)
                upstream.close()
                return
            if self._mode == "hold_charges" and CHARGE.search(data):
                held.set()
            upstream.write(data)
            await upstream.drain()
        upstream.close()

    async def _answers(
        self, upstream: asyncio.StreamReader, writer: asyncio.StreamWriter, held: asyncio.Event
    ) -> None:
        while data := await upstream.read(65536):
            if held.is_set():
                self.charge_answered.set()  # localstripe has charged and answered
                await self._released.wait()
                held.clear()
            if self._delay:
                await asyncio.sleep(self._delay)
            writer.write(data)
            await writer.drain()
        writer.close()

    @staticmethod
    async def _swallow(reader: asyncio.StreamReader, until: asyncio.Event) -> None:
        """Read and drop whatever comes, until the client goes or the hang is over."""
        while not until.is_set():
            try:
                async with asyncio.timeout(0.2):
                    if not await reader.read(65536):
                        return
            except TimeoutError:
                continue

    @staticmethod
    @contextmanager
    def _closing(*writers: asyncio.StreamWriter) -> Iterator[None]:
        try:
            yield
        finally:
            for writer in writers:
                with contextlib.suppress(Exception):
                    writer.close()
