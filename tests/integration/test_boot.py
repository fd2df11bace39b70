#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""End to end: for every descriptor installed on this machine, ask the daemon for it, build the QEMU command line
from the answer alone, boot it under TCG with no disk and see the firmware run (UEFI's boot manager speaks on the
serial console)."""

import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest

import dbus
import dbusmock

from fwtest import (BUS_CONFIG, BUS_NAME, DAEMON, MANAGER_IFACE, MANAGER_PATH, OVMF_2M, stop_class_daemon,
                    wait_until)

QEMU = {'x86_64': 'qemu-system-x86_64', 'aarch64': 'qemu-system-aarch64'}
# UEFI's boot device selection phase logs this on the console once the firmware is up
MARKER = b'BdsDxe: '
BOOT_SECONDS = 180


def machine_for(arch, globs):
    """A machine type (an alias the daemon expands) that one of the globs covers, preferring q35."""
    if arch == 'x86_64':
        return 'q35' if any(g.startswith('pc-q35') for g in globs) else 'pc'
    return 'virt'


def qemu_command(arch, result, workdir, varstore=None):
    """The command line, from the Resolve result only (and the VM's own varstore, when it has one)."""
    cmd = [QEMU[arch], '-accel', 'tcg', '-m', '512', '-nodefaults', '-display', 'none', '-no-reboot',
           '-serial', f'file:{workdir}/serial.log']
    smm = bool(result['requires-smm'])
    if arch == 'x86_64':
        cmd += ['-machine', f'q35,smm={"on" if smm else "off"}']
        if smm:
            cmd += ['-global', 'driver=cfi.pflash01,property=secure,value=on']
    else:
        cmd += ['-machine', 'virt', '-cpu', 'max']
    if result['device'] == 'memory':
        return cmd + ['-bios', str(result['executable'])]
    mode = str(result['mode'])
    code = str(result['executable'])
    if mode == 'combined':             # one image, copied per VM and writable
        code = shutil.copy(code, os.path.join(workdir, 'combined.img'))
    cmd += ['-drive', f'if=pflash,unit=0,format={result["executable-format"]},file={code}'
                      f'{",readonly=on" if mode != "combined" else ""}']
    if mode == 'split':                # a per-VM copy of the template is the variable store
        vars_ = varstore or shutil.copy(str(result['nvram-template']), os.path.join(workdir, 'vars.img'))
        cmd += ['-drive', f'if=pflash,unit=1,format={result["nvram-template-format"]},file={vars_}']
    return cmd


class TestBoot(dbusmock.DBusTestCase):
    # the machine's real descriptors: no --root
    daemon_args = []

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        missing = [q for q in QEMU.values() if not shutil.which(q)]
        if missing:
            raise unittest.SkipTest(f'{", ".join(missing)} not installed (apt-get install qemu-system-x86 '
                                    'qemu-system-arm): the boot test needs them')
        cls.tmp = tempfile.mkdtemp(prefix='fwregistryd-boot-')
        conf = os.path.join(cls.tmp, 'bus.conf')
        with open(conf, 'w') as f:
            f.write(BUS_CONFIG)
        cls.bus_pid, cls.address = cls.start_dbus(conf=conf)
        cls.addClassCleanup(cls.stop_dbus, cls.bus_pid)
        cls.log = open(os.path.join(cls.tmp, 'daemon.log'), 'w')
        cls.prepare()
        cls.daemon = subprocess.Popen([DAEMON, '--system', *cls.daemon_args], stdout=cls.log, stderr=subprocess.STDOUT,
                                      env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=cls.address))
        cls.bus = dbus.bus.BusConnection(cls.address)
        wait_until(lambda: cls.daemon.poll() is not None or cls.bus.name_has_owner(BUS_NAME),
                   what='fwregistryd')
        cls.manager = dbus.Interface(cls.bus.get_object(BUS_NAME, MANAGER_PATH), MANAGER_IFACE)

    @classmethod
    def prepare(cls):
        pass

    @classmethod
    def tearDownClass(cls):
        stop_class_daemon(cls)
        super().tearDownClass()

    def boot(self, arch, result, varstore=None):
        workdir = tempfile.mkdtemp(dir=self.tmp)
        cmd = qemu_command(arch, result, workdir, varstore)
        serial = os.path.join(workdir, 'serial.log')
        start = time.monotonic()
        qemu = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            while time.monotonic() - start < BOOT_SECONDS and qemu.poll() is None:
                if os.path.exists(serial) and MARKER in open(serial, 'rb').read():
                    return time.monotonic() - start
                time.sleep(0.2)
            output = qemu.stdout.read() if qemu.poll() is not None else b''
            raise AssertionError(f'{result["name"]}: no sign of UEFI within {BOOT_SECONDS} s\n{" ".join(cmd)}\n'
                                 f'{output.decode(errors="replace")}')
        finally:
            if qemu.poll() is None:
                qemu.kill()
            qemu.wait()

    def test_every_descriptor_boots(self):
        _, items = self.manager.List(dbus.Dictionary({}, signature='sv'))
        names = [str(d['name']) for _, d in items]
        booted, skipped = [], []
        for _, d in items:
            name = str(d['name'])
            arch = str(d['targets'][0][0])
            if arch not in QEMU or 'uefi' not in d['interface-types']:
                skipped.append(f'{name}: no {arch} QEMU in this test')
                continue
            request = dbus.Dictionary({
                'architecture': arch,
                'machine': machine_for(arch, [str(g) for g in d['targets'][0][1]]),
                'exclude': dbus.Array([n for n in names if n != name], signature='s'),
            }, signature='sv')
            if not d['files-ok']:
                # a descriptor whose image is missing is never selected: say which
                with self.assertRaises(dbus.exceptions.DBusException) as cm:
                    self.manager.Resolve(request)
                self.assertIn('executable-missing', cm.exception.get_dbus_message())
                skipped.append(f'{name}: not bootable here, {cm.exception.get_dbus_message()}')
                continue
            path, result = self.manager.Resolve(request)
            self.assertEqual(result['name'], name)
            seconds = self.boot(arch, result)
            booted.append(f'{name}: UEFI up after {seconds:.1f} s')
        print('\n' + '\n'.join(['booted:'] + booted + ['not booted:'] + skipped))
        self.assertTrue(booted, 'no descriptor to boot on this machine')


class TestBootOwnVarstore(TestBoot):
    """A VM that has kept its varstore since the 2 MiB days: Resolve with it as nvram picks the build it fits,
    and the VM boots with that code and its own varstore."""

    @classmethod
    def prepare(cls):
        if not os.path.exists('/usr/share/OVMF/OVMF_VARS.ms.fd'):
            raise unittest.SkipTest('ovmf is not installed')
        etc = os.path.join(cls.tmp, 'etc-qemu-firmware')
        os.makedirs(etc)
        with open(os.path.join(etc, '70-edk2-x86_64-2m.json'), 'w') as f:
            json.dump(OVMF_2M, f)
        cls.daemon_args = [f'--search-path=/usr/share/qemu/firmware:{etc}']

    def test_every_descriptor_boots(self):
        pass    # the parent class does that with the machine's own descriptors

    def test_old_varstore_boots(self):
        varstore = shutil.copy('/usr/share/OVMF/OVMF_VARS.ms.fd', os.path.join(self.tmp, 'vm-vars.fd'))
        fd = os.open(varstore, os.O_RDONLY | os.O_CLOEXEC)
        try:
            request = dbus.Dictionary({'architecture': 'x86_64', 'machine': 'q35', 'nvram': dbus.types.UnixFd(fd)},
                                      signature='sv')
            _, result = self.manager.Resolve(request)
        finally:
            os.close(fd)
        self.assertEqual(result['name'], '70-edk2-x86_64-2m.json')
        seconds = self.boot('x86_64', result, varstore)
        print(f'\n{result["name"]} with its own 2 MiB-era varstore: UEFI up after {seconds:.1f} s')


if __name__ == '__main__':
    unittest.main(verbosity=2)
