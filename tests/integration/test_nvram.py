#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Image facts, varstores and the nvram request key against the real daemon: fd passing, the fit rule, replaced
images announced with their new digest, touches not announced, and Debian's real files."""

import hashlib
import json
import os
import shutil
import struct
import subprocess
import time
import unittest

import dbus

from fwtest import (BUS_NAME, DAEMON, ERROR_NO_MATCH, ETC, FIRMWARE_IFACE, INVALID_ARGS, MANAGER_IFACE, MANAGER_PATH,
                    OVMF_2M, USR, WRAPPER, DaemonTestCase, firmware_path, flash, wait_until)

NV_FV = bytes.fromhex('8d2bf1ff96768b4ca9852747075b4f50')
AUTH_VARS = bytes.fromhex('782cf3aa7b949a43a1802e144ec37792')


def edk2_store(volume, size):
    """A varstore head as edk2 writes it: the volume header, then the authenticated store GUID."""
    head = bytearray(size)
    head[16:32] = NV_FV
    head[32:40] = struct.pack('<Q', volume)
    head[40:44] = b'_FVH'
    head[48:50] = struct.pack('<H', 0x48)
    head[0x48:0x58] = AUTH_VARS
    return bytes(head)


STORE_2M = edk2_store(0x20000, 131072)
STORE_4M = edk2_store(0x84000, 540672)

TREE = {
    f'{USR}/40-x86-4m.json': flash('CODE_4M.fd', 'VARS_4M.fd', features=['secure-boot']),
    f'{USR}/50-x86-4m-plain.json': flash('CODE_4M.fd', 'VARS_4M.fd'),
    f'{USR}/60-aarch64.json': flash('AA_CODE.fd', 'AA_VARS.fd', arch='aarch64', machines=('virt-*',)),
    f'{ETC}/70-x86-2m.json': flash('CODE.fd', 'VARS.fd', machines=('pc-q35-*', 'pc-i440fx-*')),
}


def sha256(data):
    return hashlib.sha256(data).hexdigest()


class NvramTestCase(DaemonTestCase):
    tree = TREE

    def image(self, name):
        return os.path.join(self.root, 'fw', name)

    def put_image(self, name, data):
        with open(self.image(name), 'wb') as f:
            f.write(data)

    def start_daemon(self, *extra):
        # real layouts for the images before the daemon reads them
        os.makedirs(os.path.join(self.root, 'fw'), exist_ok=True)
        for name, data in (('CODE_4M.fd', b'code 4m' * 1000), ('VARS_4M.fd', STORE_4M), ('CODE.fd', b'code 2m'),
                           ('VARS.fd', STORE_2M), ('AA_CODE.fd', b'aa code'), ('AA_VARS.fd', bytes(65536))):
            self.put_image(name, data)
        super().start_daemon(*extra)

    def store(self, data, name='vm-vars.fd'):
        path = os.path.join(self.root, name)
        with open(path, 'wb') as f:
            f.write(data)
        return path

    def nvram(self, path, flags=os.O_RDONLY):
        fd = os.open(path, flags | os.O_CLOEXEC | os.O_NONBLOCK)
        self.addCleanup(os.close, fd)
        return dbus.types.UnixFd(fd)


class TestNvramKey(NvramTestCase):
    def test_facts_in_results(self):
        _, result = self.resolve(architecture='x86_64')
        self.assertEqual(result['name'], '40-x86-4m.json')
        self.assertEqual(result['state'], 'ok')
        self.assertEqual(result['executable-size'], 7000)
        self.assertEqual(result['executable-sha256'], sha256(b'code 4m' * 1000))
        self.assertEqual(result['nvram-template-size'], 540672)
        self.assertEqual(result['nvram-template-sha256'], sha256(STORE_4M))
        self.assertEqual(result['varstore-format'], 'edk2-authenticated')
        self.assertEqual(result['varstore-size'], 0x84000)
        path = firmware_path('60-aarch64.json')
        self.assertEqual(self.prop('VarstoreFormat', path, FIRMWARE_IFACE), 'blank')
        self.assertEqual(self.prop('VarstoreSize', path, FIRMWARE_IFACE), 0)
        self.assertEqual(self.prop('State', path, FIRMWARE_IFACE), 'ok')
        described = json.loads(str(self.manager.Describe('70-x86-2m.json')))
        self.assertEqual(described['state'], 'ok')
        self.assertEqual(described['varstore-size'], 0x20000)

    def test_old_store_gets_old_build(self):
        store = self.store(STORE_2M)
        _, result = self.resolve(architecture='x86_64', machine='q35', nvram=self.nvram(store))
        self.assertEqual(result['name'], '70-x86-2m.json')
        # without it, a new VM gets the 4 MiB build first
        self.assertEqual(self.resolve(architecture='x86_64', machine='q35')[1]['name'], '40-x86-4m.json')
        selected, verdicts = self.explain(architecture='x86_64', nvram=self.nvram(store))
        self.assertEqual(selected, firmware_path('70-x86-2m.json'))
        self.assertEqual(verdicts[('40-x86-4m.json', 'rejected')], ['nvram-layout'])
        self.assertEqual(verdicts[('50-x86-4m-plain.json', 'rejected')], ['nvram-layout'])
        # the caller's offset is left where it was: the daemon uses pread()
        fd = os.open(store, os.O_RDONLY | os.O_CLOEXEC)
        self.addCleanup(os.close, fd)
        os.lseek(fd, 100, os.SEEK_SET)
        self.resolve(architecture='x86_64', nvram=dbus.types.UnixFd(fd))
        self.assertEqual(os.lseek(fd, 0, os.SEEK_CUR), 100)

    def test_no_match_names_layouts(self):
        store = self.store(STORE_2M)
        message = self.assert_dbus_error(ERROR_NO_MATCH, self.resolve, architecture='x86_64',
                                         exclude=['70-x86-2m.json'], nvram=self.nvram(store))
        self.assertIn('nvram=(edk2-authenticated volume 0x20000, 131072 bytes)', message)
        self.assertIn('templates of the candidates: edk2-authenticated volume 0x84000, 540672 bytes '
                      '(40-x86-4m.json, 50-x86-4m-plain.json)', message)

    def test_new_store_and_list(self):
        store = self.store(STORE_4M)
        self.assertEqual(self.resolve(architecture='x86_64', nvram=self.nvram(store))[1]['name'], '40-x86-4m.json')
        _, items = self.list(nvram=self.nvram(store))
        self.assertEqual([d['name'] for _, d in items], ['40-x86-4m.json', '50-x86-4m-plain.json'])
        blank = self.store(bytes(65536), 'blank.fd')
        self.assertEqual(self.resolve(architecture='aarch64', nvram=self.nvram(blank))[1]['name'], '60-aarch64.json')
        self.assert_dbus_error(ERROR_NO_MATCH, self.resolve, architecture='x86_64', nvram=self.nvram(blank))

    def test_bad_descriptors(self):
        fifo = os.path.join(self.root, 'fifo')
        os.mkfifo(fifo)
        message = self.assert_dbus_error(INVALID_ARGS, self.resolve, architecture='x86_64', nvram=self.nvram(fifo))
        self.assertIn("Key 'nvram' must be an open regular file", message)
        self.assert_dbus_error(INVALID_ARGS, self.explain, architecture='x86_64',
                               nvram=self.nvram(self.root, os.O_RDONLY | os.O_DIRECTORY))
        store = self.store(STORE_2M)
        message = self.assert_dbus_error(INVALID_ARGS, self.resolve, architecture='x86_64',
                                         nvram=self.nvram(store, os.O_WRONLY))
        self.assertIn("Key 'nvram' is not readable", message)
        # O_PATH: no reading through it at all
        message = self.assert_dbus_error(INVALID_ARGS, self.resolve, architecture='x86_64',
                                         nvram=self.nvram(store, os.O_PATH))
        # a sparse 64 MiB file is one bounded read, and blank
        sparse = os.path.join(self.root, 'sparse.fd')
        with open(sparse, 'wb') as f:
            f.truncate(64 << 20)
        self.assert_dbus_error(ERROR_NO_MATCH, self.resolve, architecture='x86_64', nvram=self.nvram(sparse),
                               contains='nvram=(blank, 67108864 bytes)')
        # the daemon is still there
        self.assertEqual(self.resolve(architecture='x86_64')[1]['name'], '40-x86-4m.json')

    def test_ctl(self):
        store = self.store(STORE_2M)
        p = self.ctl('resolve', '--arch=x86_64', '--machine=q35', f'--nvram={store}', '--json')
        self.assertEqual(json.loads(p.stdout)['name'], '70-x86-2m.json')
        p = self.ctl('nvram', 'inspect', store)
        self.assertIn('edk2-authenticated volume 0x20000, 131072 bytes', p.stdout)
        self.assertIn('70-x86-2m.json', p.stdout)
        p = self.ctl('nvram', 'inspect', store, '--json')
        self.assertEqual(json.loads(p.stdout)['fits'], ['70-x86-2m.json'])
        offline = self.ctl('--offline', f'--root={self.root}', 'nvram', 'inspect', store, '--json')
        self.assertEqual(json.loads(offline.stdout), json.loads(p.stdout))
        p = self.ctl('list', '--wide')
        self.assertIn(sha256(STORE_4M), p.stdout)
        self.assertIn('edk2-authenticated/0x84000', p.stdout)
        p = self.ctl('resolve', '--arch=x86_64', f'--nvram={self.root}', check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn('not a regular file', p.stderr)


class TestReplacement(NvramTestCase):
    def setUp(self):
        super().setUp()
        self.record_signals()

    def firmware_sha(self, name):
        return str(self.prop('ExecutableSha256', firmware_path(name), FIRMWARE_IFACE))

    def test_renamed_over(self):
        new = b'code 4m, version 2'
        self.put_image('CODE_4M.fd.dpkg-new', new)
        start = time.monotonic()
        os.rename(self.image('CODE_4M.fd.dpkg-new'), self.image('CODE_4M.fd'))
        self.assertEqual(self.wait_for_change(1), [[], [], ['40-x86-4m.json', '50-x86-4m-plain.json']])
        latency = time.monotonic() - start
        # the window counts from the first event (the .dpkg-new file), so this is at most the window plus the
        # rebuild and the trip over the bus
        print(f'\nrename-over announced {latency * 1000:.1f} ms after the rename (debounce window 50 ms)')
        self.assertEqual(self.resolve(architecture='x86_64')[1]['executable-sha256'], sha256(new))
        self.assertEqual(self.firmware_sha('50-x86-4m-plain.json'), sha256(new))
        changed = [a for m, p, a in self.signals
                   if m == 'PropertiesChanged' and p == firmware_path('40-x86-4m.json')]
        self.assertTrue(changed)
        self.assertEqual(str(changed[0][1]['ExecutableSha256']), sha256(new))

    def test_rewritten_in_place(self):
        with open(self.image('VARS.fd'), 'r+b') as f:
            f.seek(0x100)
            f.write(b'variable')
        self.assertEqual(self.wait_for_change(1), [[], [], ['70-x86-2m.json']])
        with open(self.image('VARS.fd'), 'rb') as f:
            data = f.read()
        self.assertEqual(self.resolve(architecture='x86_64', exclude=['40-x86-4m.json', '50-x86-4m-plain.json'])[1]
                         ['nvram-template-sha256'], sha256(data))

    def test_touch_is_no_change(self):
        os.utime(self.image('CODE_4M.fd'), (1000000, 1000000))
        # the barrier: a real change after the touch; the signal for it must name only its own descriptor
        self.put_image('AA_CODE.fd', b'aa code, version 2')
        self.assertEqual(self.wait_for_change(1), [[], [], ['60-aarch64.json']])
        self.assertEqual(self.prop('Generation'), 1)

    def test_deleted_and_recreated(self):
        os.unlink(self.image('AA_VARS.fd'))
        self.assertEqual(self.wait_for_change(1), [[], [], ['60-aarch64.json']])
        path = firmware_path('60-aarch64.json')
        self.assertEqual(self.prop('State', path, FIRMWARE_IFACE), 'files-missing')
        self.assertEqual(self.prop('NvramTemplateSha256', path, FIRMWARE_IFACE), '')
        self.put_image('AA_VARS.fd', STORE_4M)
        self.assertEqual(self.wait_for_change(2), [[], [], ['60-aarch64.json']])
        self.assertEqual(self.prop('State', path, FIRMWARE_IFACE), 'ok')
        self.assertEqual(self.prop('VarstoreFormat', path, FIRMWARE_IFACE), 'edk2-authenticated')


DEBIAN_DESCRIPTORS = '/usr/share/qemu/firmware'
class TestDebian(DaemonTestCase):
    """Debian's real descriptors and images, plus the administrator's descriptor for the 2 MiB build."""

    tree = {}

    def start_daemon(self, *extra):
        self.etc = os.path.join(self.root, 'etc-qemu-firmware')
        os.makedirs(self.etc, exist_ok=True)
        with open(os.path.join(self.etc, '70-edk2-x86_64-2m.json'), 'w') as f:
            json.dump(OVMF_2M, f, indent=2)
        self.daemon_args = [f'--search-path={DEBIAN_DESCRIPTORS}:{self.etc}']
        # no --root: the real files
        start = time.monotonic()
        self.log_path = os.path.join(self.root, 'daemon.log')
        self.log = open(self.log_path, 'a')
        self.daemon = subprocess.Popen([*WRAPPER, DAEMON, '--system', *self.daemon_args], stdout=self.log,
                                       stderr=subprocess.STDOUT, env=dict(os.environ, FWREGISTRYD_LOG_LEVEL='debug'))
        wait_until(lambda: self.daemon.poll() is not None or self.bus.name_has_owner(BUS_NAME), what='fwregistryd')
        self.serving_after = time.monotonic() - start
        self.manager = dbus.Interface(self.bus.get_object(BUS_NAME, MANAGER_PATH), MANAGER_IFACE)

    def copy(self, src):
        dst = os.path.join(self.root, os.path.basename(src))
        shutil.copyfile(src, dst)
        fd = os.open(dst, os.O_RDONLY | os.O_CLOEXEC)
        self.addCleanup(os.close, fd)
        return dbus.types.UnixFd(fd)

    def test_facts_equal_sha256sum(self):
        print(f'\nserving after {self.serving_after * 1000:.0f} ms')
        _, items = self.list()
        self.assertGreaterEqual(len(items), 7)
        for _, d in items:
            for key, path in (('executable', str(d['executable'])), ('nvram-template', str(d['nvram-template']))):
                if not os.path.exists(path):
                    self.assertEqual(d[f'{key}-sha256'], '')
                    self.assertEqual(d['state'], 'files-missing')
                    continue
                out = subprocess.run(['sha256sum', path], capture_output=True, text=True, check=True).stdout
                self.assertEqual(d[f'{key}-sha256'], out.split()[0])
                self.assertEqual(d[f'{key}-size'], os.path.getsize(path))
            print(f"{d['name']}: {d['state']}, {d['executable-size']} {d['executable-sha256'][:16]}..., "
                  f"template {d['varstore-format'] or 'unknown'} {int(d['varstore-size']):#x} "
                  f"{d['nvram-template-size']} {d['nvram-template-sha256'][:16]}...")
        layouts = {str(d['nvram-template']): (str(d['varstore-format']), int(d['varstore-size'])) for _, d in items}
        self.assertEqual(layouts['/usr/share/OVMF/OVMF_VARS.fd'], ('edk2-authenticated', 0x20000))
        self.assertEqual(layouts['/usr/share/OVMF/OVMF_VARS_4M.fd'], ('edk2-authenticated', 0x84000))
        self.assertEqual(layouts['/usr/share/AAVMF/AAVMF_VARS.fd'], ('blank', 0))

    def test_2m_store(self):
        store = self.copy('/usr/share/OVMF/OVMF_VARS.ms.fd')
        _, result = self.resolve(architecture='x86_64', machine='q35', nvram=store)
        self.assertEqual(result['name'], '70-edk2-x86_64-2m.json')
        self.assertEqual(result['executable'], '/usr/share/OVMF/OVMF_CODE.fd')
        _, verdicts = self.explain(architecture='x86_64', machine='q35', nvram=store)
        for name in ('40-edk2-x86_64-secure-enrolled.json', '50-edk2-x86_64-secure.json', '60-edk2-x86_64.json'):
            reasons = [r for r in verdicts[(name, 'rejected')] if not r.startswith('machine-alias:')]
            self.assertEqual(reasons, ['nvram-layout'])     # the alias note aside, the layout alone

    def test_4m_store(self):
        store = self.copy('/usr/share/OVMF/OVMF_VARS_4M.ms.fd')
        _, result = self.resolve(architecture='x86_64', machine='q35', nvram=store)
        self.assertEqual(result['name'], '40-edk2-x86_64-secure-enrolled.json')

    def test_blank_64m_store(self):
        path = os.path.join(self.root, 'aavmf-vars.fd')
        with open(path, 'wb') as f:
            f.truncate(64 << 20)
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        self.addCleanup(os.close, fd)
        _, result = self.resolve(architecture='aarch64', machine='virt', nvram=dbus.types.UnixFd(fd))
        self.assertEqual(result['name'], '40-edk2-aarch64-secure-enrolled.json')
        _, items = self.list(nvram=dbus.types.UnixFd(fd))
        # a blank store is no edk2 volume, so its size alone decides (DESIGN section 9): every installed
        # descriptor whose template has 64 MiB, whatever else the host has installed (qemu-efi-arm's
        # 60-edk2-arm.json is one), and at least qemu-efi-aarch64's three
        fitting = installed_with_template(lambda t: os.path.getsize(t) == 64 << 20)
        self.assertTrue({'40-edk2-aarch64-secure-enrolled.json', '50-edk2-aarch64-secure.json',
                         '60-edk2-aarch64.json'} <= set(fitting), fitting)
        self.assertEqual([str(d['name']) for _, d in items], fitting)


def installed_with_template(predicate):
    """The descriptors installed on this host (rank order: by name) whose raw nvram template the predicate
    takes, read from the files themselves rather than from the daemon under test."""
    names = []
    for name in sorted(os.listdir(DEBIAN_DESCRIPTORS)):
        path = os.path.join(DEBIAN_DESCRIPTORS, name)
        if name.startswith('.') or not name.endswith('.json') or not os.path.isfile(path):
            continue
        with open(path) as f:
            template = json.load(f).get('mapping', {}).get('nvram-template', {})
        if template.get('format') == 'raw' and os.path.isfile(template['filename']) and \
                predicate(template['filename']):
            names.append(name)
    return names


if __name__ == '__main__':
    unittest.main(verbosity=2)
