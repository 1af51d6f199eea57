"""Helpers shared by the Python lab workloads (standard library only).

CPython before 3.14 does not give OS threads the name of the threading.Thread, so every
workload names its threads itself with prctl(PR_SET_NAME) through libc: the kernel's comm
is what conlab shows.
"""
import ctypes
import ctypes.util
import os
import sys
import threading
import time

_PR_SET_NAME = 15
_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def name_thread(name):
    """Set the calling OS thread's kernel name (15 bytes at most)."""
    _libc.prctl(_PR_SET_NAME, ctypes.c_char_p(name.encode()[:15]), 0, 0, 0)


def tid():
    return threading.get_native_id()


def now_ns():
    return time.monotonic_ns()


def truth(**kv):
    """Print the ground-truth line (key=value, space separated) and flush it."""
    print(" ".join(f"{k}={v}" for k, v in kv.items()), flush=True)


def named_thread(name, target, *args, daemon=False):
    """A threading.Thread whose OS thread is named @name before @target runs."""
    def run():
        name_thread(name)
        target(*args)
    return threading.Thread(target=run, name=name, daemon=daemon)


def die(msg):
    print(msg, file=sys.stderr)
    sys.exit(2)


pid = os.getpid
