#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Reload: root is allowed, everyone else is asked about through polkit, asynchronously. The watcher is kept
out of the picture (a debounce window longer than any test): a change is seen only if Reload rescans."""

import os
import pwd
import select
import signal
import subprocess
import sys
import time
import unittest

import dbus

from fwtest import (BUS_NAME, MANAGER_IFACE, MANAGER_PATH, NOBODY, RELOAD_ACTION, SLOW, USR, AskingPolkitTestCase,
                    DaemonTestCase, as_user, flash, wait_until)

OTHER_USER = pwd.getpwnam('daemon').pw_uid


# Runs as another user: sends N Reload calls at once on one connection and prints each outcome as it comes.
CALLER = '''
import sys, dbus, dbus.mainloop.glib
from gi.repository import GLib
dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
obj = dbus.bus.BusConnection(sys.argv[1]).get_object(sys.argv[2], sys.argv[3])
def done(e=None):
    print(e.get_dbus_name() if e else 'ok', flush=True)
for _ in range(int(sys.argv[5])):
    obj.Reload(dbus_interface=sys.argv[4], reply_handler=done, error_handler=done, timeout=600)
print('sent', flush=True)
GLib.MainLoop().run()
'''


class TestReloadPolkit(DaemonTestCase):
    daemon_args = ['--debounce=60000']

    def setUp(self):
        super().setUp()
        self.polkitd_obj.SetAllowed(dbus.Array([], signature='s'))
        self.polkitd_obj.SimulateHang(False)
        self.polkitd_obj.ReleaseHangingCalls()
        self.write(f'{USR}/10-new.json', flash('CODE.fd', 'VARS.fd'))

    def listed(self):
        return '10-new.json' in [d['name'] for _, d in self.list()[1]]

    def test_root_needs_no_polkit(self):
        self.ctl('reload')              # polkit allows nothing, and is not asked
        self.assertFalse(self.polkitd_obj.HaveHangingCalls())
        self.assertTrue(self.listed())

    def test_unprivileged_allowed(self):
        self.polkitd_obj.SetAllowed([RELOAD_ACTION])
        p = self.ctl('reload', user=NOBODY)
        self.assertEqual(p.stderr, '')
        self.assertTrue(self.listed())

    def test_unprivileged_denied(self):
        p = self.ctl('reload', user=NOBODY, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn('Not allowed to reload the firmware catalogue', p.stderr)
        self.assertFalse(self.listed())

    def test_other_action_does_not_count(self):
        self.polkitd_obj.SetAllowed(['org.freedesktop.hostname1.set-hostname'])
        p = self.ctl('reload', user=NOBODY, check=False)
        self.assertIn('Not allowed', p.stderr)
        self.assertFalse(self.listed())

    def callers(self, uid, n):
        """n Reload calls at once from uid, on one connection; returns the process, once they are sent."""
        p = subprocess.Popen([*as_user(uid), sys.executable, '-c', CALLER, self.bus_address, BUS_NAME, MANAGER_PATH,
                              MANAGER_IFACE, str(n)], stdout=subprocess.PIPE)
        self.buffers = getattr(self, 'buffers', {})
        self.addCleanup(p.stdout.close)
        self.addCleanup(p.wait)
        self.addCleanup(p.kill)
        self.assertEqual(self.read_line(p), 'sent')
        return p

    def read_line(self, p):
        """The next line the process prints, waiting for it at most 10 s (unbuffered: select() must see what
        is left to read)."""
        deadline = time.monotonic() + 10 * SLOW
        buf = self.buffers.setdefault(p.pid, b'')
        while b'\n' not in buf:
            if not select.select([p.stdout], [], [], max(0, deadline - time.monotonic()))[0]:
                raise AssertionError('no answer in time')
            data = os.read(p.stdout.fileno(), 4096)
            if not data:
                raise AssertionError('the caller exited')
            buf += data
        line, buf = buf.split(b'\n', 1)
        self.buffers[p.pid] = buf
        return line.decode().strip()

    def test_pending_checks_limited_per_user(self):
        """While polkit thinks, one user may have 16 checks waiting; the 17th is refused, and another user is
        still asked about."""
        self.polkitd_obj.SimulateHang(True)
        greedy = self.callers(NOBODY, 17)
        self.assertEqual(self.read_line(greedy), 'org.freedesktop.DBus.Error.LimitsExceeded')
        other = self.callers(OTHER_USER, 1)
        wait_until(lambda: self.polkitd_obj.HaveHangingCalls(), what='the checks to reach polkit')
        self.polkitd_obj.SimulateHang(False)
        self.polkitd_obj.ReleaseHangingCalls()
        # polkit says no to everybody now: the other user's call was asked about, not refused for want of room
        self.assertEqual(self.read_line(other), 'org.freedesktop.DBus.Error.AccessDenied')
        self.assertEqual([self.read_line(greedy) for _ in range(16)],
                         ['org.freedesktop.DBus.Error.AccessDenied'] * 16)

    def test_pending_checks_answered_at_shutdown(self):
        self.polkitd_obj.SimulateHang(True)
        waiting = self.callers(NOBODY, 2)

        def reloads_seen():
            with open(self.log_path) as f:
                return f.read().count('Reload() called by') == 2
        wait_until(reloads_seen, what='both calls to reach the daemon')
        wait_until(lambda: self.polkitd_obj.HaveHangingCalls(), what='the checks to reach polkit')
        self.daemon.send_signal(signal.SIGTERM)
        self.assertEqual([self.read_line(waiting) for _ in range(2)],
                         ['org.freedesktop.DBus.Error.AccessDenied'] * 2)
        self.assertEqual(self.daemon.wait(timeout=30 * SLOW), 0)
        self.polkitd_obj.SimulateHang(False)
        self.polkitd_obj.ReleaseHangingCalls()

    def test_hanging_polkit_does_not_block_others(self):
        self.polkitd_obj.SetAllowed([RELOAD_ACTION])
        self.polkitd_obj.SimulateHang(True)
        pending = subprocess.Popen([*as_user(NOBODY), *self.ctl_argv('reload')], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, env=self.ctl_env())
        try:
            wait_until(lambda: self.polkitd_obj.HaveHangingCalls(), what='the Reload to reach polkit')
            # polkit is thinking: every other caller is still served
            for _ in range(20):
                self.assertEqual(self.resolve(architecture='x86_64')[1]['name'], '40-x86-enrolled.json')
            self.assertEqual(self.prop('Count'), 6)
            self.assertIsNone(pending.poll())
            self.polkitd_obj.ReleaseHangingCalls()
            out, err = pending.communicate(timeout=30)
            self.assertEqual(pending.returncode, 0, err)
            self.assertTrue(self.listed())
        finally:
            if pending.poll() is None:
                pending.kill()
                pending.wait()


class TestReloadInteractive(AskingPolkitTestCase):
    """A polkit that wants to ask the user: a non-interactive call must say so."""

    def test_interactive_required(self):
        p = subprocess.run([*as_user(NOBODY), 'busctl', '--system', '--allow-interactive-authorization=no', 'call',
                            BUS_NAME, MANAGER_PATH, MANAGER_IFACE, 'Reload'], capture_output=True, text=True,
                           env=self.ctl_env())
        self.assertNotEqual(p.returncode, 0)
        self.assertIn('needs interactive authorization', p.stderr)
        # with interactive authorization allowed, polkit said no after asking: access denied
        p = self.ctl('reload', user=NOBODY, check=False)
        self.assertIn('Not allowed to reload', p.stderr)


if __name__ == '__main__':
    unittest.main(verbosity=2)
