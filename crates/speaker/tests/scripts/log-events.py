#!/usr/bin/env python3
"""Announce what a file says, log everything the speaker sends back.

Written in the style of ExaBGP's documentation examples: commands are
printed to standard output (and flushed), events and acknowledgements are
read from standard input, one line each.

    log-events.py LOG [COMMANDS [--at-once]]

COMMANDS (optional) holds one API command per line; they are sent one by
one, 50 ms apart, or all in one write with --at-once. When the file does not exist yet, the program waits for
it (up to a minute), reading nothing meanwhile. Every line read from
standard input is appended to LOG. The program ends when its input closes
(the speaker stops).
"""

import os
import sys
import time

log_path = sys.argv[1]
commands = []
if len(sys.argv) > 2:
    deadline = time.time() + 60
    while not os.path.exists(sys.argv[2]) and time.time() < deadline:
        time.sleep(0.05)
    with open(sys.argv[2]) as f:
        commands = [line.rstrip("\n") for line in f if line.strip()]

if "--at-once" in sys.argv[3:]:
    sys.stdout.write("".join(command + "\n" for command in commands))
    sys.stdout.flush()
else:
    for command in commands:
        sys.stdout.write(command + "\n")
        sys.stdout.flush()
        time.sleep(0.05)

with open(log_path, "a") as log:
    for line in sys.stdin:
        log.write(line)
        log.flush()
