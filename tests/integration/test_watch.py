#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The live catalogue: every way files change is seen without Reload, announced once, and answered right."""

import json
import os
import shutil
import signal
import unittest

from fwtest import (ETC, FIRMWARE_IFACE, MANAGER_PATH, USR, DaemonTestCase, firmware_path, flash, wait_until)


class TestWatch(DaemonTestCase):
    def setUp(self):
        super().setUp()
        self.record_signals()

    def path(self, rel):
        return os.path.join(self.root, rel)

    def names(self):
        return [d['name'] for _, d in self.list()[1]]

    def test_written_in_place(self):
        with open(self.path(f'{USR}/60-x86.json'), 'r+') as f:
            d = json.load(f)
            d['features'].append('acpi-s4')
            f.seek(0)
            f.truncate()
            f.write(json.dumps(d))
        self.assertEqual(self.wait_for_change(1), [[], [], ['60-x86.json']])
        self.assertIn('acpi-s4', self.prop('Features', firmware_path('60-x86.json'), FIRMWARE_IFACE))

    def test_atomic_rename_into_place(self):
        # how dpkg and editors save: a temporary name (ignored), then rename over the real one
        tmp = self.path(f'{USR}/.60-x86.json.swp')
        with open(tmp, 'w') as f:
            json.dump(flash('CODE.fd', 'VARS.fd', machines=('pc-i440fx-*',)), f)
        staged = self.path(f'{USR}/10-new.json.dpkg-new')
        with open(staged, 'w') as f:
            json.dump(flash('CODE.fd', 'VARS.fd'), f)
        os.rename(tmp, self.path(f'{USR}/60-x86.json'))
        os.rename(staged, self.path(f'{USR}/10-new.json'))
        self.assertEqual(self.wait_for_change(1), [['10-new.json'], [], ['60-x86.json']])
        self.assertEqual(self.resolve(architecture='x86_64')[1]['name'], '10-new.json')

    def test_deleted(self):
        os.unlink(self.path(f'{USR}/40-x86-enrolled.json'))
        self.assertEqual(self.wait_for_change(1), [[], ['40-x86-enrolled.json'], []])
        self.assertEqual(self.resolve(architecture='x86_64')[1]['name'], '50-x86-secure.json')
        members = [(m, p) for m, p, _ in self.signals]
        self.assertIn(('InterfacesRemoved', MANAGER_PATH), members)

    def test_mask_and_unmask(self):
        os.symlink('/dev/null', self.path(f'{ETC}/40-x86-enrolled.json'))
        self.assertEqual(self.wait_for_change(1), [[], [], ['40-x86-enrolled.json']])
        self.assertEqual(self.resolve(architecture='x86_64')[1]['name'], '50-x86-secure.json')
        self.assertTrue(self.prop('Masked', firmware_path('40-x86-enrolled.json'), FIRMWARE_IFACE))
        os.unlink(self.path(f'{ETC}/40-x86-enrolled.json'))
        self.assertEqual(self.wait_for_change(2), [[], [], ['40-x86-enrolled.json']])
        self.assertEqual(self.resolve(architecture='x86_64')[1]['name'], '40-x86-enrolled.json')

    def test_package_upgrade_is_one_change(self):
        # twenty files at once, as a package upgrade writes them
        for i in range(20):
            with open(self.path(f'{USR}/2{i:02d}-pkg.json'), 'w') as f:
                json.dump(flash('CODE.fd', 'VARS.fd', arch='aarch64', machines=('virt-*',)), f)
        added, removed, modified = self.wait_for_change(1)
        self.assertEqual(added, [f'2{i:02d}-pkg.json' for i in range(20)])
        self.assertEqual((removed, modified), ([], []))
        members = [m for m, _, _ in self.signals]
        self.assertEqual(members.count('CatalogueChanged'), 1)
        self.assertEqual(members.count('InterfacesAdded'), 20)
        manager_changes = [a for m, p, a in self.signals if m == 'PropertiesChanged' and p == MANAGER_PATH]
        self.assertEqual(len(manager_changes), 1)
        self.assertEqual(manager_changes[0][1]['Generation'], 1)
        self.assertEqual(manager_changes[0][1]['Count'], 26)
        self.assertEqual(self.prop('Generation'), 1)

    def test_directory_created_later(self):
        shutil.rmtree(self.path(ETC))
        self.manager.Reload()                   # the daemon now watches /etc/qemu, waiting for firmware/
        gen = self.prop('Generation')
        os.makedirs(self.path(ETC))
        with open(self.path(f'{ETC}/05-admin.json'), 'w') as f:
            json.dump(flash('CODE.fd', 'VARS.fd'), f)
        wait_until(lambda: '05-admin.json' in self.names(), what='05-admin.json in an /etc created later')
        self.assertGreater(self.prop('Generation'), gen)
        self.assertEqual(self.resolve(architecture='x86_64')[1]['name'], '05-admin.json')

    def test_directory_deleted_and_recreated(self):
        shutil.rmtree(self.path(ETC))
        # the mask and the admin's override went with it
        wait_until(lambda: '70-masked.json' in self.names(), what='the unmasked 70-masked.json')
        self.assertEqual(self.prop('Description', firmware_path('75-shadowed.json'), FIRMWARE_IFACE),
                         'the distribution copy')
        os.makedirs(self.path(ETC))
        with open(self.path(f'{ETC}/70-masked.json'), 'w'):
            pass
        wait_until(lambda: '70-masked.json' not in self.names(), what='the mask in a re-created /etc')

    def test_usr_share_deleted_and_recreated(self):
        shutil.rmtree(self.path(USR))
        wait_until(lambda: self.prop('Count') == 1, what='only /etc left')
        os.makedirs(self.path(USR))
        with open(self.path(f'{USR}/60-x86.json'), 'w') as f:
            json.dump(flash('CODE.fd', 'VARS.fd'), f)
        wait_until(lambda: '60-x86.json' in self.names(), what='a descriptor in a re-created /usr/share')

    def test_symlink_target_changes(self):
        target_dir = self.path('opt/fw')
        os.makedirs(target_dir)
        with open(os.path.join(target_dir, 'real.json'), 'w') as f:
            json.dump(flash('CODE.fd', 'VARS.fd', features=['acpi-s3']), f)
        # absolute links below --root point into the root
        os.symlink('/opt/fw/real.json', self.path(f'{ETC}/20-linked.json'))
        self.assertEqual(self.wait_for_change(1), [['20-linked.json'], [], []])
        # the target's content changes: the link's directory sees nothing, its target's does
        with open(os.path.join(target_dir, 'real.json'), 'w') as f:
            json.dump(flash('CODE.fd', 'VARS.fd', features=['acpi-s4']), f)
        self.assertEqual(self.wait_for_change(2), [[], [], ['20-linked.json']])
        self.assertEqual(list(self.prop('Features', firmware_path('20-linked.json'), FIRMWARE_IFACE)), ['acpi-s4'])
        # the link is pointed elsewhere
        with open(os.path.join(target_dir, 'other.json'), 'w') as f:
            json.dump(flash('CODE.fd', 'VARS.fd', arch='aarch64', machines=('virt-*',)), f)
        tmp = self.path(f'{ETC}/.20-linked.json.tmp')
        os.symlink('/opt/fw/other.json', tmp)
        os.rename(tmp, self.path(f'{ETC}/20-linked.json'))
        wait_until(lambda: self.prop('Generation') >= 3, what='the re-pointed link')
        targets = self.prop('Targets', firmware_path('20-linked.json'), FIRMWARE_IFACE)
        self.assertEqual(str(targets[0][0]), 'aarch64')

    def test_image_installed_and_removed(self):
        path = firmware_path('80-missing-image.json')
        self.assertFalse(self.prop('FilesOk', path, FIRMWARE_IFACE))
        with open(self.path('fw/GONE.fd'), 'w') as f:
            f.write('installed')
        self.assertEqual(self.wait_for_change(1), [[], [], ['80-missing-image.json']])
        self.assertTrue(self.prop('FilesOk', path, FIRMWARE_IFACE))
        os.unlink(self.path('fw/VARS.fd'))      # shared by five descriptors
        _, _, modified = self.wait_for_change(2)
        self.assertEqual(modified, ['50-x86-secure.json', '60-x86.json', '75-shadowed.json',
                                    '80-missing-image.json'])
        self.assertFalse(self.prop('FilesOk', path, FIRMWARE_IFACE))

    def test_image_directory_created_later(self):
        os.makedirs(self.path('opt'), exist_ok=True)
        with open(self.path(f'{USR}/15-opt.json'), 'w') as f:
            json.dump(flash('CODE.fd', 'VARS.fd'), f)
        # point it at a directory that does not exist yet
        d = flash('CODE.fd', 'VARS.fd')
        d['mapping']['executable']['filename'] = '/opt/later/CODE.fd'
        d['mapping']['nvram-template']['filename'] = '/opt/later/VARS.fd'
        with open(self.path(f'{USR}/15-opt.json'), 'w') as f:
            json.dump(d, f)
        wait_until(lambda: '15-opt.json' in self.names(), what='15-opt.json')
        self.assertFalse(self.prop('FilesOk', firmware_path('15-opt.json'), FIRMWARE_IFACE))
        os.makedirs(self.path('opt/later'))
        for name in ('CODE.fd', 'VARS.fd'):
            with open(self.path(f'opt/later/{name}'), 'w') as f:
                f.write('image')
        wait_until(lambda: self.prop('FilesOk', firmware_path('15-opt.json'), FIRMWARE_IFACE),
                   what='files-ok once the image directory exists')


class TestOverflow(DaemonTestCase):
    """IN_Q_OVERFLOW: with a tiny kernel queue and the daemon stopped, events are lost; a full rescan
    must still end with the right catalogue."""

    SYSCTL = '/proc/sys/fs/inotify/max_queued_events'

    def setUp(self):
        try:
            with open(self.SYSCTL) as f:
                self.saved = f.read()
            with open(self.SYSCTL, 'w') as f:
                f.write('16')           # read when the daemon creates its inotify instance
        except OSError as e:
            self.skipTest(f'cannot lower {self.SYSCTL} ({e}): needs root')
        try:
            super().setUp()
        finally:
            with open(self.SYSCTL, 'w') as f:
                f.write(self.saved)

    def test_overflow_rescans(self):
        self.record_signals()
        self.daemon.send_signal(signal.SIGSTOP)
        try:
            for i in range(100):
                with open(self.path(f'{USR}/3{i:02d}-flood.json'), 'w') as f:
                    json.dump(flash('CODE.fd', 'VARS.fd'), f)
        finally:
            self.daemon.send_signal(signal.SIGCONT)
        wait_until(lambda: self.prop('Count') == 106, what='all 100 new descriptors after an overflow')
        with open(self.log_path) as f:
            self.assertIn('Missed file system events, rescanning everything.', f.read())

    def path(self, rel):
        return os.path.join(self.root, rel)


if __name__ == '__main__':
    unittest.main(verbosity=2)
