#!/usr/bin/env python3
"""short_lived_threads - named threads that live about a millisecond each, started one after
another, each joined before the next starts (the usual `threads = [...]; start; join` pattern):
most start and end between two reads of a tracer that looks every 5 ms. The program keeps its
Thread objects, so their names stay in its memory after the threads end. The threads are named
through `threading` only (their comm stays python3, as in any 3.11 program).

Truth line, once every thread has been joined: pid= tids= (comma-separated) names=.
  --threads N   how many (8)
  --ms M        each thread's life, in ms (1)
  --wait-stdin  after the truth line, wait for a line on stdin before ending (a test ends the
                recording while the program still runs, then sends it)
"""
import argparse
import os
import sys
import threading
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--ms", type=float, default=1.0)
    ap.add_argument("--wait-stdin", action="store_true")
    a = ap.parse_args()
    threads = [threading.Thread(target=time.sleep, args=(a.ms / 1000,), name=f"brief-{i}")
               for i in range(a.threads)]
    for t in threads:
        t.start()
        t.join()
    print(f"pid={os.getpid()} tids={','.join(str(t.native_id) for t in threads)} "
          f"names={','.join(t.name for t in threads)}", flush=True)
    if a.wait_stdin:
        sys.stdin.readline()


if __name__ == "__main__":
    main()
