#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""--root as a file system: a tree where the host and the root disagree about every kind of link (absolute and
relative descriptor links, '..' chains past the root, a symlinked search directory, symlinked images, links out of
the root, loops, masks), answered from the root by the daemon and by fwregistryctl --offline alike."""

import json
import os
import shutil
import tempfile
import unittest

import dbus

from fwtest import ETC, USR, DaemonTestCase, flash, write_tree


def descriptor(arch, feature, code='/fw/CODE.fd', vars_='/fw/VARS.fd'):
    d = flash('CODE.fd', 'VARS.fd', arch=arch, machines=('virt-*',) if arch == 'aarch64' else ('pc-q35-*',),
              features=[feature])
    d['mapping']['executable']['filename'] = code
    d['mapping']['nvram-template']['filename'] = vars_
    return json.dumps(d)


class TestRootDisagrees(DaemonTestCase):
    tree = {}

    def setUp(self):
        self.root = tempfile.mkdtemp(prefix='root-', dir=self.tmp)
        # the host side: a directory outside the root, named by the same absolute paths the root's links use
        self.host = tempfile.mkdtemp(prefix='host-', dir=self.tmp)
        self.addCleanup(shutil.rmtree, self.host, ignore_errors=True)
        h = self.host
        inside = lambda p: os.path.join(self.root, p.lstrip('/'))

        def put(path, content):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, 'w') as f:
                f.write(content)

        def link(target, path):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            os.symlink(target, path)

        write_tree(self.root, {}, images=['CODE.fd', 'VARS.fd'])
        # an absolute descriptor link: the host's file says aarch64, the root's x86_64
        put(f'{h}/abs.json', descriptor('aarch64', 'host-abs'))
        put(inside(f'{h}/abs.json'), descriptor('x86_64', 'root-abs'))
        link(f'{h}/abs.json', inside(f'{USR}/10-abs.json'))
        # a relative link whose '..' chain climbs past the root: on the host it reaches the host's file
        climb = '../' * (USR.count('/') + 1 + h.count('/') + 4)
        link(climb + f'{h}/abs.json'.lstrip('/'), inside(f'{USR}/20-climb.json'))
        # a symlinked search directory: /etc/qemu/firmware -> an absolute directory, different on each side
        put(f'{h}/etcfw/30-dir.json', descriptor('aarch64', 'host-dir'))
        put(inside(f'{h}/etcfw/30-dir.json'), descriptor('x86_64', 'root-dir'))
        os.makedirs(inside('etc/qemu'))
        link(f'{h}/etcfw', inside(ETC))
        # images: one that is an absolute link inside the root (whose target the host lacks), one only the host has
        put(inside('/fw/real/CODE.fd'), 'code')
        link('/fw/real/CODE.fd', inside(f'{h}/img/CODE.fd'))
        put(f'{h}/img/VARS.fd', 'host vars')
        put(f'{h}/img/CODE.fd', 'host code')
        put(inside(f'{USR}/40-images.json'), descriptor('x86_64', 'images', code=f'{h}/img/CODE.fd',
                                                        vars_='/fw/VARS.fd'))
        put(inside(f'{USR}/41-host-vars.json'), descriptor('x86_64', 'host-vars', code='/fw/CODE.fd',
                                                           vars_=f'{h}/img/VARS.fd'))
        # links out of the root: absolute and relative, to a file every host has
        link('/etc/passwd', inside(f'{USR}/50-out-abs.json'))
        link('../' * 12 + 'etc/passwd', inside(f'{USR}/51-out-rel.json'))
        # a loop through absolute links inside the root
        link('/loop/b', inside('/loop/a'))
        link('/loop/a', inside('/loop/b'))
        link('/loop/a', inside(f'{USR}/60-loop.json'))
        # a mask by a link to /dev/null, in a root that has no /dev
        put(inside(f'{h}/etcfw/70-masked.json'), '')
        os.unlink(inside(f'{h}/etcfw/70-masked.json'))
        link('/dev/null', inside(f'{h}/etcfw/70-masked.json'))
        put(inside(f'{USR}/70-masked.json'), descriptor('x86_64', 'masked'))

        self.bus = dbus.bus.BusConnection(self.bus_address)
        self.start_daemon()

    def entries(self):
        _, items = self.list(**{'include-invalid': True, 'include-masked': True})
        return {str(d['name']): d for _, d in items}

    def test_answered_from_the_root(self):
        e = self.entries()
        for name, feature in (('10-abs.json', 'root-abs'), ('20-climb.json', 'root-abs'),
                              ('30-dir.json', 'root-dir')):
            self.assertTrue(e[name]['valid'], name)
            self.assertEqual([str(f) for f in e[name]['features']], [feature], name)
            self.assertEqual(str(e[name]['targets'][0][0]), 'x86_64', name)
        # the symlinked image resolves inside the root; the host-only template is missing there
        self.assertTrue(e['40-images.json']['files-ok'])
        self.assertFalse(e['41-host-vars.json']['files-ok'])
        _, verdicts = self.explain(architecture='x86_64', exclude=dbus.Array(['10-abs.json', '20-climb.json',
                                                                               '30-dir.json'], signature='s'))
        self.assertIn(f'nvram-template-missing:{self.host}/img/VARS.fd', verdicts[('41-host-vars.json',
                                                                                   'rejected')])
        # nothing outside the root is read
        for name in ('50-out-abs.json', '51-out-rel.json'):
            self.assertFalse(e[name]['valid'], name)
            self.assertTrue(str(e[name]['problems'][0]).startswith('dangling symlink to '), e[name]['problems'])
        self.assertEqual([str(p) for p in e['60-loop.json']['problems']],
                         ['cannot access: Too many levels of symbolic links'])
        self.assertTrue(json.loads(self.manager.Describe('70-masked.json'))['masked'])

    def test_linked_image_directory_is_watched_in_the_root(self):
        """An image directory that is an absolute link inside the root: its target in the root is watched."""
        self.record_signals()
        os.makedirs(os.path.join(self.root, 'fw/later'))
        os.symlink('/fw/later', os.path.join(self.root, 'linked'))
        with open(os.path.join(self.root, USR, '.42.tmp'), 'w') as f:
            f.write(descriptor('x86_64', 'linked', code='/linked/CODE.fd'))
        os.rename(os.path.join(self.root, USR, '.42.tmp'), os.path.join(self.root, USR, '42-linked.json'))
        self.wait_for_change(1)
        self.assertFalse(self.entries()['42-linked.json']['files-ok'])
        with open(os.path.join(self.root, 'fw/later/CODE.fd'), 'w') as f:
            f.write('code')
        self.assertEqual(self.wait_for_change(2), [[], [], ['42-linked.json']])
        self.assertTrue(self.entries()['42-linked.json']['files-ok'])
        # seen by the watch on the directory (not by a full rescan that a watch on an ancestor set off)
        with open(self.log_path) as f:
            self.assertIn('Firmware catalogue changed (firmware images changed): 0 added, 0 removed, 1 modified: '
                          '~42-linked.json; generation 2.', f.read())

    def test_offline_agrees(self):
        online = self.ctl('--json', 'list', '--include-invalid', '--include-masked').stdout
        offline = self.ctl('--json', '--offline', '--root', self.root, 'list', '--include-invalid',
                           '--include-masked').stdout
        strip = lambda s: [{k: v for k, v in d.items() if k != 'generation'} for d in json.loads(s)['firmwares']]
        self.assertEqual(strip(online), strip(offline))
        resolved = json.loads(self.ctl('--json', '--offline', '--root', self.root, 'resolve', '-a', 'x86_64').stdout)
        self.assertEqual(resolved['name'], '10-abs.json')


if __name__ == '__main__':
    unittest.main(verbosity=2)
