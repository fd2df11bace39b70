#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The installed D-Bus policy, for real: a dbus-daemon with system-bus rules (deny by default) that includes
data/io.github.fwregistryd.FirmwareRegistry1.conf; the daemon runs as the unprivileged fwregistry user."""

import os
import pwd
import shutil
import subprocess
import tempfile
import unittest

import dbus
import dbusmock

from fwtest import (BUS_NAME, CTL, DAEMON, MANAGER_IFACE, MANAGER_PATH, SOURCE_DIR, STANDARD_TREE, WRAPPER, SLOW,
                    wait_until, write_tree)

POLICY = os.path.join(SOURCE_DIR, 'data', 'io.github.fwregistryd.FirmwareRegistry1.conf')
SYSUSERS = os.path.join(SOURCE_DIR, 'data', 'fwregistryd.sysusers')
NOBODY = 'nobody'

# What the system bus allows by default, written for this test: nobody owns names or sends method calls
# unless a policy file says so; replies and signals flow; the bus driver is reachable.
BUS_CONFIG = '''<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
  </policy>
  <!-- what polkit's own policy file provides -->
  <policy user="root">
    <allow own="org.freedesktop.PolicyKit1"/>
  </policy>
  <policy context="default">
    <allow send_destination="org.freedesktop.PolicyKit1"/>
  </policy>
  <include>{policy}</include>
</busconfig>
'''


def as_user(user):
    pw = pwd.getpwnam(user)
    return ['setpriv', f'--reuid={pw.pw_uid}', f'--regid={pw.pw_gid}', '--clear-groups']


class TestPolicy(dbusmock.DBusTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if os.geteuid() != 0:
            raise unittest.SkipTest('needs root to run processes as other users')
        try:
            pwd.getpwnam('fwregistry')
        except KeyError:
            # what a package does on installation
            subprocess.run(['systemd-sysusers', SYSUSERS], check=True)
        cls.tmp = tempfile.mkdtemp(prefix='fwregistryd-policy-')
        os.chmod(cls.tmp, 0o755)
        conf = os.path.join(cls.tmp, 'bus.conf')
        cls.socket = os.path.join(cls.tmp, 'bus.socket')
        with open(conf, 'w') as f:
            f.write(BUS_CONFIG.format(socket=cls.socket, policy=POLICY))
        cls.bus_pid, cls.address = cls.start_dbus(conf=conf)
        cls.addClassCleanup(cls.stop_dbus, cls.bus_pid)
        os.environ['DBUS_SYSTEM_BUS_ADDRESS'] = cls.address
        os.chmod(cls.socket, 0o777)
        cls.polkitd, cls.polkitd_obj = cls.spawn_server_template('polkitd', {}, stdout=subprocess.DEVNULL)
        cls.addClassCleanup(cls.polkitd.wait)
        cls.addClassCleanup(cls.polkitd.terminate)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)
        super().tearDownClass()

    def setUp(self):
        self.root = tempfile.mkdtemp(prefix='root-', dir=self.tmp)
        write_tree(self.root, STANDARD_TREE)
        for d, dirs, files in os.walk(self.root):
            os.chmod(d, 0o755)
        self.log = open(os.path.join(self.root, 'daemon.log'), 'w')
        self.bus = dbus.bus.BusConnection(self.address)
        self.polkitd_obj.SetAllowed(dbus.Array([], signature='s'))
        self.daemon = None

    def tearDown(self):
        if self.daemon and self.daemon.poll() is None:
            self.daemon.terminate()
            self.daemon.wait(timeout=30 * SLOW)
        self.log.close()
        self.bus.close()

    def start_daemon(self, user):
        self.daemon = subprocess.Popen([*as_user(user), *WRAPPER, DAEMON, '--system', '--root', self.root],
                                       stdout=self.log, stderr=subprocess.STDOUT, env=self.env())
        wait_until(lambda: self.daemon.poll() is not None or self.bus.name_has_owner(BUS_NAME),
                   what='the daemon to own its name, or to give up')

    def env(self):
        return dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=self.address)

    def busctl(self, user, *args):
        return subprocess.run([*as_user(user), 'busctl', '--system', *args], capture_output=True, text=True,
                              env=self.env())

    def test_fwregistry_owns_and_serves(self):
        self.start_daemon('fwregistry')
        self.assertIsNone(self.daemon.poll())
        p = self.busctl(NOBODY, 'call', BUS_NAME, MANAGER_PATH, MANAGER_IFACE, 'Resolve', 'a{sv}', '1',
                        'architecture', 's', 'x86_64')
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn('40-x86-enrolled.json', p.stdout)
        for args in (('get-property', BUS_NAME, MANAGER_PATH, MANAGER_IFACE, 'Count'),
                     ('tree', BUS_NAME),
                     ('call', BUS_NAME, MANAGER_PATH, 'org.freedesktop.DBus.ObjectManager', 'GetManagedObjects'),
                     ('call', BUS_NAME, MANAGER_PATH, 'org.freedesktop.DBus.Peer', 'Ping')):
            p = self.busctl(NOBODY, *args)
            self.assertEqual(p.returncode, 0, f'{args}: {p.stderr}')

    def test_others_may_not_own_the_name(self):
        p = self.busctl(NOBODY, 'call', 'org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus',
                        'RequestName', 'su', BUS_NAME, '0')
        self.assertNotEqual(p.returncode, 0)
        self.assertIn('Access denied', p.stderr)
        # and the daemon started as such a user gives up with a clear message
        self.start_daemon(NOBODY)
        self.assertEqual(self.daemon.wait(timeout=30 * SLOW), 1)
        with open(self.log.name) as f:
            self.assertIn(f"Failed to acquire the bus name '{BUS_NAME}'", f.read())

    def test_root_may_own_the_name(self):
        self.start_daemon('root')
        self.assertIsNone(self.daemon.poll())

    def test_nothing_beyond_the_interfaces(self):
        self.start_daemon('fwregistry')
        p = self.busctl(NOBODY, 'call', BUS_NAME, MANAGER_PATH, 'org.freedesktop.DBus.Properties', 'Set', 'ssv',
                        MANAGER_IFACE, 'Generation', 't', '7')
        self.assertNotEqual(p.returncode, 0)
        self.assertIn('Access denied', p.stderr)

    def test_reload_needs_polkit_consent(self):
        self.start_daemon('fwregistry')
        # busctl only says "Access denied"; fwregistryctl prints the daemon's message
        p = subprocess.run([*as_user(NOBODY), CTL, 'reload'], capture_output=True, text=True, env=self.env())
        self.assertEqual(p.returncode, 1)
        self.assertIn('Not allowed to reload the firmware catalogue', p.stderr)
        p = self.busctl(NOBODY, 'call', BUS_NAME, MANAGER_PATH, MANAGER_IFACE, 'Reload')
        self.assertNotEqual(p.returncode, 0)
        self.assertIn('Access denied', p.stderr)
        self.polkitd_obj.SetAllowed(['io.github.fwregistryd.FirmwareRegistry1.reload'])
        p = self.busctl(NOBODY, 'call', BUS_NAME, MANAGER_PATH, MANAGER_IFACE, 'Reload')
        self.assertEqual(p.returncode, 0, p.stderr)


if __name__ == '__main__':
    unittest.main(verbosity=2)
