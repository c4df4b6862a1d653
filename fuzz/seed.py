#!/usr/bin/env python3
"""Seed the fuzz corpora with the messages of ExaBGP's conformance vectors
(and exabgp_command with their API commands).

Each target reads a two-byte decode context first (see fuzz_targets/context.rs);
the seeds use 0x0001 (4-octet AS, no ADD-PATH, 4096-byte messages).
"""
import glob
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
qa = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "..", "shared", "conformance", "exabgp-qa")


def messages():
    for path in sorted(glob.glob(os.path.join(qa, "decoding", "*"))):
        lines = open(path).read().split("\n")
        if len(lines) > 1:
            yield lines[1]
    for path in sorted(glob.glob(os.path.join(qa, "encoding", "*.ci"))):
        for line in open(path):
            if ":raw:" in line:
                yield line.split(":raw:", 1)[1]


def write(target, name, data):
    folder = os.path.join(here, "corpus", target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


count = 0
updates = []
for text in messages():
    digits = "".join(c for c in text if c in "0123456789abcdefABCDEF")
    if len(digits) % 2:
        continue
    msg = bytes.fromhex(digits)
    name = "seed-%03d" % count
    write("message_decode", name, b"\x00\x01" + msg)
    write("round_trip", name, b"\x00\x01" + msg)
    if len(msg) > 19 and msg[18] == 2:
        write("update_decode", name, b"\x00\x01" + msg[19:])
        write("event_json", name, b"\x00\x01" + msg[19:])
        updates.append(msg[19:])
    count += 1
print("%d seeds written under %s" % (count, os.path.join(here, "corpus")))

# rib_updates: a settings byte, then (neighbor, length, UPDATE body)
# records. Each seed sends a few of the vectors' UPDATEs from neighbors 1
# and 2 (4-octet AS sessions, no ADD-PATH) and drains after the last.
short = [u for u in updates if len(u) < 256]
for i in range(0, len(short), 4):
    data = bytes([0x05])
    group = short[i:i + 4]
    for j, body in enumerate(group):
        who = 1 + (j % 2) + (8 if j == len(group) - 1 else 0)
        data += bytes([who, len(body)]) + body
    write("rib_updates", "seed-%03d" % (i // 4), data)
print("%d rib_updates seeds written" % ((len(short) + 3) // 4))

# The API commands of the encoding vectors, for exabgp_command.
commands = 0
for path in sorted(glob.glob(os.path.join(qa, "encoding", "*.ci"))):
    for line in open(path):
        if ":cmd:" in line:
            write("exabgp_command", "seed-%04d" % commands, line.split(":cmd:", 1)[1].strip().encode())
            commands += 1
print("%d command seeds written" % commands)

# config_parse: the example configurations.
examples = sorted(glob.glob(os.path.join(here, "..", "examples", "*.toml")))
for i, path in enumerate(examples):
    write("config_parse", "seed-%02d" % i, open(path, "rb").read())
print("%d config_parse seeds written" % len(examples))
