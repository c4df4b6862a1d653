#!/usr/bin/env python3
"""Announce routes to the peers, the way ExaBGP's documentation example
does it: print each command, flush, pause a little; then stay alive so the
routes stay announced.
"""

from sys import stdout
from time import sleep

messages = [
    'announce route 100.10.0.0/24 next-hop 198.18.0.2 med 5 community [65001:100]',
    'announce route 100.20.0.0/24 next-hop 198.18.0.2 as-path [ 64600 64601 ]',
    'announce attributes next-hop 198.18.0.2 large-community [ 65001:1:2 ] nlri 100.30.0.0/24 100.30.1.0/24',
    'announce ipv6 unicast 2001:db8:30::/48 next-hop 2001:db8::2 med 7',
    'withdraw route 100.20.0.0/24',
]

for message in messages:
    stdout.write(message + '\n')
    stdout.flush()
    sleep(0.1)

# Loop endlessly to keep the routes: the speaker stops us.
while True:
    sleep(1)
