#!/usr/bin/env python3
"""mp_ipc - lab 22: what crosses the boundary between two processes, and how.

The parent hands --items items of --payload-kb KiB each to a child process (fork), which adds
up their first bytes and hands the sum back. How the sum comes back is the --mode:
  global  - the child adds into a module global. fork gave the child a copy of the parent's
            memory: the parent's global never changes, it sees 0 (the broken one).
  queue   - multiprocessing.Queue both ways: every object is pickled, written to a pipe by a
            feeder thread and unpickled by the reader.
  pipe    - multiprocessing.Pipe: send() pickles through a socket pair, recv() unpickles.
  value   - multiprocessing.Value (shared memory) under its lock; the items still go by Queue.
  manager - multiprocessing.Manager().dict(): a server process holds the dict; every access
            is a message to it.
The ground-truth line gives the pickled bytes that went to the child (pickle.dumps of each).
"""
import argparse
import multiprocessing as mp
import os
import pickle

import wl

total = 0   # the global the 'global' child writes to


def child(mode, inbox, outbox, shared):
    global total
    wl.name_thread("mp-child")
    s = 0
    while True:
        item = inbox.recv() if mode == "pipe" else inbox.get()
        if item is None:
            break
        s += item[0]
    if mode == "global":
        total += s
    elif mode == "value":
        with shared.get_lock():
            shared.value += s
    elif mode == "manager":
        shared["total"] = s
    elif mode == "pipe":
        inbox.send(s)
    else:
        outbox.put(s)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mode", choices=("global", "queue", "pipe", "value", "manager"),
                    default="queue")
    ap.add_argument("--items", type=int, default=200)
    ap.add_argument("--payload-kb", type=int, default=16)
    a = ap.parse_args()
    wl.name_thread("mp-parent")
    ctx = mp.get_context("fork")
    items = [bytes([i % 251]) * (a.payload_kb * 1024) for i in range(a.items)]
    expected = sum(i % 251 for i in range(a.items))
    pickled = sum(len(pickle.dumps(x)) for x in items)
    manager = ctx.Manager() if a.mode == "manager" else None
    shared = ctx.Value("q", 0) if a.mode == "value" else manager.dict() if manager else None
    if a.mode == "pipe":
        here, there = ctx.Pipe()
        inbox, outbox = there, None
    else:
        here, inbox, outbox = None, ctx.Queue(), ctx.Queue()
    p = ctx.Process(target=child, args=(a.mode, inbox, outbox, shared))
    t0 = wl.now_ns()
    p.start()
    for x in items + [None]:
        if here:
            here.send(x)
        else:
            inbox.put(x)
    if a.mode == "pipe":
        result = here.recv()
    elif a.mode == "queue":
        result = outbox.get()
    p.join()
    if a.mode == "global":
        result = total
    elif a.mode == "value":
        result = shared.value
    elif a.mode == "manager":
        result = shared["total"]
        manager.shutdown()
    wl.truth(mode=a.mode, items=a.items, payload_kb=a.payload_kb, result=result,
             expected=expected, pickled_bytes=pickled, parent=os.getpid(), child=p.pid,
             elapsed_ns=wl.now_ns() - t0)


if __name__ == "__main__":
    main()
