#!/usr/bin/env python3
"""pyro_lab - lab 23: remote objects with Pyro4: a name server, a server object, clients.

The script starts a Pyro4 name server on a free loopback port, a server process that registers
one object ("conlab.work") with it, and --clients client processes that each look the object
up and call work(--call-ms) once, all at the same moment. The server's method sleeps for the
call's time, as a method waiting for a disk or a database would.

--servertype thread: every connection gets a worker thread in the server (Pyro4's default),
the calls overlap. --servertype multiplex: one thread serves every connection in turn, the
calls are serialised. The server's threads are named pyro-server. The last line is the ground
truth: clients, the call's time, the elapsed time, and the longest a client waited.
"""
import argparse
import ctypes
import os
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.abspath(__file__)


def name_thread(name):
    """The calling thread's kernel name (what conlab shows); libc.so.6 directly: looking the
    library up with ctypes.util would start ldconfig in every process."""
    ctypes.CDLL("libc.so.6").prctl(15, ctypes.c_char_p(name.encode()[:15]), 0, 0, 0)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def serve(ns_port, servertype):
    import Pyro4

    Pyro4.config.SERVERTYPE = servertype
    name_thread("pyro-server")

    @Pyro4.expose
    class Work:
        def work(self, ms):
            # the pool's worker threads are Pyro's (named Pyro-Worker-N in threading): named
            # here, like the main thread, so that every server thread is pyro-server
            name_thread("pyro-server")
            t0 = time.monotonic()
            time.sleep(ms / 1000)
            return {"tid": threading.get_native_id(), "ran_ms": (time.monotonic() - t0) * 1000}

    daemon = Pyro4.Daemon(host="127.0.0.1")
    uri = daemon.register(Work)
    Pyro4.locateNS(host="127.0.0.1", port=ns_port).register("conlab.work", uri)
    daemon.requestLoop()


def client(ns_port, ms, start_at):
    import Pyro4

    work = Pyro4.Proxy("PYRONAME:conlab.work@127.0.0.1:%d" % ns_port)
    work._pyroBind()
    time.sleep(max(0.0, start_at - time.time()))
    t0 = time.time()
    r = work.work(ms)
    print("%d %.1f" % (r["tid"], (time.time() - t0) * 1000), flush=True)


def wait_for(what, check, limit=60):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        try:
            return check()
        except Exception:  # not up yet
            time.sleep(0.05)
    raise SystemExit("pyro_lab: the %s did not come up" % what)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--call-ms", type=int, default=300)
    ap.add_argument("--servertype", choices=["thread", "multiplex"], default="thread")
    ap.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--client", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--start-at", type=float, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.serve:
        return serve(a.serve, a.servertype)
    if a.client:
        return client(a.client, a.call_ms, a.start_at)
    import Pyro4

    port = free_port()
    procs = [subprocess.Popen([sys.executable, "-m", "Pyro4.naming", "-n", "127.0.0.1", "-p",
                               str(port)], stdout=subprocess.DEVNULL)]
    try:
        wait_for("name server", lambda: Pyro4.locateNS(host="127.0.0.1", port=port))
        procs.append(subprocess.Popen([sys.executable, HERE, "--serve", str(port),
                                       "--servertype", a.servertype]))
        wait_for("server", lambda: Pyro4.locateNS(host="127.0.0.1", port=port)
                 .lookup("conlab.work"))
        start_at = time.time() + 1.5
        t0 = time.time()
        clients = [subprocess.Popen([sys.executable, HERE, "--client", str(port), "--call-ms",
                                     str(a.call_ms), "--start-at", str(start_at)],
                                    stdout=subprocess.PIPE, text=True)
                   for _ in range(a.clients)]
        out = [c.communicate()[0].split() for c in clients]
        elapsed = (time.time() - max(t0, start_at)) * 1000
    finally:
        for p in procs:
            p.terminate()
            p.wait()
    if any(len(o) != 2 for o in out):
        raise SystemExit("pyro_lab: a client failed")
    print("clients=%d call_ms=%d servertype=%s server_threads=%d elapsed_ms=%.0f "
          "client_max_ms=%.0f" % (a.clients, a.call_ms, a.servertype, len({o[0] for o in out}),
                                  elapsed, max(float(o[1]) for o in out)))


if __name__ == "__main__":
    main()
