"""A TCP relay that may hold every chunk for a while: the network's delay, where netem is missing.

    python relay.py --listen tcp:HOST:PORT|unix:PATH --target HOST:PORT [--delay SECONDS]

Standard library only: the tests run it inside a namespace with ``ip netns exec``. Each
accepted connection is joined to a new connection to ``--target``; in each direction a
reader takes chunks as they come and stamps them, and a writer sends each one ``--delay``
seconds after it arrived, in order. So the delay adds latency without limiting throughput
(chunks in flight overlap), as a long link would. An end of stream is passed on, delayed
like the data. The relay prints ``ready`` on stdout once it listens, and runs until killed.

The tests use it twice: with a delay, as the slow link between the agents and the manager;
without, on a Unix socket, as the test's own way into the manager's namespace (a Unix socket
in the file system is reachable from any network namespace).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def send() -> None:
        while True:
            due, chunk = await queue.get()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if not chunk:
                with contextlib.suppress(OSError):
                    if writer.can_write_eof():
                        writer.write_eof()
                return
            writer.write(chunk)
            await writer.drain()

    sender = asyncio.create_task(send())
    try:
        while True:
            chunk = await reader.read(65536)
            queue.put_nowait((loop.time() + delay, chunk))
            if not chunk:
                break
        await sender
    except (OSError, asyncio.IncompleteReadError):
        sender.cancel()
    finally:
        if not sender.done():
            sender.cancel()


async def _join(
    target: tuple[str, int],
    delay: float,
    client_reader: asyncio.StreamReader,
    client_writer: asyncio.StreamWriter,
) -> None:
    try:
        server_reader, server_writer = await asyncio.wait_for(
            asyncio.open_connection(*target), timeout=10
        )
    except (OSError, TimeoutError):
        client_writer.close()
        return
    try:
        await asyncio.gather(
            _pump(client_reader, server_writer, delay),
            _pump(server_reader, client_writer, delay),
            return_exceptions=True,
        )
    finally:
        for writer in (server_writer, client_writer):
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


async def _serve(listen: str, target: tuple[str, int], delay: float) -> None:
    def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> asyncio.Future[None]:
        return asyncio.ensure_future(_join(target, delay, r, w))

    kind, _, where = listen.partition(":")
    if kind == "unix":
        server = await asyncio.start_unix_server(handler, path=where)
    else:
        host, _, port = where.rpartition(":")
        server = await asyncio.start_server(handler, host=host, port=int(port))
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="A delaying TCP relay.")
    parser.add_argument("--listen", required=True, help="tcp:HOST:PORT or unix:PATH")
    parser.add_argument("--target", required=True, help="HOST:PORT")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds, each way")
    args = parser.parse_args(argv)
    host, _, port = args.target.rpartition(":")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.listen, (host, int(port)), args.delay))
    return 0


if __name__ == "__main__":
    sys.exit(main())
