#!/usr/bin/env python3
"""asyncio_loop - lab 16 twin: an asyncio event loop blocked by a coroutine.

The loop thread ("loop") runs a ticker coroutine that sleeps 10 ms at a time and measures
how late each tick is, an echo server on 127.0.0.1 (ephemeral port) and a client coroutine
that sends --requests requests, --slow of them slow. A slow request runs the --handler:
  ok     - nothing extra.
  sleep  - time.sleep(--block-ms) inside the coroutine: the whole loop stops.
  cpu    - a pure-Python loop for --block-ms: the loop stops, on CPU.
  thread - await asyncio.to_thread(time.sleep, ...): a worker thread sleeps, the loop runs.
"""
import argparse
import asyncio
import time

import wl

st = {"max_lag_ns": 0, "ticks": 0, "replies": 0, "max_latency_ns": 0}


def block_cpu(ms):
    end = time.thread_time_ns() + ms * 1_000_000
    x = 0
    while time.thread_time_ns() < end:
        for i in range(500):
            x += i


def name_worker():
    wl.name_thread("worker")
    st["worker_tid"] = wl.tid()


async def handle(reader, writer, handler, block_ms):
    while True:
        try:
            msg = await reader.readexactly(16)
        except asyncio.IncompleteReadError:
            break
        if msg[:1] == b"S":
            if handler == "sleep":
                time.sleep(block_ms / 1000)         # the bug: blocks the loop thread
            elif handler == "cpu":
                block_cpu(block_ms)                 # the bug: computes on the loop thread
            elif handler == "thread":
                await asyncio.to_thread(time.sleep, block_ms / 1000)
        writer.write(msg)
        await writer.drain()
        st["replies"] += 1
    writer.close()


async def ticker(stop, tick_ms):
    period = tick_ms / 1000
    while not stop.is_set():
        due = time.monotonic_ns() + tick_ms * 1_000_000
        await asyncio.sleep(period)
        st["max_lag_ns"] = max(st["max_lag_ns"], time.monotonic_ns() - due)
        st["ticks"] += 1


async def client(port, requests, slow):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    every = requests // slow if slow else 0
    for i in range(requests):
        is_slow = every and i % every == every // 2 and i // every < slow
        msg = (b"S" if is_slow else b"F") + f"-req-{i}".encode().ljust(15)[:15]
        t0 = time.monotonic_ns()
        writer.write(msg)
        await writer.drain()
        await reader.readexactly(16)
        st["max_latency_ns"] = max(st["max_latency_ns"], time.monotonic_ns() - t0)
        await asyncio.sleep(0.005)
    writer.close()


async def amain(a):
    loop = asyncio.get_running_loop()
    if a.handler == "thread":
        # name the executor's threads: run one naming call on every thread it will use
        import concurrent.futures
        loop.set_default_executor(concurrent.futures.ThreadPoolExecutor(
            max_workers=2, initializer=name_worker))
    server = await asyncio.start_server(lambda r, w: handle(r, w, a.handler, a.block_ms),
                                        "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    stop = asyncio.Event()
    tick = asyncio.create_task(ticker(stop, a.tick_ms))
    await client(port, a.requests, a.slow)
    stop.set()
    await tick
    server.close()
    await server.wait_closed()
    return port


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--handler", choices=("ok", "sleep", "cpu", "thread"), default="sleep")
    ap.add_argument("--requests", type=int, default=20)
    ap.add_argument("--slow", type=int, default=2)
    ap.add_argument("--block-ms", type=int, default=200)
    ap.add_argument("--tick-ms", type=int, default=10)
    a = ap.parse_args()
    a.slow = min(a.slow, a.requests)
    wl.name_thread("loop")
    t0 = wl.now_ns()
    port = asyncio.run(amain(a))
    wl.truth(handler=a.handler, requests=a.requests, slow=a.slow, block_ms=a.block_ms,
             replies=st["replies"], port=port, loop_tid=wl.tid(),
             worker_tid=st.get("worker_tid", 0), ticks=st["ticks"],
             max_tick_lag_ns=st["max_lag_ns"], max_latency_ns=st["max_latency_ns"],
             elapsed_ns=wl.now_ns() - t0)


if __name__ == "__main__":
    main()
