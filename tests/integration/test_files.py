#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Callers' files are read off the event loop: a varstore passed with 'nvram', or an 'executable' path, on a
file system that never answers (a FUSE server that holds every read, like a dead NFS mount) costs that
caller Timeout after the deadline, while another caller's Resolve loop goes on being answered; the daemon
still exits on SIGTERM, and the threads left hanging are bounded per user."""

import json
import os
import signal
import statistics
import subprocess
import sys
import time
import unittest

import dbus

from fwtest import (BUILD_DIR, BUS_NAME, SLOW, STANDARD_TREE, DaemonTestCase, wait_until)

FUSE_HANG = os.path.join(BUILD_DIR, 'tests', 'integration', 'fuse-hang')
ERROR_TIMEOUT = BUS_NAME + '.Error.Timeout'
LIMITS_EXCEEDED = 'org.freedesktop.DBus.Error.LimitsExceeded'
DEADLINE_MS = 500 * SLOW

# Another caller: its own connection and process, calling Resolve without pause until stdin closes, then
# printing each call's latency in seconds (or the error) as JSON.
OTHER_CALLER = r'''
import json, select, sys, time
import dbus
bus = dbus.bus.BusConnection(sys.argv[1])
manager = dbus.Interface(bus.get_object(sys.argv[2], sys.argv[3]), sys.argv[2] + '.Manager')
request = dbus.Dictionary({'architecture': 'x86_64', 'machine': 'pc-q35-9.2'}, signature='sv')
latencies, errors = [], []
print('ready', flush=True)
while not select.select([sys.stdin], [], [], 0)[0]:
    start = time.monotonic()
    try:
        manager.Resolve(request, timeout=30)
        latencies.append((start, time.monotonic() - start))
    except dbus.exceptions.DBusException as e:
        errors.append(f'{e.get_dbus_name()} after {time.monotonic() - start:.3f} s')
print(json.dumps({'latencies': latencies, 'errors': errors}))
'''


def mounted(path):
    with open('/proc/self/mountinfo') as f:
        return any(line.split()[4] == path for line in f)


class TestHungFile(DaemonTestCase):
    tree = STANDARD_TREE

    def setUp(self):
        if not os.path.exists(FUSE_HANG):
            self.skipTest('fuse-hang was not built (no libfuse3)')
        self.fuse = None
        os.environ['FWREGISTRYD_TEST_IO_TIMEOUT_MSEC'] = str(DEADLINE_MS)
        try:
            super().setUp()
        finally:
            del os.environ['FWREGISTRYD_TEST_IO_TIMEOUT_MSEC']
        # inside the daemon's root, where its request paths are looked up
        self.mnt = os.path.join(self.root, 'mnt')
        os.mkdir(self.mnt)
        try:
            self.mount_fuse()
        except BaseException:
            super().tearDown()      # tearDown is not called when setUp fails or skips
            raise

    def mount_fuse(self):
        self.fuse = subprocess.Popen([FUSE_HANG, self.mnt, '-f', '-o', 'allow_other'], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 10
        while not mounted(self.mnt):
            if self.fuse.poll() is not None or time.monotonic() > deadline:
                output = self.fuse.stdout.read() if self.fuse.poll() is not None else ''
                self.unmount_fuse()
                self.skipTest(f'cannot mount a FUSE file system here: {output.strip() or "timed out"}')
            time.sleep(0.02)

    def unmount_fuse(self):
        """Killing the server ends every request it holds (ENOTCONN): stuck threads return, and the mount
        point is unmounted lazily. Safe to call twice."""
        if self.fuse and self.fuse.poll() is None:
            self.fuse.kill()
            self.fuse.wait()
        # not os.path.ismount(): on a mount whose server is gone, its stat() fails and it says no
        if mounted(self.mnt):
            r = subprocess.run(['fusermount3', '-u', '-z', self.mnt], capture_output=True)
            if r.returncode != 0:
                subprocess.run(['umount', '-l', self.mnt], capture_output=True)
        if self.fuse and self.fuse.stdout:
            self.fuse.stdout.close()

    def tearDown(self):
        # first the file system: a daemon with a thread stuck in it cannot be reaped before
        self.unmount_fuse()
        super().tearDown()

    def hung_resolve(self, **request):
        """Resolve with a request naming the hung file; returns (seconds, D-Bus error name)."""
        start = time.monotonic()
        with self.assertRaises(dbus.exceptions.DBusException) as cm:
            self.manager.Resolve(dbus.Dictionary(request, signature='sv'), timeout=20 * SLOW)
        return time.monotonic() - start, cm.exception.get_dbus_name(), cm.exception.get_dbus_message()

    def test_others_served_while_a_file_hangs(self):
        other = subprocess.Popen([sys.executable, '-c', OTHER_CALLER, self.bus_address, BUS_NAME,
                                  '/io/github/fwregistryd/FirmwareRegistry1'],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            self.assertEqual(other.stdout.readline().strip(), 'ready')
            time.sleep(0.2)
            fd = os.open(os.path.join(self.mnt, 'varstore'), os.O_RDONLY | os.O_CLOEXEC)
            try:
                hang_start = time.monotonic()
                took, name, message = self.hung_resolve(architecture='x86_64', nvram=dbus.types.UnixFd(fd))
            finally:
                os.close(fd)
            time.sleep(0.2)
        finally:
            out, _ = other.communicate('stop\n', timeout=60 * SLOW)
        result = json.loads(out.strip().splitlines()[-1])
        # the calls made while the hung caller waited (the clock is the same in both processes)
        latencies = [t for start, t in result['latencies'] if hang_start <= start <= hang_start + took]
        print(f'\nhung caller: {name} after {took:.3f} s (deadline {DEADLINE_MS / 1000:.3f} s); other caller '
              f'during the hang: {len(latencies)} calls, median {statistics.median(latencies) * 1000:.2f} ms, '
              f'worst {max(latencies) * 1000:.2f} ms', file=sys.stderr)
        self.assertEqual(name, ERROR_TIMEOUT, message)
        self.assertIn("'nvram'", message)
        self.assertGreaterEqual(took, DEADLINE_MS / 1000 - 0.05)
        self.assertLess(took, DEADLINE_MS / 1000 + 2 * SLOW)
        self.assertEqual(result['errors'], [])
        self.assertGreater(len(latencies), 10)
        # never held up by the hung file: well under its deadline, each call
        self.assertLess(max(latencies), DEADLINE_MS / 1000)

    def test_executable_path_that_hangs(self):
        took, name, message = self.hung_resolve(architecture='x86_64', executable='/mnt/stat-hangs')
        self.assertEqual(name, ERROR_TIMEOUT, message)
        self.assertIn("'executable'", message)
        # and the daemon answers as before
        self.assertEqual(str(self.resolve(architecture='x86_64', machine='pc-q35-9.2')[1]['name']),
                         '40-x86-enrolled.json')

    def test_threads_left_hanging_are_bounded(self):
        for _ in range(8):
            fd = os.open(os.path.join(self.mnt, 'varstore'), os.O_RDONLY | os.O_CLOEXEC)
            try:
                self.assertEqual(self.hung_resolve(architecture='x86_64', nvram=dbus.types.UnixFd(fd))[1],
                                 ERROR_TIMEOUT)
            finally:
                os.close(fd)
        fd = os.open(os.path.join(self.mnt, 'varstore'), os.O_RDONLY | os.O_CLOEXEC)
        try:
            took, name, message = self.hung_resolve(architecture='x86_64', nvram=dbus.types.UnixFd(fd))
        finally:
            os.close(fd)
        self.assertEqual(name, LIMITS_EXCEEDED, message)
        self.assertLess(took, DEADLINE_MS / 1000)
        # requests that name no file are not affected
        self.assertEqual(str(self.resolve(architecture='x86_64', machine='pc-q35-9.2')[1]['name']),
                         '40-x86-enrolled.json')

    def test_exits_while_a_thread_hangs(self):
        fd = os.open(os.path.join(self.mnt, 'varstore'), os.O_RDONLY | os.O_CLOEXEC)
        try:
            self.assertEqual(self.hung_resolve(architecture='x86_64', nvram=dbus.types.UnixFd(fd))[1],
                             ERROR_TIMEOUT)
        finally:
            os.close(fd)
        self.daemon.send_signal(signal.SIGTERM)
        # it leaves the bus at once; the kernel reaps the process only when the stuck read ends
        wait_until(lambda: not self.bus.name_has_owner(BUS_NAME), timeout=10, what='the daemon to leave the bus')
        self.unmount_fuse()
        self.assertEqual(self.daemon.wait(timeout=30 * SLOW), 0)


if __name__ == '__main__':
    unittest.main(verbosity=2)
