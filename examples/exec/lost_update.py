#!/usr/bin/env python3
"""A lost update in Python: threads increment a shared counter with a read, a yield and a
write, as a handler that reads a row, awaits something and writes it back would. The buggy
variant loses increments; the fixed one holds a lock around the read and the write.

Reports to faultline three ways, so each of exec's oracles has something to judge:
  - an observation `lost_update` (faultline_report.observe), for --expect lost_update;
  - a line `lost=N` on stdout, for --fail-output '^lost=[1-9]';
  - exit code 1 when updates were lost, for --fail-exit 1.

  faultline exec --repeat 10 --fail-exit 1 -- python3 examples/exec/lost_update.py --variant buggy
"""
import argparse
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "sdk", "python"))
import faultline_report as fr  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("--variant", choices=["buggy", "fixed"], default="buggy")
parser.add_argument("--threads", type=int, default=4)
parser.add_argument("--increments", type=int, default=500)
args = parser.parse_args()

counter = 0
lock = threading.Lock()


def work():
    global counter
    for _ in range(args.increments):
        if args.variant == "fixed":
            with lock:  # FIX: the read and the write under one lock
                value = counter
                time.sleep(0)
                counter = value + 1
        else:
            value = counter  # BUG: another thread may write between this read...
            time.sleep(0)  # (the await of the real handler: any thread may run here)
            counter = value + 1  # ...and this write, whose update it then overwrites


threads = [threading.Thread(target=work) for _ in range(args.threads)]
for t in threads:
    t.start()
for t in threads:
    t.join()
total = args.threads * args.increments
lost = total - counter
fr.metric("increments", total, "ops")
fr.observe("lost_update", lost, f"{lost} of {total} increments lost")
print(f"lost={lost} of {total}")
sys.exit(1 if lost else 0)
