#!/usr/bin/env python3
"""Relay commands from files to the speaker, as they appear, and log its
answers.

In the style of ExaBGP's documentation examples: commands go to standard
output (flushed), answers come on standard input.

    relay.py DIR LOG

The files DIR/1, DIR/2, ... are sent in that order, each as soon as it
exists, one command per line. Every line read from standard input is
appended to LOG. The program ends when its input closes.
"""

import os
import sys
import threading
import time

directory, log_path = sys.argv[1], sys.argv[2]


def answers():
    with open(log_path, "a") as log:
        for line in sys.stdin:
            log.write(line)
            log.flush()
    os._exit(0)


threading.Thread(target=answers, daemon=True).start()

n = 1
while True:
    path = os.path.join(directory, str(n))
    if not os.path.exists(path):
        time.sleep(0.01)
        continue
    with open(path) as f:
        for line in f:
            if line.strip():
                sys.stdout.write(line.strip() + "\n")
    sys.stdout.flush()
    n += 1
