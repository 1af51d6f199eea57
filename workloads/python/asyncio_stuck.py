#!/usr/bin/env python3
"""asyncio_stuck - two asyncio tasks each waiting for the other's Event: a deadlock with no
thread blocked (the loop idles in epoll_wait), visible only in the tasks.

"producer" waits for `consumer_ready` before it sets `data_ready`; "consumer" waits for
`data_ready` before it sets `consumer_ready`. main() gathers both. HANGS ON PURPOSE; kill it.
The ground-truth line is printed once both tasks are suspended.
"""
import asyncio
import os

consumer_ready = asyncio.Event()
data_ready = asyncio.Event()


async def produce():
    await consumer_ready.wait()
    data_ready.set()


async def consume():
    await data_ready.wait()
    consumer_ready.set()


async def report():
    await asyncio.sleep(0.05)   # both tasks are suspended in their wait by now
    print(f"hang=asyncio pid={os.getpid()}", flush=True)


async def main():
    await asyncio.gather(asyncio.create_task(produce(), name="producer"),
                         asyncio.create_task(consume(), name="consumer"), report())


if __name__ == "__main__":
    asyncio.run(main())
