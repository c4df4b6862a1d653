#!/usr/bin/env python3
"""A program that dies at once: it notes its process id in LOG, announces
a route, and exits with status 1.

    crash.py LOG
"""

import os
import sys

with open(sys.argv[1], "a") as log:
    log.write("%d\n" % os.getpid())

sys.stdout.write("announce route 198.51.100.0/24 next-hop 192.0.2.1\n")
sys.stdout.flush()
sys.exit(1)
