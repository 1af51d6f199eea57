#!/usr/bin/env python3
"""io_threads - lab 5: Python threads help for I/O, not for computation.

--threads threads ("io-i" or "cpu-i") share --tasks tasks of --task-ms each. An io task
blocks in time.sleep (or in a socket recv with a timeout, --io socket), releasing the GIL;
a cpu task spins pure Python for task-ms of CPU time, holding it.
"""
import argparse
import queue
import socket
import time

import wl


def worker(name, mode, io, task_ms, tasks, out):
    out[name] = wl.tid()
    out[name + ".waited"] = 0   # ns this thread spent in its I/O waits (io mode)
    sock = None
    if mode == "io" and io == "socket":
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(task_ms / 1000)
    while True:
        try:
            tasks.get_nowait()
        except queue.Empty:
            break
        if mode == "cpu":
            end = time.thread_time_ns() + task_ms * 1_000_000
            x = 0
            while time.thread_time_ns() < end:
                for i in range(500):
                    x += i
        else:
            t0 = wl.now_ns()
            if sock:
                try:
                    sock.recv(64)   # nobody sends: blocks until the timeout
                except socket.timeout:
                    pass
            else:
                time.sleep(task_ms / 1000)
            out[name + ".waited"] += wl.now_ns() - t0
    if sock:
        sock.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mode", choices=("io", "cpu"), default="io")
    ap.add_argument("--io", choices=("sleep", "socket"), default="sleep")
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--tasks", type=int, default=16)
    ap.add_argument("--task-ms", type=int, default=20)
    a = ap.parse_args()
    wl.name_thread("iothreads")
    tasks = queue.Queue()
    for i in range(a.tasks):
        tasks.put(i)
    out = {}
    t0 = wl.now_ns()
    ts = [wl.named_thread(f"{a.mode}-{i}", worker, f"{a.mode}-{i}", a.mode, a.io, a.task_ms,
                          tasks, out) for i in range(a.threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    wall = wl.now_ns() - t0
    serial = a.tasks * a.task_ms * 1_000_000
    wl.truth(mode=a.mode, io=a.io if a.mode == "io" else "none", threads=a.threads,
             tasks=a.tasks, task_ms=a.task_ms, wall_ns=wall, serial_ns=serial,
             speedup_x100=serial * 100 // max(wall, 1),
             waited_ns_total=sum(out[f"{a.mode}-{i}.waited"] for i in range(a.threads)),
             tids=",".join(str(out[f"{a.mode}-{i}"]) for i in range(a.threads)))


if __name__ == "__main__":
    main()
