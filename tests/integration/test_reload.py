#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Rescans on Reload and SIGHUP: the right signals, in the right order, and the right answers afterwards."""

import json
import os
import signal
import subprocess
import unittest

from fwtest import (ETC, FIRMWARE_IFACE, MANAGER_IFACE, MANAGER_PATH, USR, DaemonTestCase, firmware_path, flash,
                    wait_until)


class TestRescan(DaemonTestCase):
    # the watcher out of the picture: with a window longer than any test, a change is seen only if Reload or
    # SIGHUP rescans
    daemon_args = ['--debounce=60000']

    def test_reload_announces_changes(self):
        self.record_signals()
        self.write(f'{USR}/10-new.json', flash('CODE.fd', 'VARS.fd', features=['secure-boot', 'enrolled-keys']))
        self.remove(f'{USR}/60-aarch64.json')
        self.write(f'{ETC}/50-x86-secure.json', '')                                     # masked now
        self.manager.Reload()
        added, removed, modified = self.wait_for_change(1)
        self.assertEqual(added, ['10-new.json'])
        self.assertEqual(removed, ['60-aarch64.json'])
        self.assertEqual(modified, ['50-x86-secure.json'])
        self.assertEqual(self.prop('Generation'), 1)

        members = [(m, p) for m, p, _ in self.signals]
        changed = members.index(('CatalogueChanged', MANAGER_PATH))
        # ObjectManager and PropertiesChanged signals come first, CatalogueChanged last
        self.assertIn(('InterfacesAdded', MANAGER_PATH), members[:changed])
        self.assertIn(('InterfacesRemoved', MANAGER_PATH), members[:changed])
        self.assertIn(('PropertiesChanged', firmware_path('50-x86-secure.json')), members[:changed])
        self.assertIn(('PropertiesChanged', MANAGER_PATH), members[:changed])
        self.assertEqual(changed, len(members) - 1)
        added_signal = next(a for m, _, a in self.signals if m == 'InterfacesAdded')
        self.assertEqual(str(added_signal[0]), firmware_path('10-new.json'))
        self.assertEqual(added_signal[1][FIRMWARE_IFACE]['Name'], '10-new.json')
        manager_props = next(a for m, p, a in self.signals if m == 'PropertiesChanged' and p == MANAGER_PATH)
        self.assertEqual(manager_props[1]['Generation'], 1)
        self.assertEqual(manager_props[1]['Count'], 5)

        # and the answers follow
        self.assertEqual(self.resolve(architecture='x86_64')[1]['name'], '10-new.json')
        self.assertEqual(list(self.prop('Architectures')), ['x86_64'])
        self.assertTrue(self.prop('Masked', firmware_path('50-x86-secure.json'), FIRMWARE_IFACE))

    def test_reload_without_changes_is_silent(self):
        self.record_signals()
        self.manager.Reload()
        self.write(f'{USR}/11-next.json', flash('CODE.fd', 'VARS.fd'))
        self.manager.Reload()
        # the first Reload changed nothing: the first signal is for the second one, generation 1
        self.assertEqual(self.wait_for_change(1)[0], ['11-next.json'])
        self.assertEqual([m for m, _, _ in self.signals].count('CatalogueChanged'), 1)

    def test_sighup_rescans(self):
        self.record_signals()
        self.write(f'{USR}/60-x86.json', flash('CODE.fd', 'VARS.fd', machines=('pc-i440fx-*',)))
        self.daemon.send_signal(signal.SIGHUP)
        self.assertEqual(self.wait_for_change(1), [[], [], ['60-x86.json']])
        _, result = self.resolve(architecture='x86_64', machine='pc-i440fx-9.2')
        self.assertEqual(list(result['targets']), [('x86_64', ['pc-i440fx-*'])])

    def test_image_appearing_is_a_change(self):
        self.record_signals()
        with open(os.path.join(self.root, 'fw', 'GONE.fd'), 'w') as f:
            f.write('installed now')
        self.manager.Reload()
        self.assertEqual(self.wait_for_change(1), [[], [], ['80-missing-image.json']])
        self.assertTrue(self.prop('FilesOk', firmware_path('80-missing-image.json'), FIRMWARE_IFACE))

    def test_broken_file_keeps_the_rest(self):
        self.write(f'{USR}/40-x86-enrolled.json', '{ broken')
        self.manager.Reload()
        self.assertEqual(self.resolve(architecture='x86_64')[1]['name'], '50-x86-secure.json')
        self.assertEqual(self.prop('InvalidCount'), 2)
        problems = list(self.prop('Problems', firmware_path('40-x86-enrolled.json'), FIRMWARE_IFACE))
        self.assertEqual(len(problems), 1)
        self.assertIn('invalid JSON at line 1, column 4 (byte 3): invalid char in json text', problems[0])

    def test_monitor(self):
        monitor = subprocess.Popen(self.ctl_argv('monitor', '--json'), stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, env=self.ctl_env())
        try:
            # monitor says so on stderr once its match is in place
            instance = str(self.prop('InstanceId'))
            self.assertEqual(monitor.stderr.readline(), f'Monitoring catalogue changes of instance {instance} from '
                             'generation 0, press Ctrl-C to stop.\n')
            self.write(f'{USR}/12-watched.json', flash('CODE.fd', 'VARS.fd'))
            self.ctl('reload')
            line = monitor.stdout.readline()
            self.assertEqual(json.loads(line), {'instance-id': instance, 'generation': 1,
                                                'added': ['12-watched.json'], 'removed': [], 'modified': []})
        finally:
            monitor.send_signal(signal.SIGINT)
            monitor.communicate(timeout=30)
        self.assertEqual(monitor.returncode, 0)

    def test_clean_exit_on_sigterm(self):
        self.daemon.send_signal(signal.SIGTERM)
        self.assertEqual(self.daemon.wait(timeout=30), 0)
        with open(self.log_path) as f:
            log = f.read()
        self.assertIn('Received Terminated, exiting.', log)
        self.assertIn('Loaded 6 firmware descriptors (1 invalid, 1 masked)', log)
        self.assertIn('90-invalid.json: invalid JSON at line 1', log)


class TestClient(DaemonTestCase):
    def test_online_equals_offline(self):
        for args in (['list'], ['list', '--include-invalid', '--include-masked', '--arch', 'x86_64'],
                     ['resolve', '--arch', 'x86_64', '--machine', 'q35', '--no-enrolled-keys'],
                     ['explain', '--arch', 'x86_64', '--machine', 'pc', '--secure-boot'],
                     ['describe', '75-shadowed.json']):
            online = self.ctl('--json', *args).stdout
            offline = self.ctl('--json', '--offline', '--root', self.root, *args).stdout
            self.assertEqual(online, offline, args)

    def test_human_output(self):
        out = self.ctl('list').stdout.splitlines()
        self.assertEqual(out[0].split(), ['RANK', 'NAME', 'STATE', 'INTERFACE', 'DEVICE', 'TARGETS', 'FEATURES'])
        self.assertEqual(out[6].split()[:3], ['6', '80-missing-image.json', 'files-missing'])
        p = self.ctl('resolve', '--arch', 'x86_64', '--machine', 'pc', '--secure-boot', check=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn("No firmware matches x86_64 machine 'pc' uefi +secure-boot", p.stderr)
        p = self.ctl('describe', 'nope.json', check=False)
        self.assertIn("No firmware descriptor 'nope.json'", p.stderr)

    def test_no_daemon(self):
        self.stop_daemon()
        p = self.ctl('list', check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn('fwregistryd is not running', p.stderr)
        self.start_daemon()


if __name__ == '__main__':
    unittest.main(verbosity=2)
