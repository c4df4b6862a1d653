#!/usr/bin/env python3
"""A program that stops reading: it reads nothing from the speaker until
the file GO exists, then logs everything it reads to LOG.

    never-read.py GO LOG
"""

import os
import sys
import time

go, log_path = sys.argv[1], sys.argv[2]
while not os.path.exists(go):
    time.sleep(0.1)

with open(log_path, "a") as log:
    for line in sys.stdin:
        log.write(line)
        log.flush()
