#!/usr/bin/env python3
"""green_frameworks - lab 28: Twisted and eventlet beside gevent: one thread, one loop.

--workers tasks each sleep --sleeps times for --sleep-ms, then compute --cpu-ms, written for
the --framework:
  twisted  - a Deferred chain per worker on the reactor (task.deferLater for the sleeps)
  eventlet - eventlet.spawn green threads, eventlet.sleep
  gevent   - gevent.spawn greenlets, gevent.sleep
  threads  - threading.Thread and time.sleep: one kernel thread per worker (the contrast)
Each worker records the OS thread it ran on: tids_used= counts them.
"""
import argparse
import threading
import time

import wl

tids = set()
done = [0]


def spin(ms):
    end = time.thread_time_ns() + ms * 1_000_000
    x = 0
    while time.thread_time_ns() < end:
        x += 1


def run_twisted(a):
    from twisted.internet import defer, reactor, task

    @defer.inlineCallbacks
    def worker():
        tids.add(wl.tid())
        for _ in range(a.sleeps):
            yield task.deferLater(reactor, a.sleep_ms / 1000, lambda: None)
        spin(a.cpu_ms)
        done[0] += 1

    d = defer.gatherResults([worker() for _ in range(a.workers)])
    d.addBoth(lambda _: reactor.stop())
    reactor.run()


def run_eventlet(a):
    import eventlet

    def worker():
        tids.add(wl.tid())
        for _ in range(a.sleeps):
            eventlet.sleep(a.sleep_ms / 1000)
        spin(a.cpu_ms)
        done[0] += 1

    pool = eventlet.GreenPool()
    for _ in range(a.workers):
        pool.spawn(worker)
    pool.waitall()


def run_gevent(a):
    import gevent

    def worker():
        tids.add(wl.tid())
        for _ in range(a.sleeps):
            gevent.sleep(a.sleep_ms / 1000)
        spin(a.cpu_ms)
        done[0] += 1

    gevent.joinall([gevent.spawn(worker) for _ in range(a.workers)])


def run_threads(a):
    def worker(i):
        tids.add(wl.tid())
        for _ in range(a.sleeps):
            time.sleep(a.sleep_ms / 1000)
        spin(a.cpu_ms)
        done[0] += 1

    ts = [wl.named_thread(f"worker-{i}", worker, i) for i in range(a.workers)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--framework", choices=("twisted", "eventlet", "gevent", "threads"),
                    default="twisted")
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--sleeps", type=int, default=10)
    ap.add_argument("--sleep-ms", type=int, default=10)
    ap.add_argument("--cpu-ms", type=int, default=10)
    a = ap.parse_args()
    wl.name_thread("green-main")
    t0 = wl.now_ns()
    {"twisted": run_twisted, "eventlet": run_eventlet, "gevent": run_gevent,
     "threads": run_threads}[a.framework](a)
    wl.truth(framework=a.framework, workers=a.workers, sleeps=a.sleeps, done=done[0],
             tids_used=len(tids), wall_ns=wl.now_ns() - t0)


if __name__ == "__main__":
    main()
