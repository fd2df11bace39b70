#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The layout the project keeps (docs/layout.md). daemon/ is one folder a layer, and includes point down only:
util <- efi <- catalogue <- resolver <- bus <- service, so a file may include headers of its own folder and of
the folders below it, never above. Besides that: no source file over 800 lines, only bus/ touches sd_bus_message,
only service/watch.c includes libinotifytools, the bus reaches the manager through BusOps alone (no bus file
includes a manager header), every daemon file sits in a layer folder, and each folder lists its files in its own
meson.build and has its line in docs/layout.md. Prints every breach and exits 1 when there is one.

    check-layout.py [SOURCE_DIR]"""

import glob
import os
import re
import sys

top = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), '..', '..')
LAYERS = ['util', 'efi', 'catalogue', 'resolver', 'bus', 'service']
LINES_MAX = 800
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
breaches = []


def rel(path):
    return os.path.relpath(path, top)


def daemon_headers():
    """Each daemon header's basename to its layer, for includes written without a folder."""
    found = {}
    for layer in LAYERS:
        for h in glob.glob(os.path.join(top, 'daemon', layer, '*.h')):
            found.setdefault(os.path.basename(h), layer)
    return found


def check_includes(name, layer, text, headers):
    """A daemon file includes its own folder's headers by name and lower folders' as 'folder/header.h'."""
    rank = LAYERS.index(layer)
    for inc in INCLUDE.findall(text):
        if '/' in inc:
            target, base = inc.split('/', 1)
            if target not in LAYERS:
                breaches.append(f'{name}: includes "{inc}", which is in no layer folder')
                continue
        else:
            base = inc
            target = headers.get(inc)
            if target is None or target == layer:
                continue        # its own folder's, or not the daemon's (config.h)
        if not os.path.exists(os.path.join(top, 'daemon', target, base)):
            breaches.append(f'{name}: includes "{inc}", which does not exist')
        elif LAYERS.index(target) > rank:
            breaches.append(f'{name}: includes "{inc}" of {target}/, a layer above {layer}/ '
                            f'(includes point down only: {" <- ".join(LAYERS)})')


def check_rules(name, layer, base, text):
    if layer == 'bus' and re.search(r'^#include "(service/)?manager(-[a-z]+)?\.h"', text, re.M):
        breaches.append(f'{name}: includes the manager; the bus reaches it through BusOps only')
    if layer != 'bus' and re.search(r'\bsd_bus_message_(append|read|open|enter|new)', text):
        breaches.append(f'{name}: builds or reads D-Bus messages, which only bus/ does')
    if (layer, base) != ('service', 'watch.c') and re.search(r'^#include <inotifytools', text, re.M):
        breaches.append(f'{name}: includes libinotifytools, which only service/watch.c does')


def check_meson(layer):
    path = os.path.join(top, 'daemon', layer, 'meson.build')
    if not os.path.exists(path):
        breaches.append(f'daemon/{layer}: no meson.build listing its files')
        return
    with open(path) as f:
        listed = set(re.findall(r"'([^']+\.c)'", f.read()))
    for c in sorted(glob.glob(os.path.join(top, 'daemon', layer, '*.c'))):
        base = os.path.basename(c)
        if base not in listed and (layer, base) != ('service', 'main.c'):
            breaches.append(f'{rel(c)}: not listed in daemon/{layer}/meson.build')


headers = daemon_headers()
for path in sorted(glob.glob(os.path.join(top, 'daemon', '*.[ch]'))):
    breaches.append(f'{rel(path)}: outside the layer folders ({", ".join(LAYERS)})')
for path in sorted(glob.glob(os.path.join(top, 'daemon', '*', '*.[ch]'))):
    layer = os.path.basename(os.path.dirname(path))
    if layer not in LAYERS:
        breaches.append(f'{rel(path)}: in daemon/{layer}/, which is not a layer ({", ".join(LAYERS)})')
        continue
    with open(path, errors='replace') as f:
        text = f.read()
    check_includes(rel(path), layer, text, headers)
    check_rules(rel(path), layer, os.path.basename(path), text)
for layer in LAYERS:
    check_meson(layer)

with open(os.path.join(top, 'docs', 'layout.md')) as f:
    page = f.read()
for path in sorted(glob.glob(os.path.join(top, 'daemon', '*', '*.c')) + glob.glob(os.path.join(top, 'client', '*.c'))):
    if f'`{os.path.basename(path)}`' not in page:
        breaches.append(f'{rel(path)}: not described in docs/layout.md (one line a file)')

for path in sorted(glob.glob(os.path.join(top, 'daemon', '*', '*.c')) + glob.glob(os.path.join(top, 'client', '*.c'))):
    with open(path, errors='replace') as f:
        n = f.read().count('\n')
    if n > LINES_MAX:
        breaches.append(f'{rel(path)}: {n} lines, more than {LINES_MAX}')

for b in breaches:
    print(b)
print(f'{len(breaches)} breaches of the layout' if breaches else 'layout kept')
sys.exit(1 if breaches else 0)
