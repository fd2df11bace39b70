#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""InspectVarstore and ConvertVarstore on the bus, with the real daemon: the report of a store OVMF booted with,
a conversion written into the caller's own file, and every refusal (a FIFO, a directory, a read-only or a full
target, the nvram key, unknown options, variables that do not fit) leaving the source byte for byte as it was.
A store on a file system that never answers costs its caller Timeout."""

import hashlib
import os
import shutil
import time

import dbus

from fwtest import BUS_NAME, DaemonTestCase, SLOW, flash, write_tree
import test_files  # noqa: E402  (the module, so that its tests are not collected here again)
from test_files import DEADLINE_MS

DATA = os.environ.get('FWREGISTRY_TEST_DATA') or os.path.join(os.path.dirname(__file__), '..', 'data')
BOOTED_2M = os.path.join(DATA, 'varstores', 'ovmf-2m-booted.fd')
BOOTED_4M_MS = os.path.join(DATA, 'varstores', 'ovmf-4m-ms-booted.fd')
OVMF = '/usr/share/OVMF'
OWN_GUID = '7e9a4a5f-7b55-4c59-9d59-3c3e1a1c0001'
INVALID_ARGS = 'org.freedesktop.DBus.Error.InvalidArgs'
NO_SPACE = BUS_NAME + '.Error.NoSpace'


def sha256(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


class TestVarstoreMethods(DaemonTestCase):
    tree = {}

    def start_daemon(self, *extra):
        images = os.path.join(self.root, 'fw')
        os.makedirs(images, exist_ok=True)
        for n in ('OVMF_VARS_4M.fd', 'OVMF_VARS_4M.ms.fd', 'OVMF_VARS.fd'):
            if not os.path.exists(os.path.join(OVMF, n)):
                self.skipTest(f'ovmf is not installed ({n})')
            shutil.copy(os.path.join(OVMF, n), images)
        with open(os.path.join(images, 'CODE.fd'), 'w') as f:
            f.write('code')
        smm = ['secure-boot', 'enrolled-keys', 'requires-smm']
        write_tree(self.root, {
            'usr/share/qemu/firmware/40-x86-4m-enrolled.json': flash('CODE.fd', 'OVMF_VARS_4M.ms.fd',
                                                                     features=smm),
            'usr/share/qemu/firmware/60-x86-4m.json': flash('CODE.fd', 'OVMF_VARS_4M.fd'),
            'usr/share/qemu/firmware/70-x86-2m.json': flash('CODE.fd', 'OVMF_VARS.fd'),
        }, images=[])
        super().start_daemon(*extra)

    def fd(self, path, flags=os.O_RDONLY):
        fd = os.open(path, flags | os.O_CLOEXEC | os.O_NONBLOCK)
        self.addCleanup(os.close, fd)
        return dbus.types.UnixFd(fd)

    def inspect(self, path):
        return self.manager.InspectVarstore(self.fd(path))

    def convert(self, source, target_fd, options=None, **request):
        request.setdefault('architecture', 'x86_64')
        return self.manager.ConvertVarstore(self.fd(source), target_fd, dbus.Dictionary(request, signature='sv'),
                                            dbus.Dictionary(options or {}, signature='sv'))

    def target(self, name='new.fd'):
        path = os.path.join(self.root, name)
        return path, self.fd(path, os.O_RDWR | os.O_CREAT | os.O_EXCL)

    def test_inspect(self):
        r = self.inspect(BOOTED_4M_MS)
        self.assertEqual((r['format'], r['size'], r['varstore-size'], r['secure-boot']),
                         ('edk2-authenticated', 540672, 0x84000, 'enforcing'))
        self.assertEqual(r['fits'], [self.firmware_path('40-x86-4m-enrolled.json'),
                                     self.firmware_path('60-x86-4m.json')])
        self.assertEqual(r['fits'].signature, 'o')
        ids = {(str(c['database']), str(c['id'])) for c in r['certificates']}
        self.assertIn(('KEK', 'microsoft-kek-2011'), ids)
        self.assertEqual(dict(r['hashes']), {'dbx': 1})
        self.assertIn('kek-2011-only', r['warnings'])
        self.assertEqual(r['boot-order'].signature, 'q')
        self.assertTrue(any(str(e['description']) == 'EFI Internal Shell' for e in r['boot-entries']))
        self.assertIn(('PK', '8be4df61-93ca-11d2-aa0d-00e098032b8c'),
                      {(str(v[0]), str(v[1])) for v in r['variables']})
        # not a regular file: refused, the daemon still there
        self.assert_dbus_error(INVALID_ARGS, self.manager.InspectVarstore,
                               self.fd(self.root, os.O_RDONLY | os.O_DIRECTORY), contains='not a regular file')
        fifo = os.path.join(self.root, 'fifo')
        os.mkfifo(fifo)
        self.assert_dbus_error(INVALID_ARGS, self.manager.InspectVarstore, self.fd(fifo))
        self.assertEqual(self.inspect(BOOTED_2M)['fits'], [self.firmware_path('70-x86-2m.json')])

    def test_convert(self):
        before = sha256(BOOTED_2M)
        path, target = self.target()
        firmware, report = self.convert(BOOTED_2M, target, None, machine='q35',
                                        features=dbus.Dictionary({'secure-boot': False}, signature='sb'))
        self.assertEqual(firmware, self.firmware_path('60-x86-4m.json'))
        self.assertEqual(report['warnings'], [])
        self.assertGreater(report['carried'], 20)
        self.assertEqual(report['bytes-used'] + report['bytes-free'], 0x40000 - 0x48)
        self.assertEqual(os.path.getsize(path), 540672)
        back = self.inspect(path)
        self.assertIn(('FwrTest', OWN_GUID), {(str(v[0]), str(v[1])) for v in back['variables']})
        self.assertEqual(sha256(BOOTED_2M), before)
        # keys=template gives the enrolled template's keys, and says PCR 7 changes
        path, target = self.target('enrolled.fd')
        firmware, report = self.convert(BOOTED_2M, target, {'keys': 'template'},
                                        features=dbus.Dictionary({'enrolled-keys': True}, signature='sb'))
        self.assertEqual(report['warnings'], ['pcr7-changes'])
        self.assertEqual(self.inspect(path)['secure-boot'], 'enforcing')

    def test_refusals(self):
        before = sha256(BOOTED_2M)
        fifo = os.path.join(self.root, 'fifo')
        os.mkfifo(fifo)
        full = os.path.join(self.root, 'full.fd')
        with open(full, 'w') as f:
            f.write('x')
        readonly = os.path.join(self.root, 'readonly.fd')
        open(readonly, 'w').close()
        for target, why in ((self.fd(fifo, os.O_RDWR), 'not a regular file'),
                            (self.fd(self.root, os.O_RDONLY | os.O_DIRECTORY), 'not a regular file'),
                            (self.fd(readonly, os.O_RDONLY), 'not open for writing'),
                            (self.fd(full, os.O_RDWR), 'not empty')):
            self.assert_dbus_error(INVALID_ARGS, self.convert, BOOTED_2M, target, contains=why)
        _, target = self.target()
        self.assert_dbus_error(INVALID_ARGS, self.convert, BOOTED_2M, target, nvram=self.fd(BOOTED_2M),
                               contains="Key 'nvram' is not allowed")
        self.assert_dbus_error(INVALID_ARGS, self.convert, BOOTED_2M, target, {'frob': 'x'},
                               contains="Unknown option 'frob'")
        self.assert_dbus_error(INVALID_ARGS, self.convert, BOOTED_2M, target, {'keys': 'all'},
                               contains="Unknown keys 'all'")
        self.assert_dbus_error(INVALID_ARGS, self.convert, BOOTED_2M, target, {'keys': dbus.UInt32(1)})
        # variables that do not fit the 2 MiB store: NoSpace with both counts, the target left empty
        big = os.path.join(self.root, 'big.json')
        with open(big, 'w') as f:
            f.write('{"version": 2, "variables": [{"guid": "%s", "name": "Big", "attr": 7, "data": "%s"}]}'
                    % (OWN_GUID, '00' * 70000))
        message = self.assert_dbus_error(NO_SPACE, self.convert, big, target, exclude=['60-x86-4m.json'],
                                         features=dbus.Dictionary({'secure-boot': False}, signature='sb'))
        self.assertRegex(message, r'need \d+ bytes; the store of 70-x86-2m.json\'s template has 57272')
        self.assertEqual(os.path.getsize(os.path.join(self.root, 'new.fd')), 0)
        self.assertEqual(sha256(BOOTED_2M), before)
        # the daemon still serves
        self.assertEqual(str(self.resolve(architecture='x86_64')[1]['name']), '40-x86-4m-enrolled.json')


class TestVarstoreHung(test_files.TestHungFile):
    """InspectVarstore and ConvertVarstore of a store on a file system that never answers."""

    # the parent's tests run in test_files.py
    test_others_served_while_a_file_hangs = None
    test_executable_path_that_hangs = None
    test_threads_left_hanging_are_bounded = None
    test_exits_while_a_thread_hangs = None

    def test_inspect_times_out(self):
        fd = os.open(os.path.join(self.mnt, 'varstore'), os.O_RDONLY | os.O_CLOEXEC)
        try:
            start = time.monotonic()
            with self.assertRaises(dbus.exceptions.DBusException) as cm:
                self.manager.InspectVarstore(dbus.types.UnixFd(fd), timeout=20 * SLOW)
            took = time.monotonic() - start
        finally:
            os.close(fd)
        self.assertEqual(cm.exception.get_dbus_name(), BUS_NAME + '.Error.Timeout')
        self.assertGreaterEqual(took, DEADLINE_MS / 1000 - 0.05)
        self.assertTrue(self.resolve(architecture='x86_64')[1]['name'])    # the daemon still serves

    def test_convert_times_out(self):
        fd = os.open(os.path.join(self.mnt, 'varstore'), os.O_RDONLY | os.O_CLOEXEC)
        target = os.open(os.path.join(self.root, 'new.fd'), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC)
        try:
            with self.assertRaises(dbus.exceptions.DBusException) as cm:
                self.manager.ConvertVarstore(dbus.types.UnixFd(fd), dbus.types.UnixFd(target),
                                             dbus.Dictionary({'architecture': 'x86_64'}, signature='sv'),
                                             dbus.Dictionary({}, signature='sv'), timeout=20 * SLOW)
        finally:
            os.close(fd)
            os.close(target)
        self.assertEqual(cm.exception.get_dbus_name(), BUS_NAME + '.Error.Timeout')
        self.assertEqual(os.path.getsize(os.path.join(self.root, 'new.fd')), 0)


if __name__ == '__main__':
    import unittest
    unittest.main(verbosity=2)
