#!/usr/bin/env python3
"""asyncio_stuck - two asyncio tasks each waiting for the other's Event: a deadlock with no
thread blocked (the loop idles in epoll_wait), visible only in the tasks.

"producer" waits for `consumer_ready` before it sets `data_ready`; "consumer" waits for
`data_ready` before it sets `consumer_ready`. main() gathers both. HANGS ON PURPOSE; kill it.
The ground-truth line is printed once both tasks are suspended.

--listen also serves a TCP port on 127.0.0.1 (port= in the ground truth): the tasks still
wait for each other, but a client could now connect and the loop would run again, so the loop
is not stalled: only what the program's logic does next can tell whether that ever helps.
"""
import asyncio
import os
import sys

consumer_ready = asyncio.Event()
data_ready = asyncio.Event()


async def produce():
    await consumer_ready.wait()
    data_ready.set()


async def consume():
    await data_ready.wait()
    consumer_ready.set()


async def report(port):
    await asyncio.sleep(0.05)   # both tasks are suspended in their wait by now
    print(f"hang=asyncio pid={os.getpid()}" + (f" port={port}" if port else ""), flush=True)


async def serve(reader, writer):
    writer.close()


async def main():
    port = 0
    if "--listen" in sys.argv[1:]:
        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
    await asyncio.gather(asyncio.create_task(produce(), name="producer"),
                         asyncio.create_task(consume(), name="consumer"), report(port))


if __name__ == "__main__":
    asyncio.run(main())
