#!/usr/bin/env python3
"""daemon_threads - lab 15 twin: daemon threads at interpreter shutdown.

Thread "worker" takes --jobs jobs from a queue.Queue, then waits in q.get() for more.
  daemon - the worker is a daemon thread: main returns, the interpreter exits and the
           worker dies inside its wait, never finishing.
  joined - a non-daemon worker: main sends a stop item and joins it; it returns normally.
The ground-truth line is printed (and flushed) before main returns.
"""
import argparse
import queue
import threading
import time

import wl

state = {"finished": 0, "waiting": 0, "tid": 0}
idle = threading.Event()


def worker(q, job_ms):
    state["tid"] = wl.tid()
    while True:
        if q.empty():
            state["waiting"] = 1
            idle.set()
        item = q.get()
        state["waiting"] = 0
        idle.clear()
        if item is None:
            break
        time.sleep(job_ms / 1000)
    state["finished"] = 1


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variant", choices=("daemon", "joined"), default="daemon")
    ap.add_argument("--jobs", type=int, default=3)
    ap.add_argument("--job-ms", type=int, default=20)
    a = ap.parse_args()
    wl.name_thread("daemon-main")
    q = queue.Queue()
    for i in range(a.jobs):
        q.put(i)
    t = wl.named_thread("worker", worker, q, a.job_ms, daemon=a.variant == "daemon")
    t.start()
    while not (idle.wait(1) and q.empty() and state["waiting"]):
        pass
    if a.variant == "joined":
        q.put(None)
        t.join()
    wl.truth(variant=a.variant, jobs=a.jobs, worker_tid=state["tid"], main_tid=wl.tid(),
             worker_finished=state["finished"], worker_waiting_at_exit=state["waiting"],
             worker_wait_object="queue.Queue.get")


if __name__ == "__main__":
    main()
