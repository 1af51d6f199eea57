#!/usr/bin/env python3
"""barber - lab 14: the sleeping barber, with threading.Semaphore.

One barber ("barber"), --chairs waiting chairs, --customers customers ("cust-0", ...) arriving
--arrive-ms apart. A customer who finds every waiting chair taken leaves (a balk); the others
sit down, wake the barber (`customers`), wait until he calls them (`barber_ready`), sit in
his chair for the haircut (a sleep of --cut-ms: the trace sees it as one) and tell him they
are done (`cut_done`). The barber sleeps on `customers` whenever nobody waits.
  --variant ok      as above: one customer in the barber's chair at a time.
  --variant broken  customers sit down in the barber's chair as soon as they are in, without
                    waiting to be called: several are "served" at once.
The ground-truth line: served, balks, max_in_chair (the most customers in the barber's chair
at once, counted by the program under a lock), chairs, customers.
"""
import argparse
import threading
import time

import wl


class Shop:
    def __init__(self, chairs):
        self.chairs = chairs
        self.mutex = threading.Lock()               # guards everything below
        self.customers = threading.Semaphore(0)     # customers waiting: the barber sleeps on it
        self.barber_ready = threading.Semaphore(0)  # "next, please"
        self.cut_done = threading.Semaphore(0)      # the customer has left the chair
        self.waiting = 0
        self.closing = False
        self.served = 0
        self.balks = 0
        self.in_chair = 0
        self.max_in_chair = 0


def barber(shop):
    while True:
        shop.customers.acquire()        # asleep until a customer (or closing time) comes
        with shop.mutex:
            if shop.closing and shop.waiting == 0:
                return
            shop.waiting -= 1
        shop.barber_ready.release()     # call the next customer to the chair
        shop.cut_done.acquire()         # and cut until that customer leaves it


def haircut(shop, cut):
    with shop.mutex:
        shop.in_chair += 1
        shop.max_in_chair = max(shop.max_in_chair, shop.in_chair)
    time.sleep(cut)                     # the haircut: the trace sees it as a sleep
    with shop.mutex:
        shop.in_chair -= 1
        shop.served += 1


def customer(shop, cut, broken):
    with shop.mutex:
        if shop.waiting == shop.chairs:
            shop.balks += 1             # no free chair: leave without waiting
            return
        shop.waiting += 1
    shop.customers.release()            # wake the barber if he sleeps
    if not broken:
        shop.barber_ready.acquire()     # wait to be called
    haircut(shop, cut)
    shop.cut_done.release()


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variant", choices=("ok", "broken"), default="ok")
    ap.add_argument("--chairs", type=int, default=20, help="waiting chairs (default 20)")
    ap.add_argument("--customers", type=int, default=20, help="customers (default 20)")
    ap.add_argument("--arrive-ms", type=float, default=2, help="between arrivals (default 2)")
    ap.add_argument("--cut-ms", type=float, default=10, help="a haircut (default 10)")
    a = ap.parse_args()
    if a.chairs < 0 or a.customers < 1 or a.arrive_ms < 0 or a.cut_ms < 0:
        wl.die("barber: --customers must be at least 1, the others not negative")
    wl.name_thread("shop")
    shop = Shop(a.chairs)
    b = wl.named_thread("barber", barber, shop)
    b.start()
    cs = []
    for i in range(a.customers):
        if i and a.arrive_ms:
            time.sleep(a.arrive_ms / 1000)
        c = wl.named_thread(f"cust-{i}", customer, shop, a.cut_ms / 1000, a.variant == "broken")
        c.start()
        cs.append(c)
    for c in cs:
        c.join()
    with shop.mutex:
        shop.closing = True
    shop.customers.release()            # closing time: wake the barber to go home
    b.join()
    wl.truth(served=shop.served, balks=shop.balks, max_in_chair=shop.max_in_chair,
             chairs=a.chairs, customers=a.customers)


if __name__ == "__main__":
    main()
