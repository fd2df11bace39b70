#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""check-layout.py must be able to fail: it is run on a copy of daemon/ and client/ as they are (kept), then
with one upward include planted in each layer but the top (each named), then with a file outside the folders."""

import os
import shutil
import subprocess
import sys
import tempfile

top = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), '..', '..')
check = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'check-layout.py')
LAYERS = ['util', 'efi', 'catalogue', 'resolver', 'bus', 'service']


def run(tree):
    p = subprocess.run(['/usr/bin/python3', check, tree], capture_output=True, text=True)
    return p.returncode, p.stdout


with tempfile.TemporaryDirectory() as tmp:
    for d in ('daemon', 'client'):
        shutil.copytree(os.path.join(top, d), os.path.join(tmp, d))
    os.mkdir(os.path.join(tmp, 'docs'))
    shutil.copy(os.path.join(top, 'docs', 'layout.md'), os.path.join(tmp, 'docs'))
    code, out = run(tmp)
    assert code == 0, out

    for i, layer in enumerate(LAYERS[:-1]):
        above = LAYERS[i + 1]
        header = sorted(h for h in os.listdir(os.path.join(tmp, 'daemon', above)) if h.endswith('.h'))[0]
        victim = os.path.join(tmp, 'daemon', layer,
                              sorted(c for c in os.listdir(os.path.join(tmp, 'daemon', layer)) if c.endswith('.c'))[0])
        with open(victim) as f:
            saved = f.read()
        with open(victim, 'a') as f:
            f.write(f'#include "{above}/{header}"\n')
        code, out = run(tmp)
        assert code == 1, out
        want = f'includes "{above}/{header}" of {above}/, a layer above {layer}/'
        assert want in out, (want, out)
        print(f'planted in daemon/{layer}/{os.path.basename(victim)}: {out.splitlines()[0]}')
        with open(victim, 'w') as f:
            f.write(saved)

    with open(os.path.join(tmp, 'daemon', 'stray.c'), 'w') as f:
        f.write('int x;\n')
    code, out = run(tmp)
    assert code == 1 and 'daemon/stray.c: outside the layer folders' in out, out
print('the layout check names every upward include planted')
