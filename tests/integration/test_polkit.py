#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Reload: root is allowed, everyone else is asked about through polkit, asynchronously."""

import subprocess
import unittest

import dbus
import dbusmock

from fwtest import BUS_NAME, MANAGER_IFACE, MANAGER_PATH, DaemonTestCase, wait_until

NOBODY = 65534
ACTION = 'io.github.fwregistryd.FirmwareRegistry1.reload'


class TestReloadPolkit(DaemonTestCase):
    def setUp(self):
        super().setUp()
        self.polkitd_obj.SetAllowed(dbus.Array([], signature='s'))
        self.polkitd_obj.SimulateHang(False)

    def test_root_needs_no_polkit(self):
        self.ctl('reload')              # polkit allows nothing, and is not asked
        self.assertFalse(self.polkitd_obj.HaveHangingCalls())

    def test_unprivileged_allowed(self):
        self.polkitd_obj.SetAllowed([ACTION])
        p = self.ctl('reload', user=NOBODY)
        self.assertEqual(p.stderr, '')

    def test_unprivileged_denied(self):
        p = self.ctl('reload', user=NOBODY, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn('Not allowed to reload the firmware catalogue', p.stderr)

    def test_other_action_does_not_count(self):
        self.polkitd_obj.SetAllowed(['org.freedesktop.hostname1.set-hostname'])
        p = self.ctl('reload', user=NOBODY, check=False)
        self.assertIn('Not allowed', p.stderr)

    def test_hanging_polkit_does_not_block_others(self):
        self.polkitd_obj.SetAllowed([ACTION])
        self.polkitd_obj.SimulateHang(True)
        pending = subprocess.Popen(['setpriv', f'--reuid={NOBODY}', f'--regid={NOBODY}', '--clear-groups',
                                    *self.ctl_argv('reload')], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True, env=self.ctl_env())
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
        finally:
            if pending.poll() is None:
                pending.kill()
                pending.wait()


class TestReloadInteractive(DaemonTestCase):
    """A polkit that wants to ask the user: a non-interactive call must say so."""

    @classmethod
    def start_polkit(cls):
        proc = cls.spawn_server('org.freedesktop.PolicyKit1', '/org/freedesktop/PolicyKit1/Authority',
                                'org.freedesktop.PolicyKit1.Authority', system_bus=True, stdout=subprocess.DEVNULL)
        obj = dbus.bus.BusConnection(cls.bus_address).get_object('org.freedesktop.PolicyKit1',
                                                                 '/org/freedesktop/PolicyKit1/Authority')
        obj.AddMethod('org.freedesktop.PolicyKit1.Authority', 'CheckAuthorization', '(sa{sv})sa{ss}us',
                      '(bba{ss})', 'ret = (False, True, {})', dbus_interface=dbusmock.MOCK_IFACE)
        return proc, obj

    def test_interactive_required(self):
        p = subprocess.run(['setpriv', f'--reuid={NOBODY}', f'--regid={NOBODY}', '--clear-groups',
                            'busctl', '--system', '--allow-interactive-authorization=no', 'call', BUS_NAME,
                            MANAGER_PATH, MANAGER_IFACE, 'Reload'], capture_output=True, text=True,
                           env=self.ctl_env())
        self.assertNotEqual(p.returncode, 0)
        self.assertIn('needs interactive authorization', p.stderr)
        # with interactive authorization allowed, polkit said no after asking: access denied
        p = self.ctl('reload', user=NOBODY, check=False)
        self.assertIn('Not allowed to reload', p.stderr)


if __name__ == '__main__':
    unittest.main(verbosity=2)
