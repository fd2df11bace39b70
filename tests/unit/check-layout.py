#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The layout the project keeps (docs/layout.md): no source file over 800 lines, only the bus files touch
sd_bus_message, only watch.c includes libinotifytools, and the bus reaches the manager through BusOps alone,
so no bus file includes manager.h. Prints every breach and exits 1 when there is one."""

import glob
import os
import re
import sys

top = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), '..', '..')
LINES_MAX = 800
breaches = []

for path in sorted(glob.glob(os.path.join(top, 'daemon', '*.[ch]')) + glob.glob(os.path.join(top, 'client', '*.[ch]'))):
    name = os.path.relpath(path, top)
    base = os.path.basename(path)
    with open(path, errors='replace') as f:
        text = f.read()
    n = text.count('\n')
    if path.endswith('.c') and n > LINES_MAX:
        breaches.append(f'{name}: {n} lines, more than {LINES_MAX}')
    if name.startswith('daemon/'):
        if base.startswith('bus') and re.search(r'^#include "manager(-[a-z]+)?\.h"', text, re.M):
            breaches.append(f'{name}: includes the manager; the bus reaches it through BusOps only')
        if not base.startswith('bus') and re.search(r'\bsd_bus_message_(append|read|open|enter|new)', text):
            breaches.append(f'{name}: builds or reads D-Bus messages, which only the bus files do')
        if base != 'watch.c' and 'inotifytools' in text and '#include' in text and \
                re.search(r'^#include <inotifytools', text, re.M):
            breaches.append(f'{name}: includes libinotifytools, which only watch.c does')

for b in breaches:
    print(b)
print(f'{len(breaches)} breaches of the layout' if breaches else 'layout kept')
sys.exit(1 if breaches else 0)
