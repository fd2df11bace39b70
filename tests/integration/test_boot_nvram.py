#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Boots, not just bytes: a VM's store that real OVMF wrote, changed by fwregistryctl through the daemon, and
booted again under QEMU (TCG). The 2 MiB to 4 MiB move keeps the boot entries and a variable of the VM's own, and
the 4 MiB build does not reformat the store; update-keys gives Debian 12's enrolled store the 2023 certificates
and Secure Boot still refuses an unsigned binary."""

import json
import os
import shutil
import subprocess
import time
import unittest

from fwtest import DaemonTestCase, flash, write_tree
from uefishell import UefiShell

OVMF = '/usr/share/OVMF'
DATA_DIR = os.environ.get('FWREGISTRY_TEST_DATA') or os.path.join(os.path.dirname(__file__), '..', 'data')
OWN_GUID = '7e9a4a5f-7b55-4c59-9d59-3c3e1a1c0001'
IMAGES = ['OVMF_CODE.fd', 'OVMF_VARS.fd', 'OVMF_CODE_4M.fd', 'OVMF_VARS_4M.fd', 'OVMF_CODE_4M.ms.fd',
          'OVMF_VARS_4M.ms.fd']


def sid_templates():
    p = subprocess.run(['/usr/bin/python3', os.path.join(DATA_DIR, 'fetch-templates')], capture_output=True,
                       text=True, timeout=900)
    return p.stdout.strip() if p.returncode == 0 else None


class TestBootNvram(DaemonTestCase):
    tree = {}

    @classmethod
    def setUpClass(cls):
        if not shutil.which('qemu-system-x86_64'):
            raise unittest.SkipTest('qemu-system-x86 is not installed')
        missing = [n for n in IMAGES if not os.path.exists(os.path.join(OVMF, n))]
        if missing:
            raise unittest.SkipTest(f'ovmf is not installed ({", ".join(missing)})')
        cls.sid = sid_templates()
        super().setUpClass()

    def start_daemon(self, *extra):
        images = os.path.join(self.root, 'fw')
        os.makedirs(images, exist_ok=True)
        for n in IMAGES:
            shutil.copy(os.path.join(OVMF, n), images)
        smm = ['secure-boot', 'enrolled-keys', 'requires-smm']
        tree = {
            'usr/share/qemu/firmware/40-x86-4m-enrolled.json':
                flash('OVMF_CODE_4M.ms.fd', 'OVMF_VARS_4M.ms.fd', features=smm),
            'usr/share/qemu/firmware/60-x86-4m.json':
                flash('OVMF_CODE_4M.fd', 'OVMF_VARS_4M.fd'),
            'usr/share/qemu/firmware/70-x86-2m.json':
                flash('OVMF_CODE.fd', 'OVMF_VARS.fd'),
        }
        if self.sid:
            for n in ('OVMF_CODE_4M.ms.fd', 'OVMF_VARS_4M.ms.fd'):
                shutil.copy(os.path.join(self.sid, 'usr/share/OVMF', n), os.path.join(images, 'SID_' + n))
            tree['usr/share/qemu/firmware/30-x86-4m-enrolled-2026.json'] = flash(
                'SID_OVMF_CODE_4M.ms.fd', 'SID_OVMF_VARS_4M.ms.fd', features=smm)
        write_tree(self.root, tree, images=[])
        super().start_daemon(*extra)

    def host(self, name):
        """An image of the test's tree, as QEMU on the host opens it."""
        return os.path.join(self.root, 'fw', name)

    def inspect(self, store):
        return json.loads(self.ctl('nvram', 'inspect', store, '--json').stdout)

    def test_migrate_2m_to_4m_boots(self):
        store = shutil.copy(self.host('OVMF_VARS.fd'), os.path.join(self.root, 'vm1_VARS.fd'))
        start = time.monotonic()
        with UefiShell(self.host('OVMF_CODE.fd'), store) as shell:
            shell.type(f'setvar FwrTest -guid {OWN_GUID} -nv -bs -rt =L"kept"')
            self.assertEqual(shell.shutdown(), 0)
        before = self.inspect(store)
        self.assertTrue(before['boot-entries'], 'OVMF wrote no boot entries')
        self.assertIn(('FwrTest', OWN_GUID), {(v['name'], v['guid']) for v in before['variables']})
        self.assertEqual(before['fits'], ['70-x86-2m.json'])

        p = self.ctl('nvram', 'migrate', store, '--arch=x86_64', '--machine=q35', '--no-secure-boot', '--json')
        report = json.loads(p.stdout)
        self.assertEqual(report['firmware'], '60-x86-4m.json')
        self.assertEqual(report['carried'], len(before['variables']))
        self.assertEqual(os.path.getsize(store), 540672)

        with UefiShell(self.host('OVMF_CODE_4M.fd'), store) as shell:
            shown = shell.type(f'setvar FwrTest -guid {OWN_GUID}')
            self.assertIn('6B 00 65 00 70 00 74 00', shown)        # "kept" in UTF-16: not reformatted
            self.assertEqual(shell.shutdown(), 0)
        after = self.inspect(store)
        self.assertEqual(after['varstore-size'], 0x84000)
        self.assertEqual(after['boot-order'][:len(before['boot-order'])], before['boot-order'])
        described = {(e['number'], e['description'], e['device-path']) for e in after['boot-entries']}
        for e in before['boot-entries']:
            self.assertIn((e['number'], e['description'], e['device-path']), described)
        self.assertIn(('FwrTest', OWN_GUID), {(v['name'], v['guid']) for v in after['variables']})
        print(f'\n2 MiB store booted, migrated and booted on the 4 MiB build in {time.monotonic() - start:.1f} s: '
              f'{len(before["variables"])} variables before, {len(after["variables"])} after, boot order '
              f'{after["boot-order"]}')

    def test_update_keys_boots_enforcing(self):
        if not self.sid:
            self.skipTest('the 2026.08 template could not be fetched')
        store = shutil.copy(self.host('OVMF_VARS_4M.ms.fd'), os.path.join(self.root, 'vm2_VARS.fd'))
        before = self.inspect(store)
        p = self.ctl('nvram', 'update-keys', store, '--json')
        report = json.loads(p.stdout)
        self.assertEqual(report['firmware'], '30-x86-4m-enrolled-2026.json')
        self.assertEqual(sorted(report['added-certificates']), sorted([
            'microsoft-kek-2023', 'windows-uefi-ca-2023', 'microsoft-uefi-ca-2023', 'microsoft-option-rom-ca-2023']))
        after = self.inspect(store)
        for w in ('kek-2011-only', 'db-2011-only'):
            self.assertIn(w, before['warnings'])
            self.assertNotIn(w, after['warnings'])
        keys = {'KEK', 'db', 'dbx'}
        self.assertEqual([v for v in before['variables'] if v['name'] not in keys],
                         [v for v in after['variables'] if v['name'] not in keys])
        self.assertEqual([c for c in after['certificates'] if c['database'] == 'PK'],
                         [c for c in before['certificates'] if c['database'] == 'PK'])
        with UefiShell(self.host('OVMF_CODE_4M.ms.fd'), store, smm=True, until=b'Press any key') as shell:
            self.assertIn('Security Violation', shell.text())       # the unsigned shell is refused
            shell.stop()
        self.assertEqual(self.inspect(store)['secure-boot'], 'enforcing')


if __name__ == '__main__':
    unittest.main(verbosity=2)
