"""Helpers shared by the Python lab workloads (standard library only).

CPython before 3.14 does not give OS threads the name of the threading.Thread, so every
workload names its threads itself with prctl(PR_SET_NAME) through libc: the kernel's comm
is what tools that know no Python show. With WL_PYTHON_NAMES=1 in the environment it does not:
the threads have their threading names only, as in a plain Python program, so a tool that shows
them has read them from the interpreter's memory (conlab does, in recordings and the doctor).
"""
import ctypes
import os
import sys
import threading
import time

_PR_SET_NAME = 15
# libc is already in the process: CDLL(None) opens it without ctypes.util.find_library,
# which runs ldconfig (and on some systems gcc) in child processes that would show up in
# every trace as forks and execs of the workload.
_libc = ctypes.CDLL(None, use_errno=True)
_PYTHON_NAMES_ONLY = os.environ.get("WL_PYTHON_NAMES") == "1"


def name_thread(name):
    """Set the calling OS thread's kernel name (15 bytes at most), unless WL_PYTHON_NAMES."""
    if _PYTHON_NAMES_ONLY:
        return
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


FUTEX = 202  # x86_64
READ = 0
RECVFROM = 45
FUTEX_WAIT_BITSET = 9


def _in_syscall(tid):
    """(state letter, fields of /proc/TID/syscall) of a thread (or process), None once gone."""
    try:
        with open("/proc/%d/syscall" % tid) as f:
            fields = f.read().split()
        with open("/proc/%d/stat" % tid) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None
    return state, fields


def sleeps_in(tid, nr):
    """Is thread (or process) tid asleep in syscall nr?"""
    s = _in_syscall(tid)
    return s is not None and s[0] == "S" and s[1][:1] == [str(nr)]


def sleeps_untimed(tid):
    """Is thread tid asleep in an untimed FUTEX_WAIT_BITSET (sem_wait, not the GIL's waits)?"""
    s = _in_syscall(tid)
    if s is None or s[0] != "S" or len(s[1]) < 5:
        return False
    nr, _, op, _, timeout = s[1][:5]
    return nr == str(FUTEX) and int(op, 16) & 0x7f == FUTEX_WAIT_BITSET and int(timeout, 16) == 0


def until(cond):
    while not cond():
        time.sleep(0.0005)
