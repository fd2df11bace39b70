#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""fwregistryctl against the real daemon: status, errors phrased in options, the daemon not running, reload
through polkit's text agent, and completion of descriptor names from the live catalogue."""

import fcntl
import json
import os
import pty
import subprocess
import sys
import tempfile
import termios
import unittest

import dbus
import dbusmock

from fwtest import NOBODY, RELOAD_ACTION, USR, AskingPolkitTestCase, DaemonTestCase, as_user, flash

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'client'))
AGENT_REGISTER = 'RegisterAuthenticationAgentWithOptions'


class TestCtl(DaemonTestCase):
    def test_status(self):
        p = self.ctl()
        fields = dict(l.strip().split(': ', 1) for l in p.stdout.splitlines() if ': ' in l)
        self.assertEqual(fields['Scope'], 'system')
        self.assertEqual(fields['Generation'], '0')
        self.assertEqual(fields['Descriptors'], '6 valid, 1 invalid')
        self.assertEqual(fields['Architectures'], 'aarch64 x86_64')
        self.assertEqual(fields['Watching'], '/usr/share/qemu/firmware')
        self.assertIn('                 /etc/qemu/firmware\n', p.stdout)
        out = json.loads(self.ctl('status', '--json=short').stdout)
        self.assertEqual(out['search-path'], ['/usr/share/qemu/firmware', '/etc/qemu/firmware'])
        self.assertEqual(out['unwatched-directories'], [])
        self.assertEqual((out['generation'], out['count'], out['invalid-count']), (0, 6, 1))
        try:
            instance = str(self.prop('InstanceId'))
        except dbus.exceptions.DBusException:
            self.assertNotIn('Instance', fields)       # a daemon from before InstanceId
        else:
            self.assertEqual(fields['Instance'], instance)
            self.assertEqual(out['instance-id'], instance)

    def test_errors_name_options(self):
        p = self.ctl('resolve', '-a', 'x86_64', '--machine', 'x' * 5000, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertRegex(p.stderr, r'^--machine is longer than \d+ bytes\n$')
        p = self.ctl('resolve', '-a', 'x86_64', '--feature', 'x' * 5000, check=False)
        self.assertRegex(p.stderr, r'^--feature has an empty or overlong feature name\n$')

    def test_relative_executable(self):
        # the daemon refuses relative paths; fwregistryctl sends this one absolute, so it is merely not found
        p = subprocess.run(self.ctl_argv('resolve', '-a', 'x86_64', '--executable', 'CODE.fd'), capture_output=True,
                           text=True, env=self.ctl_env(), cwd=tempfile.gettempdir())
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn('path', p.stderr)

    def test_online_equals_offline(self):
        for args in (['list', '--include-shadowed', '--include-masked'], ['--json=short', 'list'],
                     ['--json', 'list', '--include-shadowed']):
            online = self.ctl(*args).stdout
            offline = self.ctl('--offline', '--root', self.root, *args).stdout
            self.assertEqual(online, offline, args)
        self.assertIn('75-shadowed.json       shadowed', self.ctl('list', '--include-shadowed').stdout)

    def test_launcher_outputs_through_the_daemon(self):
        p = self.ctl('resolve', '-a', 'x86_64', '-m', 'q35', '--output=qemu', '--nvram', '/vm/1.fd')
        self.assertEqual(p.stdout, '-machine q35,smm=on -global driver=cfi.pflash01,property=secure,value=on '
                                   '-drive if=pflash,unit=0,format=raw,readonly=on,file=/fw/CODE.secboot.fd '
                                   '-drive if=pflash,unit=1,format=raw,file=/vm/1.fd\n')

    def test_not_running(self):
        self.stop_daemon()
        try:
            p = self.ctl(check=False)
            self.assertEqual(p.returncode, 1)
            self.assertIn('fwregistryd is not running', p.stderr)
            self.assertIn('use --offline', p.stderr)
        finally:
            self.start_daemon()

    def test_completion_names_from_the_daemon(self):
        from test_fwregistryctl import complete
        names = complete('fwregistryctl describe ')
        self.assertEqual(names[:2], ['40-x86-enrolled.json', '50-x86-secure.json'])
        self.assertIn('90-invalid.json', names)
        self.write(f'{USR}/45-new.json', flash('CODE.fd', 'VARS.fd'))
        self.ctl('reload')
        self.assertEqual(complete('fwregistryctl describe 45'), ['45-new.json'])


def run_on_terminal(argv, env):
    """Runs argv with stdin, stdout and stderr on a new pseudo-terminal; returns (status, output)."""
    master, slave = pty.openpty()

    def controlling_terminal():
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    p = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, preexec_fn=controlling_terminal)
    os.close(slave)
    out = b''
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    return p.wait(timeout=60), out.decode(errors='replace')


class TestReloadAgent(DaemonTestCase):
    """reload from a terminal starts polkit's text agent, registered for fwregistryctl, before it calls.

    polkit is dbusmock's: the real pkttyagent registers with it, but the mock never asks the agent to
    authenticate, so what is shown is the agent's start, registration and stop around the call, not a
    password dialogue."""

    def setUp(self):
        if not os.access('/usr/bin/pkttyagent', os.X_OK):
            self.skipTest('pkttyagent is not installed (polkitd or pkexec)')
        super().setUp()
        self.polkitd_obj.SetAllowed([RELOAD_ACTION])
        self.polkitd_obj.ClearCalls(dbus_interface=dbusmock.MOCK_IFACE)
        # polkit 0.121 and later agents register with options (fallback); the template lacks the method
        try:
            self.polkitd_obj.AddMethod('org.freedesktop.PolicyKit1.Authority', AGENT_REGISTER, '(sa{sv})ssa{sv}', '',
                                       '', dbus_interface=dbusmock.MOCK_IFACE)
            self.polkitd_obj.AddMethod('org.freedesktop.PolicyKit1.Authority', 'UnregisterAuthenticationAgent',
                                       '(sa{sv})s', '', '', dbus_interface=dbusmock.MOCK_IFACE)
        except dbus.exceptions.DBusException:
            pass        # added by an earlier test of this class

    def registrations(self):
        calls = self.polkitd_obj.GetMethodCalls(AGENT_REGISTER, dbus_interface=dbusmock.MOCK_IFACE)
        return [args for _, args in calls]

    def reload_as_nobody(self, *args, terminal=True):
        argv = [*as_user(NOBODY), *self.ctl_argv('reload', *args)]
        if terminal:
            return run_on_terminal(argv, self.ctl_env())
        p = subprocess.run(argv, capture_output=True, text=True, env=self.ctl_env(), stdin=subprocess.DEVNULL)
        return p.returncode, p.stdout + p.stderr

    def test_agent_on_a_terminal(self):
        status, out = self.reload_as_nobody()
        self.assertEqual(status, 0, out)
        regs = self.registrations()
        self.assertEqual(len(regs), 1, out)
        subject, locale, path, options = regs[0]
        self.assertEqual(str(subject[0]), 'unix-process')
        self.assertEqual(options, {'fallback': True})
        # registered for fwregistryctl (the agent's parent), not for itself
        self.assertNotEqual(int(subject[1]['pid']), 0)

    def test_no_agent_off_a_terminal_or_when_told(self):
        status, out = self.reload_as_nobody(terminal=False)
        self.assertEqual(status, 0, out)
        status, out = self.reload_as_nobody('--no-ask-password')
        self.assertEqual(status, 0, out)
        self.assertEqual(self.registrations(), [])


class TestNoAskPassword(AskingPolkitTestCase):
    """A polkit that would ask: --no-ask-password makes the daemon refuse at once, and says how to let it ask."""

    def test_refused_without_asking(self):
        p = self.ctl('reload', '--no-ask-password', user=NOBODY, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn('drop --no-ask-password', p.stderr)
        flags = [int(args[3]) for _, args in self.polkitd_obj.GetMethodCalls('CheckAuthorization',
                                                                            dbus_interface=dbusmock.MOCK_IFACE)]
        self.assertEqual(flags, [0])    # not AllowUserInteraction
        p = self.ctl('reload', user=NOBODY, check=False)
        self.assertIn('Not allowed to reload', p.stderr)
        flags = [int(args[3]) for _, args in self.polkitd_obj.GetMethodCalls('CheckAuthorization',
                                                                            dbus_interface=dbusmock.MOCK_IFACE)]
        self.assertEqual(flags, [0, 1])


if __name__ == '__main__':
    unittest.main(verbosity=2)
