#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Replies against the system bus's limits: on a dbus-daemon configured like the real system bus (32 MiB per
message), an unprivileged caller asks for more than fits. The daemon must stay on the bus and answer with a
page or TooLarge; fwregistryctl pages on its own; Explain and NoMatch stay bounded whatever the request."""

import json
import subprocess
import sys
import unittest

import dbus

import os

from fwtest import (BUS_CONFIG, BUS_NAME, ERROR_NO_MATCH, SLOW, SOURCE_DIR, USR, WRAPPER, DaemonTestCase,
                    flash)
from test_hostile import SANITIZED, as_nobody

ERROR_TOO_LARGE = BUS_NAME + '.Error.TooLarge'
REPLY_MAX = 8 * 1024 * 1024
# the limits of dbus-daemon's system bus (its built-in defaults for <type>system</type>, as in system.conf)
SYSTEM_LIMITS = '''
  <limit name="max_incoming_bytes">133169152</limit>
  <limit name="max_outgoing_bytes">133169152</limit>
  <limit name="max_message_size">33554432</limit>
  <limit name="max_incoming_unix_fds">64</limit>
  <limit name="max_outgoing_unix_fds">64</limit>
  <limit name="max_message_unix_fds">16</limit>
  <limit name="service_start_timeout">25000</limit>
  <limit name="auth_timeout">5000</limit>
  <limit name="pending_fd_timeout">150000</limit>
  <limit name="max_completed_connections">2048</limit>
  <limit name="max_incomplete_connections">64</limit>
  <limit name="max_connections_per_user">256</limit>
  <limit name="max_pending_service_starts">512</limit>
  <limit name="max_names_per_connection">512</limit>
  <limit name="max_match_rules_per_connection">512</limit>
  <limit name="max_replies_per_connection">128</limit>
  <limit name="reply_timeout">25000</limit>
'''
# descriptors with 60 KB descriptions: 600 of them make a List of about 37 MB, more than a message may have
N_LARGE = 600
LARGE_TREE = {f'{USR}/{i:04d}-large.json': flash('CODE.fd', 'VARS.fd', description=f'{i} ' + 'x' * 60000)
              for i in range(N_LARGE)}

# small descriptors, enough that a hostile Explain passes the reply bound long before the last of them
N_SMALL = 10_000
SMALL_TREE = {f'{USR}/{i:05d}-small.json': flash('CODE.fd', 'VARS.fd') for i in range(N_SMALL)}
MIB = 1024 * 1024

# an unprivileged caller on its own connection: prints the error name and message size, or the reply's
CALLER = r'''
import dbus, json, sys
bus = dbus.bus.BusConnection(sys.argv[1])
obj = bus.get_object('io.github.fwregistryd.FirmwareRegistry1', '/io/github/fwregistryd/FirmwareRegistry1')
method, arg = sys.argv[2], json.loads(sys.stdin.read())
try:
    if method == 'GetManagedObjects':
        reply = obj.GetManagedObjects(dbus_interface='org.freedesktop.DBus.ObjectManager', timeout=120)
        print(json.dumps({'items': len(reply)}))
    else:
        m = getattr(obj, method)
        for k in ('offset', 'limit'):
            if k in arg:
                arg[k] = dbus.UInt32(arg[k])
        if 'features' in arg:
            arg['features'] = dbus.Dictionary(arg['features'], signature='sb')
        reply = m(dbus.Dictionary(arg, signature='sv'), dbus_interface=
                  'io.github.fwregistryd.FirmwareRegistry1.Manager', timeout=120)
        print(json.dumps({'items': len(reply[1]), 'reasons': max((len(v[2]) for v in reply[1]), default=0)
                          if method == 'Explain' else 0}))
except dbus.exceptions.DBusException as e:
    print(json.dumps({'error': e.get_dbus_name(), 'message': e.get_dbus_message()}))
'''


class LimitsTestCase(DaemonTestCase):
    bus_config = BUS_CONFIG.replace('</busconfig>', SYSTEM_LIMITS + '</busconfig>')
    tree = LARGE_TREE

    def call_as_nobody(self, method, arg=None):
        p = subprocess.run([*as_nobody(), sys.executable, '-c', CALLER, self.bus_address, method],
                           input=json.dumps(arg or {}), capture_output=True, text=True, timeout=300 * SLOW)
        self.assertEqual(p.returncode, 0, p.stderr)
        return json.loads(p.stdout)

    def assert_on_bus(self):
        self.assertIsNone(self.daemon.poll(), 'fwregistryd exited')
        self.assertTrue(self.bus.name_has_owner(BUS_NAME), 'fwregistryd is off the bus')
        self.assertEqual(int(self.prop('Count')), N_LARGE)

    def test_list_everything_is_too_large(self):
        out = self.call_as_nobody('List')
        self.assertEqual(out.get('error'), ERROR_TOO_LARGE, out)
        self.assertIn("'offset' and 'limit'", out['message'])
        self.assert_on_bus()

    def test_list_pages(self):
        out = self.call_as_nobody('List', {'limit': 50})
        self.assertEqual(out, {'items': 50, 'reasons': 0})
        seen = []
        offset = 0
        while True:
            _, items = self.list(offset=dbus.UInt32(offset), limit=dbus.UInt32(100))
            seen += [d['name'] for _, d in items]
            if len(items) < 100:
                break
            offset += len(items)
        self.assertEqual(seen, sorted(LARGE_TREE and [f'{i:04d}-large.json' for i in range(N_LARGE)]))
        # a page past the end is empty, not an error
        self.assertEqual(self.list(offset=dbus.UInt32(N_LARGE + 5))[1], [])
        self.assert_on_bus()

    def test_page_too_large_names_a_page_that_fits(self):
        out = self.call_as_nobody('List', {'offset': 10, 'limit': 1000})
        self.assertEqual(out.get('error'), ERROR_TOO_LARGE, out)
        limit = int(out['message'].split('limit=')[1].split(',')[0])
        self.assertGreater(limit, 0)
        out = self.call_as_nobody('List', {'offset': 10, 'limit': limit})
        self.assertEqual(out['items'], limit, out)
        self.assert_on_bus()

    def test_managed_objects_too_large(self):
        out = self.call_as_nobody('GetManagedObjects')
        self.assertEqual(out.get('error'), ERROR_TOO_LARGE, out)
        self.assert_on_bus()

    def test_ctl_pages(self):
        p = subprocess.run([*as_nobody(), *self.ctl_argv('--json', 'list')], capture_output=True,
                           text=True, timeout=300 * SLOW, env=self.ctl_env())
        self.assertEqual(p.returncode, 0, p.stderr)
        names = [f['name'] for f in json.loads(p.stdout)['firmwares']]
        self.assertEqual(names, [f'{i:04d}-large.json' for i in range(N_LARGE)])
        self.assert_on_bus()

    def test_python_pages(self):
        sys.path.insert(0, os.path.join(SOURCE_DIR, 'python'))
        import fwregistry
        client = fwregistry.Client(address=self.bus_address)
        firmwares = client.list()
        self.assertEqual([f.name for f in firmwares], [f'{i:04d}-large.json' for i in range(N_LARGE)])
        self.assertEqual(len(client.list(offset=N_LARGE - 3, limit=10)), 3)
        with self.assertRaises(fwregistry.TooLarge):
            client.list(limit=N_LARGE)
        self.assert_on_bus()

    def test_hostile_explain_and_no_match(self):
        # 1,024 unknown features of 256 bytes: each a reason for every descriptor
        features = {f'{i:04d}' + 'f' * 252: True for i in range(1024)}
        out = self.call_as_nobody('Explain', {'architecture': 'x86_64', 'features': features})
        self.assertEqual(out['items'], N_LARGE, out)
        self.assertLessEqual(out['reasons'], 17)
        _, verdicts = self.manager.Explain(dbus.Dictionary({'architecture': 'x86_64', 'features': dbus.Dictionary(
            features, signature='sb')}, signature='sv'), timeout=120)
        reasons = [str(r) for r in verdicts[0][2]]
        self.assertEqual(reasons[-1], f'{len(features) - 16} more left out')
        out = self.call_as_nobody('Resolve', {'architecture': 'x86_64', 'features': features})
        self.assertEqual(out.get('error'), ERROR_NO_MATCH, out)
        self.assertLess(len(out['message'].encode()), 17 * 1024)
        self.assertRegex(out['message'], r'\(\d+ more bytes left out\)$')
        self.assert_on_bus()


def memory_kib(pid):
    """VmRSS and VmHWM (the peak since the last reset) of a process, in KiB."""
    with open(f'/proc/{pid}/status') as f:
        fields = dict(line.split(':', 1) for line in f)
    return int(fields['VmRSS'].split()[0]), int(fields['VmHWM'].split()[0])


class ExplainMemoryTestCase(DaemonTestCase):
    """What an Explain costs the daemon is bounded by the reply it may send, not by what the catalogue and the
    request would make of it."""
    bus_config = LimitsTestCase.bus_config
    call_as_nobody = LimitsTestCase.call_as_nobody
    tree = SMALL_TREE

    # 1,024 unknown features of 256 bytes (the longest a name may be): 16 reasons of 272 bytes for every
    # descriptor, so an Explain reply passes the bound after some 1,900 of them; all the verdicts together
    # would take some 45 MB here
    FEATURES = {f'{i:04d}' + 'f' * 252: True for i in range(1024)}

    def call_measured(self, method, arg):
        """Calls as an unprivileged caller; returns the outcome and the daemon's VmRSS before, peak during and
        VmRSS after, in KiB."""
        rss_before, _ = memory_kib(self.daemon.pid)
        with open(f'/proc/{self.daemon.pid}/clear_refs', 'w') as f:
            f.write('5')                # VmHWM starts again from the current RSS
        out = self.call_as_nobody(method, arg)
        rss_after, peak = memory_kib(self.daemon.pid)
        print(f'\n  hostile {method} on {N_SMALL} descriptors: VmRSS {rss_before} KiB before, VmHWM {peak} KiB, '
              f'VmRSS {rss_after} KiB after', end=' ', flush=True)
        self.assert_serving()
        return out, rss_before, peak, rss_after

    def test_hostile_explain_memory(self):
        self.assertEqual(self.call_as_nobody('Explain', {'architecture': 'x86_64'})['items'], N_SMALL)
        out, before, peak, after = self.call_measured('Explain', {'architecture': 'x86_64',
                                                                  'features': self.FEATURES})
        self.assertEqual(out.get('error'), ERROR_TOO_LARGE, out)
        self.assertIn('List', out['message'])
        # under valgrind or ASan the figures are the tool's: printed, not judged. The reply up to the bound
        # (its buffer grows by doubling) and the request fit in four bounds
        if not WRAPPER and not SANITIZED:
            self.assertLess(peak - before, 4 * REPLY_MAX // 1024,
                            'a refused Explain took more than four times the reply bound')
            self.assertLess(after - before, 8 * MIB // 1024,
                            'the memory of a refused Explain was not handed back')

    def test_hostile_no_match_memory(self):
        """The NoMatch text counts reasons and keeps the closest candidate: not every verdict."""
        out, before, peak, _ = self.call_measured('Resolve', {'architecture': 'x86_64', 'features': self.FEATURES})
        self.assertEqual(out.get('error'), ERROR_NO_MATCH, out)
        self.assertRegex(out['message'], r'\(\d+ more bytes left out\)$')
        if not WRAPPER and not SANITIZED:
            self.assertLess(peak - before, 4 * REPLY_MAX // 1024, 'a NoMatch took more than four reply bounds')

    def assert_serving(self):
        self.assertIsNone(self.daemon.poll(), 'fwregistryd exited')
        self.assertEqual(int(self.prop('Count')), N_SMALL)
        self.assertNotIn('error', self.call_as_nobody('Resolve', {'architecture': 'x86_64'}))


if __name__ == '__main__':
    unittest.main(verbosity=2)
