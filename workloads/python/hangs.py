#!/usr/bin/env python3
"""hangs - lab 18: Python hangs that are not lock cycles. Every kind HANGS ON PURPOSE unless
--fixed is given; kill the process group (forklock, pipe and recv leave a child).

  --kind lostwakeup  "signaller" notifies ready_cond and exits before "waiter" waits; the
                     waiter calls ready_cond.wait() without checking a predicate, so it waits
                     forever for a notify that came and went. Fixed: ready_cond.wait_for().
  --kind semleak     "leaker-0" and "leaker-1" take a permit of pool_sem (Semaphore(2)) and
                     return on an error path without release(); "worker" then waits forever.
                     Fixed: `with pool_sem:` releases on every path.
  --kind forklock    "log-holder" holds log_lock (`with`) while main forks; the child's copy
                     of log_lock is locked by a thread that does not exist in it: the child
                     waits forever, the parent waits for the child. Fixed: fork with the lock
                     free (the holder joined first).
  --kind pipe        subprocess.Popen(stdout=PIPE) then wait(): the child writes more than a
                     pipe holds, the parent reads only after wait() returns: a cycle across two
                     processes (the subprocess documentation warns of it). Fixed: communicate().
  --kind recv        main and its child "echo" each recv() on their end of a
                     multiprocessing.Pipe (a Unix socket pair) before either sends: each
                     waits for the other, across two processes. Fixed: main sends first.

The order is fixed by the program's logic, never by sleeps: the waiter joins the signaller,
the worker joins the leakers, main forks while the holder is known to hold the lock, main
waits in recv() only once the child does (its thread sleeps in read on its end). The
ground-truth line is printed and flushed before the hang (with --fixed, after the run).
"""
import argparse
import multiprocessing
import os
import subprocess
import sys
import threading

import wl

ready_cond = threading.Condition()
ready = [False]
pool_sem = threading.Semaphore(2)
log_lock = threading.Lock()


def named(name, fn, *args):
    return wl.named_thread(name, fn, *args)


def signal_ready():
    with ready_cond:
        ready[0] = True
        ready_cond.notify()


def wait_ready(signaller, fixed):
    signaller.join()        # the waiter's "work": long enough that the notify has come and gone
    with ready_cond:
        if fixed:
            ready_cond.wait_for(lambda: ready[0])
        else:
            ready_cond.wait()   # no predicate: waits forever


def lostwakeup(fixed):
    s = named("signaller", signal_ready)
    w = named("waiter", wait_ready, s, fixed)
    s.start()
    w.start()
    if not fixed:
        s.join()
        # native_id is set before start() returns
        wl.truth(hang="lostwakeup", object="ready_cond", pid=wl.pid(), waiter=w.native_id,
                 signaller=s.native_id, signaller_exited=1)
    w.join()
    return dict(kind="lostwakeup", ready=int(ready[0]))


class Failed(Exception):
    pass


def leak_permit(fixed):
    try:
        if fixed:
            with pool_sem:
                raise Failed()
        pool_sem.acquire()
        raise Failed()      # the error path returns without pool_sem.release()
    except Failed:
        pass


def work(leakers):
    for t in leakers:
        t.join()
    with pool_sem:          # 0 permits left unless the leakers gave theirs back
        pass


def semleak(fixed):
    leakers = [named(f"leaker-{i}", leak_permit, fixed) for i in range(2)]
    for t in leakers:
        t.start()
    w = named("worker", work, leakers)
    w.start()
    if not fixed:
        for t in leakers:
            t.join()
        wl.truth(hang="semleak", object="pool_sem", pid=wl.pid(), permits=2, leaked=2,
                 leakers=",".join(str(t.native_id) for t in leakers), leakers_exited=1,
                 worker=w.native_id)
    w.join()
    return dict(kind="semleak", leaked=0)


def hold_log(held, release):
    with log_lock:
        held.set()
        release.wait()


def forklock(fixed):
    held, release = threading.Event(), threading.Event()
    h = named("log-holder", hold_log, held, release)
    h.start()
    held.wait()
    if fixed:
        release.set()
        h.join()
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:
        wl.name_thread("fork-child")
        with log_lock:      # locked by log-holder, which does not exist here
            pass
        os._exit(0)
    release.set()           # the parent's copy is released: only the child's stays locked
    h.join()
    if not fixed:
        wl.truth(hang="forklock", object="log_lock", owner_tid=h.native_id,
                 owner_in_child=0, parent=wl.pid(), child=pid)
    os.waitpid(pid, 0)
    return dict(kind="forklock", child=pid)


def pipe(fixed, nbytes):
    child = [sys.executable, "-c", f"import sys; sys.stdout.write('x' * {nbytes})"]
    p = subprocess.Popen(child, stdout=subprocess.PIPE)
    if fixed:
        out, _ = p.communicate()    # reads while it waits
        return dict(kind="pipe", child=p.pid, bytes=len(out))
    wl.truth(hang="pipe", parent=wl.pid(), child=p.pid, bytes=nbytes, pipe_capacity=65536)
    p.wait()                # the child blocks in write once the pipe is full
    return dict(kind="pipe", child=p.pid, bytes=len(p.stdout.read()))


def echo(conn):
    conn.send(conn.recv() + 1)   # waits for main's message first


def recv(fixed):
    ctx = multiprocessing.get_context("fork")
    ours, theirs = ctx.Pipe()
    child = ctx.Process(target=echo, args=(theirs,), name="echo")
    child.start()
    if fixed:
        ours.send(1)
        got = ours.recv()
        child.join()
        return dict(kind="recv", child=child.pid, got=got)
    # the child's main thread in read() on its end: a sleep that only a send from here ends
    wl.until(lambda: wl.sleeps_in(child.pid, wl.READ))
    wl.truth(hang="recv", pid=wl.pid(), parent=wl.pid(), child=child.pid)
    got = ours.recv()       # the child waits for us too
    return dict(kind="recv", child=child.pid, got=got)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kind", choices=("lostwakeup", "semleak", "forklock", "pipe", "recv"),
                    default="lostwakeup")
    ap.add_argument("--fixed", action="store_true", help="the corrected program: finishes")
    ap.add_argument("--bytes", type=int, default=1 << 20,
                    help="pipe: bytes the child writes (default 1048576)")
    a = ap.parse_args()
    if a.bytes < 0:
        wl.die("hangs: --bytes must not be negative")
    wl.name_thread("hangs-main")
    if a.kind == "lostwakeup":
        res = lostwakeup(a.fixed)
    elif a.kind == "semleak":
        res = semleak(a.fixed)
    elif a.kind == "forklock":
        res = forklock(a.fixed)
    elif a.kind == "recv":
        res = recv(a.fixed)
    else:
        res = pipe(a.fixed, a.bytes)
    wl.truth(hang="none", **res)


if __name__ == "__main__":
    main()
