#!/usr/bin/env python3
"""generators - lab 17: coroutines made of generators, scheduled in user space.

A round-robin scheduler drives --tasks generator "tasks"; each yields --steps times, and a
three-stage pipeline (source -> square -> sink, with send()) moves --items values. All of it
runs on one kernel thread ("generators") that never blocks: a kernel tracer sees one
thread on the CPU and nothing else, because the switching happens inside the interpreter.
"""
import argparse
import collections

import wl


def task(name, steps, log):
    for i in range(steps):
        log.append(name)
        yield i


def sink(out):
    while True:
        v = yield
        out.append(v)


def square(target):
    while True:
        v = yield
        target.send(v * v)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tasks", type=int, default=5)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--items", type=int, default=10000)
    a = ap.parse_args()
    wl.name_thread("generators")
    t0 = wl.now_ns()
    log = []
    ready = collections.deque(task(f"t{i}", a.steps, log) for i in range(a.tasks))
    switches = 0
    while ready:
        g = ready.popleft()
        try:
            next(g)
            switches += 1
            ready.append(g)
        except StopIteration:
            pass
    out = []
    s = sink(out)
    next(s)
    sq = square(s)
    next(sq)
    for v in range(a.items):
        sq.send(v)
    wl.truth(tasks=a.tasks, steps=a.steps, switches=switches, items=len(out),
             checksum=sum(out), kernel_threads=1, tid=wl.tid(), elapsed_ns=wl.now_ns() - t0)


if __name__ == "__main__":
    main()
