#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Machine aliases from the installed QEMU: stand-in QEMU binaries that answer like RHEL's, hang, crash or
print garbage; the built-in table when there is none; upgrades picked up; online and offline alike."""

import json
import os
import shutil
import tempfile
import unittest

from fwtest import USR, DaemonTestCase, flash, wait_until

RHEL_MACHINES = '''Supported machines are:
pc                   RHEL 7.6.0 PC (i440FX + PIIX, 1996) (alias of pc-i440fx-rhel7.6.0)
pc-i440fx-rhel7.6.0  RHEL 7.6.0 PC (i440FX + PIIX, 1996) (default)
q35                  RHEL-9.6.0 PC (Q35 + ICH9, 2009) (alias of pc-q35-rhel9.6.0)
pc-q35-rhel9.6.0     RHEL-9.6.0 PC (Q35 + ICH9, 2009)
pc-q35-rhel9.4.0     RHEL-9.4.0 PC (Q35 + ICH9, 2009)
none                 empty machine
'''

RHEL_TREE = {
    f'{USR}/50-rhel-q35.json': flash('CODE.fd', 'VARS.fd', machines=('pc-q35-rhel9.*',)),
    f'{USR}/60-upstream-q35.json': flash('CODE.fd', 'VARS.fd', machines=('pc-q35-*',)),
    f'{USR}/70-aarch64.json': flash('AA_CODE.fd', 'AA_VARS.fd', arch='aarch64', machines=('virt-*',)),
}


def stub(version='9.1.0 (qemu-kvm-9.1.0-15.el9)', machines=RHEL_MACHINES, help_body=None):
    """A shell script standing in for qemu-system-*: -version and -machine help, nothing else."""
    if help_body is None:
        help_body = "cat <<'EOF'\n" + machines + "EOF"
    return f'''#!/bin/sh
case "$1" in
-version) echo "QEMU emulator version {version}"; echo "Copyright (c) 2003-2024"; exit 0 ;;
-machine)
{help_body}
;;
*) exit 1 ;;
esac
'''


class MachinesTestCase(DaemonTestCase):
    tree = RHEL_TREE
    x86_stub = stub()

    def setUp(self):
        self.qemu_dir = tempfile.mkdtemp(prefix='qemu-', dir=self.tmp)
        if self.x86_stub is not None:
            self.install('qemu-system-x86_64', self.x86_stub)
        self.daemon_args = ['--qemu-dirs', self.qemu_dir, '--qemu-timeout', '2000']
        super().setUp()

    def install(self, name, script):
        """Replaces a binary the way a package manager does: a new file renamed over the old one."""
        tmp = os.path.join(self.qemu_dir, '.' + name + '.new')
        with open(tmp, 'w') as f:
            f.write(script)
        os.chmod(tmp, 0o755)
        os.rename(tmp, os.path.join(self.qemu_dir, name))

    def aliases(self):
        return sorted(tuple(str(x) for x in a) for a in self.prop('MachineAliases'))

    def daemon_log(self):
        with open(self.log_path, errors='replace') as f:
            return f.read()


class TestInstalledQemu(MachinesTestCase):
    def test_rhel_names_match_through_the_alias(self):
        path, result = self.resolve(architecture='x86_64', machine='q35')
        self.assertEqual(str(result['name']), '50-rhel-q35.json')
        selected, verdicts = self.explain(architecture='x86_64', machine='q35')
        self.assertEqual(verdicts[('50-rhel-q35.json', 'selected')], ['machine-alias:q35=pc-q35-rhel9.6.0'])
        # the upstream glob does not cover RHEL's type: the alias is what was judged
        self.assertEqual(verdicts[('60-upstream-q35.json', 'eligible')], ['machine-alias:q35=pc-q35-rhel9.6.0'])
        # a note never rejects, and is never given where no machine was judged
        self.assertEqual(verdicts[('70-aarch64.json', 'rejected')], ['architecture'])

    def test_property_names_the_source(self):
        binary = os.path.join(self.qemu_dir, 'qemu-system-x86_64')
        source = f'QEMU 9.1.0 ({binary})'
        aliases = self.aliases()
        self.assertIn(('x86_64', 'q35', 'pc-q35-rhel9.6.0', source), aliases)
        self.assertIn(('x86_64', 'pc', 'pc-i440fx-rhel7.6.0', source), aliases)
        # no QEMU for aarch64 here: the built-in table
        self.assertIn(('aarch64', 'virt', 'virt-11.0', 'built-in'), aliases)
        self.assertIn(f"Machine aliases for x86_64 from QEMU 9.1.0 ('{binary}'): pc=pc-i440fx-rhel7.6.0, "
                      "q35=pc-q35-rhel9.6.0.", self.daemon_log())

    def test_no_match_names_the_expansion(self):
        message = self.assert_dbus_error('io.github.fwregistryd.FirmwareRegistry1.Error.NoMatch', self.resolve,
                                         architecture='x86_64', machine='q35', features={'intel-tdx': True})
        self.assertTrue(message.endswith("; machine 'q35' is an alias of 'pc-q35-rhel9.6.0'"), message)
        self.assertNotIn('machine-alias', message)

    def test_offline_answers_the_same(self):
        request = ['-a', 'x86_64', '-m', 'q35']
        online = self.ctl('--json', 'explain', *request).stdout
        offline = self.ctl('--json', '--offline', '--root', self.root, '--qemu-dirs', self.qemu_dir, 'explain',
                           *request).stdout
        self.assertEqual(online, offline)
        self.assertIn('machine-alias:q35=pc-q35-rhel9.6.0', online)

    def test_upgrade_is_picked_up(self):
        self.record_signals()
        self.install('qemu-system-x86_64', stub(version='9.2.0', machines=RHEL_MACHINES.replace(
            'alias of pc-q35-rhel9.6.0', 'alias of pc-q35-rhel9.8.0')))

        def changed():
            return any(m == 'PropertiesChanged' and 'MachineAliases' in [str(x) for x in a[2]] + list(a[1])
                       for m, _, a in self.signals)
        wait_until(changed, what='MachineAliases to change')
        self.assertIn(('x86_64', 'q35', 'pc-q35-rhel9.8.0',
                       f'QEMU 9.2.0 ({self.qemu_dir}/qemu-system-x86_64)'), self.aliases())
        _, verdicts = self.explain(architecture='x86_64', machine='q35')
        self.assertEqual(verdicts[('50-rhel-q35.json', 'selected')], ['machine-alias:q35=pc-q35-rhel9.8.0'])

    def test_removal_falls_back(self):
        self.record_signals()
        os.unlink(os.path.join(self.qemu_dir, 'qemu-system-x86_64'))
        wait_until(lambda: ('x86_64', 'q35', 'pc-q35-11.0', 'built-in') in self.aliases(),
                   what='the built-in aliases')
        path, result = self.resolve(architecture='x86_64', machine='q35')
        self.assertEqual(str(result['name']), '60-upstream-q35.json')


class TestNoQemu(MachinesTestCase):
    x86_stub = None

    def test_fallback(self):
        self.assertIn(('x86_64', 'q35', 'pc-q35-11.0', 'built-in'), self.aliases())
        self.assertIn(('x86_64', 'pc', 'pc-i440fx-11.0', 'built-in'), self.aliases())
        self.assertIn(('arm', 'virt', 'virt-11.0', 'built-in'), self.aliases())
        _, verdicts = self.explain(architecture='x86_64', machine='q35')
        self.assertEqual(verdicts[('60-upstream-q35.json', 'selected')], ['machine-alias:q35=pc-q35-11.0'])
        self.assertEqual(verdicts[('50-rhel-q35.json', 'rejected')], ['machine', 'machine-alias:q35=pc-q35-11.0'])


class BadQemu(MachinesTestCase):
    """A binary that misbehaves: the daemon serves with the built-in table and says why, once."""
    problem = None

    def test_serves_with_the_fallback(self):
        if self.problem is None:
            self.skipTest('each kind of bad QEMU is a subclass')
        self.assertIn(('x86_64', 'q35', 'pc-q35-11.0', 'built-in'), self.aliases())
        path, result = self.resolve(architecture='x86_64', machine='q35')
        self.assertEqual(str(result['name']), '60-upstream-q35.json')
        log = self.daemon_log()
        binary = os.path.join(self.qemu_dir, 'qemu-system-x86_64')
        line = f"Not using the machine types of '{binary}': {self.problem}; using the built-in machine aliases " \
               "for x86_64."
        self.assertIn(line, log)
        # asked again (SIGHUP looks at the binaries; Reload too): the same problem is not logged again
        self.manager.Reload()
        self.assertEqual(self.daemon_log().count(line), 1)


class TestHangingQemu(BadQemu):
    x86_stub = stub(help_body='exec sleep 1000')
    problem = "'-machine help' did not finish in time"


class TestForkingHangingQemu(BadQemu):
    # a child that keeps the pipe open after the stub itself is gone: the whole process group goes
    x86_stub = stub(help_body='sleep 1000 & exit 0')
    problem = "'-machine help' did not finish in time"


class TestCrashingQemu(BadQemu):
    x86_stub = stub(help_body='echo "Supported machines are:"; kill -SEGV $$')
    problem = "'-machine help' was killed by signal Segmentation fault"


class TestFailingQemu(BadQemu):
    x86_stub = stub(help_body='exit 3')
    problem = "'-machine help' exited with status 3"


class TestVerboseQemu(BadQemu):
    x86_stub = stub(help_body='echo "Supported machines are:"; yes "q35 x (alias of pc-q35-1.0)" | head -c 3000000')
    problem = "'-machine help' printed more than 1048576 bytes"


class TestGarbageQemu(BadQemu):
    x86_stub = stub(help_body="printf 'Supported machines are:\\n\\001\\377\\376 (alias of \\033[0m)\\n'")
    problem = "'-machine help' printed no machine list"


@unittest.skipUnless(shutil.which('qemu-system-x86_64') and shutil.which('qemu-system-aarch64'),
                     'needs QEMU for x86_64 and aarch64 installed')
class TestDistributionQemu(DaemonTestCase):
    """The QEMU of this system (Debian 12: 7.2) defines q35, pc and virt."""
    daemon_args = ['--qemu-dirs', os.path.dirname(shutil.which('qemu-system-x86_64'))]
    tree = {
        f'{USR}/50-q35.json': flash('CODE.fd', 'VARS.fd', machines=('pc-q35-*',)),
        f'{USR}/60-pc.json': flash('CODE.fd', 'VARS.fd', machines=('pc-i440fx-*',)),
        f'{USR}/70-virt.json': flash('AA_CODE.fd', 'AA_VARS.fd', arch='aarch64', machines=('virt-*',)),
    }

    def test_aliases_expand(self):
        aliases = {(str(a), str(b)): str(c) for a, b, c, _ in self.prop('MachineAliases')}
        for arch, alias, name in (('x86_64', 'q35', '50-q35.json'), ('x86_64', 'pc', '60-pc.json'),
                                  ('aarch64', 'virt', '70-virt.json')):
            expanded = aliases[(arch, alias)]
            self.assertNotEqual(expanded, alias)
            _, verdicts = self.explain(architecture=arch, machine=alias)
            self.assertEqual(verdicts[(name, 'selected')], [f'machine-alias:{alias}={expanded}'])
        sources = {str(s) for _, _, _, s in self.prop('MachineAliases')}
        self.assertTrue(all(s.startswith('QEMU ') for s in sources), sources)


class TestContradiction(DaemonTestCase):
    def test_refused(self):
        for call in (self.resolve, self.explain, self.list):
            message = self.assert_dbus_error('org.freedesktop.DBus.Error.InvalidArgs', call, architecture='x86_64',
                                             features={'enrolled-keys': True, 'secure-boot': False})
            self.assertIn("'enrolled-keys'", message)
            self.assertIn("'secure-boot'", message)
        p = self.ctl('--offline', '--root', self.root, 'resolve', '-a', 'x86_64', '--enrolled-keys',
                     '--no-secure-boot', check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("feature 'enrolled-keys' is required but 'secure-boot' is forbidden", p.stderr)
        p = self.ctl('resolve', '-a', 'x86_64', '--enrolled-keys', '--no-secure-boot', check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("feature 'enrolled-keys' is required but 'secure-boot' is forbidden", p.stderr)


class TestInstanceId(DaemonTestCase):
    def test_new_each_start(self):
        first = str(self.prop('InstanceId'))
        self.assertRegex(first, '^[0-9a-f]{32}$')
        self.assertEqual(str(self.prop('InstanceId')), first)
        self.stop_daemon()
        self.start_daemon()
        self.assertRegex(str(self.prop('InstanceId')), '^[0-9a-f]{32}$')
        self.assertNotEqual(str(self.prop('InstanceId')), first)
        self.assertEqual(self.prop('Generation'), 0)


class TestNoMatchArchitecture(DaemonTestCase):
    def test_other_architectures_only_counted(self):
        message = self.assert_dbus_error('io.github.fwregistryd.FirmwareRegistry1.Error.NoMatch', self.resolve,
                                         architecture='riscv64')
        self.assertIn('0 rejected', message)
        self.assertIn('for other architectures; no descriptor is for riscv64', message)
        self.assertNotIn('closest', message)
        message = self.assert_dbus_error('io.github.fwregistryd.FirmwareRegistry1.Error.NoMatch', self.resolve,
                                         architecture='aarch64', features={'secure-boot': True})
        self.assertIn('closest: 60-aarch64.json', message)
        self.assertNotIn('architecture', message.split(':', 1)[1].replace('other architectures', ''))


if __name__ == '__main__':
    unittest.main(verbosity=2)
