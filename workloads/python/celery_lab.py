#!/usr/bin/env python3
"""celery_lab - lab 20: a producer, a Celery worker pool and a RabbitMQ broker on loopback.

Run it under `conlab lab service rabbitmq -- ...` (the lab does), which starts a private
broker and sets CONLAB_AMQP_URL. This script starts a worker (`celery worker --pool prefork
-c WORKERS`) as its child, waits until it is ready, submits one slow task (--slow-ms) and
then --short short ones, waits for every result and stops the worker.

With --workers 2 the short tasks run in the second worker process while the first sleeps in
the slow one; with --workers 1 they queue behind it. The last line is the ground truth:
tasks, how many worker processes ran one, the longest queue wait of a short task.
"""
import argparse
import os
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def start_worker(workers):
    """The worker, its log passed through to stderr; returns once it says it is ready."""
    env = dict(os.environ, PYTHONPATH=HERE + os.pathsep + os.environ.get("PYTHONPATH", ""))
    cmd = [sys.executable, "-m", "celery", "-A", "celery_tasks", "worker", "--pool", "prefork",
           "-c", str(workers), "-O", "fair", "--loglevel", "INFO", "--without-heartbeat",
           "--without-mingle", "--without-gossip", "-n", "conlab@%h"]
    w = subprocess.Popen(cmd, cwd=HERE, env=env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    ready = threading.Event()

    def relay():
        for line in w.stderr:
            sys.stderr.write(line)
            if " ready." in line:
                ready.set()
        ready.set()

    threading.Thread(target=relay, daemon=True).start()
    ready.wait(120)
    if w.poll() is not None:
        sys.exit("celery_lab: the worker exited (status %d) before it was ready" % w.returncode)
    return w


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--short", type=int, default=8)
    ap.add_argument("--slow-ms", type=int, default=800)
    a = ap.parse_args()
    if "CONLAB_AMQP_URL" not in os.environ:
        sys.exit("celery_lab: no broker: run under `conlab lab service rabbitmq -- ...`")
    sys.path.insert(0, HERE)
    from celery_tasks import work

    worker = start_worker(a.workers)
    try:
        sent = [work.delay("slow", a.slow_ms, time.time())]
        sent += [work.delay("short", 0, time.time()) for _ in range(a.short)]
        res = [r.get(timeout=120) for r in sent]
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
    short_wait = max(r["queued"] for r in res[1:]) if a.short else 0
    print("tasks=%d short=%d slow_ms=%d worker_procs=%d short_wait_max_ms=%.0f" %
          (len(res), a.short, a.slow_ms, len({r["pid"] for r in res}), short_wait * 1000))


if __name__ == "__main__":
    main()
