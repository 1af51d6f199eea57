#!/usr/bin/env python3
"""async_gather - lab 24: asyncio.gather against awaiting one coroutine after the other.

--tasks coroutines each wait --delay-ms (asyncio.sleep: a timer of the event loop), --rounds
times over:
  gather     - asyncio.gather(*coroutines): the waits overlap; a round takes one delay.
  sequential - for c in coroutines: await c: one wait after the other; a round takes
               tasks x delay (the broken one: async code that is not concurrent).
  tasks      - asyncio.create_task for each, then await them: the same overlap as gather.
The loop thread is named "loop".
"""
import argparse
import asyncio

import wl

done = {"n": 0}


async def job(delay_s):
    await asyncio.sleep(delay_s)
    done["n"] += 1


async def main_async(mode, tasks, rounds, delay_s):
    for _ in range(rounds):
        if mode == "gather":
            await asyncio.gather(*(job(delay_s) for _ in range(tasks)))
        elif mode == "tasks":
            ts = [asyncio.create_task(job(delay_s)) for _ in range(tasks)]
            for t in ts:
                await t
        else:
            for _ in range(tasks):
                await job(delay_s)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mode", choices=("gather", "sequential", "tasks"), default="gather")
    ap.add_argument("--tasks", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--delay-ms", type=int, default=40)
    a = ap.parse_args()
    wl.name_thread("loop")
    t0 = wl.now_ns()
    asyncio.run(main_async(a.mode, a.tasks, a.rounds, a.delay_ms / 1000))
    wall = wl.now_ns() - t0
    wl.truth(mode=a.mode, tasks=a.tasks, rounds=a.rounds, delay_ms=a.delay_ms, done=done["n"],
             wall_ns=wall, serial_ns=a.tasks * a.rounds * a.delay_ms * 1_000_000)


if __name__ == "__main__":
    main()
