#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The launcher of docs/launching.md, run as written against the daemon serving this machine's descriptors:
nvram create makes the varstore, resolve --output=qemu gives the arguments, and QEMU under TCG must reach the
firmware's boot manager (x86_64 q35 with Secure Boot, aarch64 virt). Also: --output=libvirt parses as XML."""

import json
import os
import re
import shutil
import stat
import subprocess
import tempfile
import time
import unittest
import xml.etree.ElementTree as ET

import dbus
import dbusmock

from fwtest import BUS_CONFIG, BUS_NAME, CTL, DAEMON, SOURCE_DIR, stop_class_daemon, wait_until

MARKER = b'BdsDxe: '            # UEFI's boot device selection, on the serial console once the firmware is up
BOOT_SECONDS = 240
CASES = {'x86_64': ('q35', ['--secure-boot']), 'aarch64': ('virt', [])}


def launcher_script():
    with open(os.path.join(SOURCE_DIR, 'docs', 'launching.md')) as f:
        text = f.read()
    return next(b for b in re.findall(r'```sh\n(.*?)```', text, re.S) if b.startswith('#!/bin/sh\n# launch-vm'))


class TestLaunch(dbusmock.DBusTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        missing = [q for q in ('qemu-system-x86_64', 'qemu-system-aarch64') if not shutil.which(q)]
        if missing:
            raise unittest.SkipTest(f'{", ".join(missing)} not installed (qemu-system-x86 qemu-system-arm)')
        cls.tmp = tempfile.mkdtemp(prefix='fwregistryd-launch-')
        conf = os.path.join(cls.tmp, 'bus.conf')
        with open(conf, 'w') as f:
            f.write(BUS_CONFIG)
        cls.bus_pid, cls.address = cls.start_dbus(conf=conf)
        cls.addClassCleanup(cls.stop_dbus, cls.bus_pid)
        cls.env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=cls.address,
                       PATH=os.path.dirname(CTL) + ':' + os.environ['PATH'])
        cls.log = open(os.path.join(cls.tmp, 'daemon.log'), 'w')
        cls.daemon = subprocess.Popen([DAEMON, '--system'], stdout=cls.log, stderr=subprocess.STDOUT, env=cls.env)
        bus = dbus.bus.BusConnection(cls.address)
        wait_until(lambda: cls.daemon.poll() is not None or bus.name_has_owner(BUS_NAME), what='fwregistryd')
        cls.launcher = os.path.join(cls.tmp, 'launch-vm')
        with open(cls.launcher, 'w') as f:
            f.write(launcher_script())
        os.chmod(cls.launcher, 0o755)

    @classmethod
    def tearDownClass(cls):
        stop_class_daemon(cls)
        super().tearDownClass()

    def ctl(self, *args):
        p = subprocess.run([CTL, *args], capture_output=True, text=True, env=self.env, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout

    def request(self, arch):
        machine, extra = CASES[arch]
        return ['--arch', arch, '--machine', machine, *extra]

    def boot(self, arch):
        resolved = json.loads(self.ctl('resolve', *self.request(arch), '--json'))
        if not resolved['files-ok']:
            self.skipTest(f'{resolved["name"]}: its images are missing here')
        workdir = tempfile.mkdtemp(dir=self.tmp)
        serial = os.path.join(workdir, 'serial.log')
        env = dict(self.env, VM_DIR=workdir)
        start = time.monotonic()
        qemu = subprocess.Popen([self.launcher, 'vm1', arch, '-accel', 'tcg', '-m', '512', '-nodefaults',
                                 '-display', 'none', '-no-reboot', '-serial', f'file:{serial}'],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
        try:
            while time.monotonic() - start < BOOT_SECONDS and qemu.poll() is None:
                if os.path.exists(serial):
                    with open(serial, 'rb') as f:
                        if MARKER in f.read():
                            break
                time.sleep(0.2)
            else:
                output = qemu.stdout.read().decode(errors='replace') if qemu.poll() is not None else ''
                self.fail(f'{arch}: no sign of UEFI within {BOOT_SECONDS} s\n{output}')
            seconds = time.monotonic() - start
            # the command line the launcher ran, from /proc: exactly what resolve --output=qemu printed
            with open(f'/proc/{qemu.pid}/cmdline', 'rb') as f:
                cmdline = [a.decode() for a in f.read().split(b'\0')[:-1]]
        finally:
            if qemu.poll() is None:
                qemu.kill()
            qemu.wait()
            qemu.stdout.close()
        vars_ = os.path.join(workdir, 'vm1.vars')
        printed = self.ctl('resolve', *self.request(arch), '--output=qemu', '--nvram', vars_)
        print(f'\n{arch}: {resolved["name"]} reached the boot manager after {seconds:.1f} s\n  '
              + ' '.join(cmdline))
        return resolved, printed, cmdline, vars_

    def check_varstore(self, resolved, vars_):
        st = os.stat(vars_)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
        self.assertEqual(st.st_size, os.stat(resolved['nvram-template']).st_size)

    def test_x86_64_q35_secure_boot(self):
        resolved, printed, cmdline, vars_ = self.boot('x86_64')
        self.assertIn('secure-boot', resolved['features'])
        self.assertTrue(resolved['requires-smm'])
        self.check_varstore(resolved, vars_)
        self.assertIn('-machine q35,smm=on -global driver=cfi.pflash01,property=secure,value=on', printed)
        # QEMU ran with the printed arguments, after the shell took the quotes off
        self.assertEqual(' '.join(cmdline[1:]).split(' -accel tcg')[0], printed.strip().replace("'", ''))

    def test_aarch64_virt(self):
        resolved, printed, cmdline, vars_ = self.boot('aarch64')
        self.check_varstore(resolved, vars_)
        self.assertIn(f'readonly=on,file={resolved["executable"]}', printed)
        self.assertEqual(' '.join(cmdline[1:]).split(' -accel tcg')[0], '-cpu max ' + printed.strip().replace("'", ''))

    def test_libvirt_output_parses(self):
        for arch in CASES:
            out = self.ctl('resolve', *self.request(arch), '--output=libvirt', '--nvram', '/var/lib/vm/x.fd')
            os_ = ET.fromstring(f'<os>{out}</os>')
            self.assertEqual([e.tag for e in os_], ['loader', 'nvram'])
            resolved = json.loads(self.ctl('resolve', *self.request(arch), '--json'))
            self.assertEqual(os_[0].text, resolved['executable'])
            self.assertEqual(os_[1].get('template'), resolved['nvram-template'])
            self.assertEqual(os_[0].get('secure'), 'yes' if resolved['requires-smm'] else 'no')


if __name__ == '__main__':
    unittest.main(verbosity=2)
