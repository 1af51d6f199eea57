#!/usr/bin/env python3
"""blocked - Python calls that a debugger's stop would end early or restart, and that report
it: the Python twin of the C `blocked`, for checking that `conlab deadlock -p` leaves a
program exactly as it was.

  pipe   the parent waits for its child before reading; the child writes 1 MiB to the pipe
         in one os.write(): both hang forever (the pipe holds 64 KiB). HANGS ON PURPOSE;
         kill the process group. A stop ends the write with a short count: the child prints
         disturbed=write ret=N and exits 3.
  sleep  time.sleep(--ms) in a loop, each call checked.
  queue  queue.Queue().get(timeout=--ms) on an empty queue in a loop, each call checked.

An undisturbed sleep returns (sleep) or raises queue.Empty (queue) after its time, having
gone to sleep once: one voluntary context switch of the thread (getrusage RUSAGE_THREAD).
A stop makes the kernel restart the call, invisibly to Python but for the extra switches.
The sleeper runs alone in its process, so no other thread's GIL hand-over adds a switch.

Lines: hang=pipe pid= parent= child= bytes=; sleeping=sleep|queue pid= tid= ms=;
result=sleep|queue calls= disturbed= extra_switches= early= min_us= max_us= (last line,
exit 0 when disturbed=0, else 3); disturbed=write|waitpid ... (a hanging call returned).
"""
import argparse
import os
import queue
import resource
import sys
import threading
import time


def voluntary_switches():
    return resource.getrusage(resource.RUSAGE_THREAD).ru_nvcsw


def write_once(fd, data):
    n = os.write(fd, data)
    print(f"disturbed=write ret={n} expected=never", flush=True)
    os._exit(3)


def run_pipe(nbytes):
    data = b"x" * nbytes
    r, w = os.pipe()
    sys.stdout.flush()
    child = os.fork()
    if child == 0:
        os.close(r)
        write_once(w, data)
    os.close(w)
    print(f"hang=pipe pid={os.getpid()} parent={os.getpid()} child={child} bytes={nbytes}",
          flush=True)
    _, status = os.waitpid(child, 0)    # the bug: the child cannot finish before we read
    print(f"disturbed=waitpid child_status={status} expected=never", flush=True)
    return 3


def sleep_once(kind, seconds, q):
    """True when the call ended as an undisturbed one does: its time passed, nothing came."""
    if kind == "sleep":
        time.sleep(seconds)
        return True
    try:
        q.get(timeout=seconds)
    except queue.Empty:
        return True
    return False


def run_sleeps(kind, ms, calls, until):
    q = queue.Queue()
    seconds = ms / 1000
    n = disturbed = extra = early = 0
    lo, hi = float("inf"), 0
    sleep_once(kind, seconds, q)    # warm: the first call's code pages are faulted in
    print(f"sleeping={kind} pid={os.getpid()} tid={threading.get_native_id()} ms={ms}",
          flush=True)
    while not calls or n < calls:
        sw0 = voluntary_switches()
        t0 = time.monotonic_ns()
        ok = sleep_once(kind, seconds, q)
        dt = time.monotonic_ns() - t0
        dsw = voluntary_switches() - sw0
        n += 1
        short = dt < ms * 1000000
        if not ok or short or dsw != 1:
            disturbed += 1
            extra += dsw > 1
            early += short
        lo, hi = min(lo, dt), max(hi, dt)
        if until and os.path.exists(until):
            break
    print(f"result={kind} calls={n} disturbed={disturbed} extra_switches={extra} early={early} "
          f"min_us={lo // 1000} max_us={hi // 1000}", flush=True)
    return 3 if disturbed else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kind", choices=("pipe", "sleep", "queue"), default="pipe")
    ap.add_argument("--bytes", type=int, default=1 << 20, help="pipe: bytes of the one write")
    ap.add_argument("--ms", type=int, default=20, help="sleep, queue: each call's time")
    ap.add_argument("--calls", type=int, default=10,
                    help="sleep, queue: calls to make (0: until --until)")
    ap.add_argument("--until", help="sleep, queue: stop once this file exists")
    a = ap.parse_args()
    if a.bytes <= 0 or a.ms <= 0 or a.calls < 0:
        ap.error("--bytes and --ms must be positive, --calls not negative")
    if a.kind == "pipe":
        return run_pipe(a.bytes)
    return run_sleeps(a.kind, a.ms, a.calls, a.until)


if __name__ == "__main__":
    sys.exit(main())
