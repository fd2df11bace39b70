#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The daemon's life around the catalogue: what it tells the service manager, the user instance on a session
bus, a bus that goes away, and a watcher that cannot start."""

import json
import os
import signal
import socket
import unittest

from fwtest import (ETC, SLOW, USR, WRAPPER, DaemonTestCase, flash, wait_until)


class TestBusDisconnect(DaemonTestCase):
    """One test to a class: the bus is killed, and with it the class's bus."""

    def test_exits_with_failure_when_the_bus_goes_away(self):
        self.assertEqual(self.prop('Count'), 6)
        os.kill(self.bus_pid, signal.SIGTERM)
        # off the bus it serves nobody: it must exit, with a failure status so that Restart= fires
        returncode = self.daemon.wait(timeout=30 * SLOW)
        self.assertNotEqual(returncode, 0)
        with open(self.log_path) as f:
            self.assertIn('<3>Lost the connection to the system bus, exiting.', f.read())

    def stop_daemon(self):
        if self.daemon.poll() is None:
            self.daemon.kill()
            self.daemon.wait()
        self.log.close()

    def tearDown(self):
        self.stop_daemon()


class TestProcess(DaemonTestCase):
    @unittest.skipIf(WRAPPER, 'valgrind keeps fds of its own')
    def test_every_fd_is_close_on_exec(self):
        """Nothing the daemon opens may leak into a process it (or a library in it) ever starts: the inotify
        fd that libinotifytools makes without IN_CLOEXEC included."""
        pid = self.daemon.pid
        kinds = {}
        for fd in os.listdir(f'/proc/{pid}/fd'):
            if int(fd) <= 2:
                continue
            with open(f'/proc/{pid}/fdinfo/{fd}') as f:
                flags = int(next(line for line in f if line.startswith('flags:')).split()[1], 8)
            target = os.readlink(f'/proc/{pid}/fd/{fd}')
            kinds[target] = kinds.get(target, True) and bool(flags & os.O_CLOEXEC)
        self.assertIn('anon_inode:inotify', kinds)
        self.assertEqual([t for t, cloexec in kinds.items() if not cloexec], [])


class TestFailingRebuild(DaemonTestCase):
    """A rebuild that fails for want of memory keeps the old catalogue; what was collected for it must not be
    lost, since no event will bring it back. The test environment makes the first rebuild fail."""

    def start_daemon(self, *extra):
        os.environ['FWREGISTRYD_TEST_FAILING_REBUILDS'] = '1'
        try:
            super().start_daemon(*extra)
        finally:
            del os.environ['FWREGISTRYD_TEST_FAILING_REBUILDS']

    def test_changes_survive_a_failed_rebuild(self):
        self.record_signals()
        with open(os.path.join(self.root, USR, '10-new.json'), 'w') as f:
            json.dump(flash('CODE.fd', 'VARS.fd'), f)
        self.assertEqual(self.wait_for_change(1), [['10-new.json'], [], []])
        with open(self.log_path) as f:
            self.assertIn('(as the test environment asked): Cannot allocate memory', f.read())


if __name__ == '__main__':
    unittest.main(verbosity=2)
