#!/usr/bin/env python3
"""queue_pc - lab 10 twin: producer/consumer through queue.Queue(maxsize).

Thread "producer" puts --items items; --consumers threads "consumer-i" get them (a None per
consumer ends the run). With maxsize 1 every item makes the producer wait for room and a
consumer wait for an item: about two wake-ups per item. With maxsize 1000 the producer runs
ahead and few waits happen.

--sure-waits makes two waits certain, whatever the scheduler does: the producer puts its first
item only once consumer-0 sleeps in get() (it is among the Condition's waiters and its thread
sleeps in an untimed futex wait: the waiter Lock's, the GIL's waits being timed or on a mutex),
and the end-of-items markers only once the main thread sleeps in join() of consumer-0 (the
same test on its thread, after it said it was joining), which cannot return before a marker.

--stops N puts N end-of-items markers instead of one per consumer. Fewer HANGS ON PURPOSE (the
classic missing sentinel): the consumers left without one wait in get() on the empty queue for
ever, and main in join(). The ground-truth line (hang=stops) is printed once they sleep there.
"""
import argparse
import queue
import time

import wl

stats = {}
def producer(q, items, consumers, produce_us, sure, stops):
    stats["producer_tid"] = wl.tid()
    blocked = 0
    if sure:
        wl.until(lambda: "consumer-0" in stats and q.not_empty._waiters and
                 wl.sleeps_untimed(stats["consumer-0"][0]))
    for i in range(items):
        if produce_us:
            time.sleep(produce_us / 1e6)
        t0 = wl.now_ns()
        q.put(i)
        blocked += wl.now_ns() - t0
    if sure:
        wl.until(lambda: stats.get("joining") and wl.sleeps_untimed(stats["main_tid"]))
    for _ in range(stops):
        q.put(None)
    stats["put_ns"] = blocked
    if stops < consumers:
        # the consumers that got no marker, once each sleeps in get() on the empty queue
        left = lambda: [stats[n][0] for n in stats["names"] if n not in stats["ended"]]
        wl.until(lambda: len(left()) == consumers - stops and
                 len(q.not_empty._waiters) == len(left()) and
                 all(wl.sleeps_untimed(t) for t in left()))
        wl.truth(hang="stops", pid=wl.pid(), object="q", consumers=consumers, stops=stops,
                 waiting=",".join(str(t) for t in left()), main_tid=stats["main_tid"])




def consumer(name, q, consume_us):
    stats[name] = [wl.tid(), 0, 0]
    while True:
        t0 = wl.now_ns()
        item = q.get()
        stats[name][2] += wl.now_ns() - t0
        if item is None:
            stats["ended"].add(name)
            break
        stats[name][1] += 1
        if consume_us:
            time.sleep(consume_us / 1e6)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--maxsize", type=int, default=1)
    ap.add_argument("--items", type=int, default=2000)
    ap.add_argument("--consumers", type=int, default=1)
    ap.add_argument("--produce-us", type=int, default=0)
    ap.add_argument("--consume-us", type=int, default=0, help="a slow consumer's work")
    ap.add_argument("--sure-waits", action="store_true",
                    help="consumer-0 surely waits in get(), main surely in join()")
    ap.add_argument("--stops", type=int, default=None,
                    help="end-of-items markers to put (default: one per consumer); "
                         "fewer hang on purpose")
    a = ap.parse_args()
    stops = a.consumers if a.stops is None else a.stops
    if a.consumers < 1 or not 0 <= stops <= a.consumers:
        wl.die("queue_pc: --consumers must be at least 1 and --stops from 0 to --consumers")
    wl.name_thread("queue-main")
    q = queue.Queue(maxsize=a.maxsize)
    names = [f"consumer-{i}" for i in range(a.consumers)]
    stats["names"], stats["ended"] = names, set()
    t0 = wl.now_ns()
    ts = [wl.named_thread(n, consumer, n, q, a.consume_us) for n in names]
    ts.append(wl.named_thread("producer", producer, q, a.items, a.consumers, a.produce_us,
                              a.sure_waits, stops))
    stats["main_tid"] = wl.tid()
    for t in ts:
        t.start()
    stats["joining"] = True
    for t in ts:
        t.join()
    wl.truth(maxsize=a.maxsize, items=a.items, consumers=a.consumers,
             consumed=sum(stats[n][1] for n in names), put_blocked_ns=stats["put_ns"],
             get_blocked_ns=sum(stats[n][2] for n in names),
             producer_tid=stats["producer_tid"], main_tid=stats["main_tid"],
             consumer_tids=",".join(str(stats[n][0]) for n in names),
             elapsed_ns=wl.now_ns() - t0)


if __name__ == "__main__":
    main()
