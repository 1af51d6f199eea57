#!/usr/bin/env python3
"""gevent_green - lab 17: green threads with gevent (Debian: python3-gevent).

--workers sleepy workers each sleep --sleeps times for --sleep-ms, plus one CPU loop of
--cpu-ms that never yields.
  threads - real OS threads ("worker-i"): sleeps are clock_nanosleep in each thread.
  gevent  - gevent.monkey.patch_all(): every worker is a greenlet on ONE kernel thread;
            sleeps become timers of the hub's loop (epoll_wait), and the CPU greenlet
            stalls all the others until it finishes.
Needs the gevent module (apt-get install python3-gevent, then run with /usr/bin/python3).
"""
import argparse
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mode", choices=("threads", "gevent"), default="gevent")
    ap.add_argument("--workers", type=int, default=10)
    ap.add_argument("--sleeps", type=int, default=10)
    ap.add_argument("--sleep-ms", type=int, default=10)
    ap.add_argument("--cpu-ms", type=int, default=100)
    a = ap.parse_args()
    if a.mode == "gevent":
        try:
            from gevent import monkey
        except ImportError:
            print("gevent is not installed for this interpreter "
                  f"({sys.executable}): apt-get install python3-gevent and run it with "
                  "/usr/bin/python3", file=sys.stderr)
            sys.exit(3)
        monkey.patch_all()
    import threading
    import time

    import wl

    wl.name_thread("green-main")
    tids = set()
    lag = [0]

    def sleeper(i):
        if a.mode == "threads":
            wl.name_thread(f"worker-{i}")
        tids.add(wl.tid())
        for _ in range(a.sleeps):
            due = time.monotonic_ns() + a.sleep_ms * 1_000_000
            time.sleep(a.sleep_ms / 1000)
            lag[0] = max(lag[0], time.monotonic_ns() - due)

    def cpu():
        tids.add(wl.tid())
        time.sleep(a.sleep_ms * 2 / 1000)
        end = time.monotonic_ns() + a.cpu_ms * 1_000_000
        x = 0
        while time.monotonic_ns() < end:
            x += 1

    t0 = wl.now_ns()
    ts = [threading.Thread(target=sleeper, args=(i,)) for i in range(a.workers)]
    ts.append(threading.Thread(target=cpu))
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    wl.truth(mode=a.mode, workers=a.workers, sleeps=a.sleeps, tids_used=len(tids),
             main_tid=wl.tid(), max_sleep_lag_ns=lag[0], cpu_ms=a.cpu_ms,
             elapsed_ns=wl.now_ns() - t0)


if __name__ == "__main__":
    main()
