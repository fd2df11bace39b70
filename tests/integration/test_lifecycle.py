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
            self.assertIn('Lost the connection to the system bus, exiting.', f.read())

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


class TestProcessWithQemu(TestProcess):
    """The same with a QEMU binary to watch: the machine aliases' inotify fd, made close-on-exec, is then the
    first the process has, and the watcher's made without IN_CLOEXEC must still be found."""

    def setUp(self):
        qemu_dir = os.path.join(self.tmp, 'qemu')
        os.makedirs(qemu_dir, exist_ok=True)
        binary = os.path.join(qemu_dir, 'qemu-system-x86_64')
        with open(binary, 'w') as f:
            f.write('#!/bin/sh\n[ "$1" = -version ] && echo "QEMU emulator version 9.1.0"\nexit 0\n')
        os.chmod(binary, 0o755)
        self.daemon_args = ['--qemu-dirs', qemu_dir]
        super().setUp()

    @unittest.skipIf(WRAPPER, 'valgrind keeps fds of its own')
    def test_every_fd_is_close_on_exec(self):
        inotify = [fd for fd in os.listdir(f'/proc/{self.daemon.pid}/fd')
                   if os.readlink(f'/proc/{self.daemon.pid}/fd/{fd}') == 'anon_inode:inotify']
        self.assertEqual(len(inotify), 2, 'the watcher and the QEMU watch, each with an inotify fd')
        super().test_every_fd_is_close_on_exec()


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


class TestNotify(DaemonTestCase):
    """What the service manager is told, read from a NOTIFY_SOCKET of the test's own."""

    def start_daemon(self, *extra):
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        path = os.path.join(self.root, 'notify.sock')
        self.notify.bind(path)
        self.addCleanup(self.notify.close)
        os.environ['NOTIFY_SOCKET'] = path
        try:
            super().start_daemon(*extra)
        finally:
            del os.environ['NOTIFY_SOCKET']

    def next_message(self):
        self.notify.settimeout(10 * SLOW)
        return dict(line.split('=', 1) for line in self.notify.recv(4096).decode().splitlines())

    def test_ready_status_stopping(self):
        self.assertEqual(self.next_message(), {
            'READY': '1', 'STATUS': 'Serving 6 firmware descriptors (1 invalid, 1 masked), generation 0'})
        with open(os.path.join(self.root, USR, '10-new.json'), 'w') as f:
            json.dump(flash('CODE.fd', 'VARS.fd'), f)
        self.assertEqual(self.next_message(),
                         {'STATUS': 'Serving 7 firmware descriptors (1 invalid, 1 masked), generation 1'})
        self.daemon.send_signal(signal.SIGTERM)
        self.assertEqual(self.next_message(), {'STOPPING': '1'})


class TestUserInstance(DaemonTestCase):
    """The user instance: on the session bus (here the test's bus, as DBUS_SESSION_BUS_ADDRESS), with the
    user's own directory most specific."""

    daemon_args = ['--user']

    def start_daemon(self, *extra):
        os.makedirs(os.path.join(self.root, 'home/u/.config/qemu/firmware'), exist_ok=True)
        with open(os.path.join(self.root, 'home/u/.config/qemu/firmware/05-mine.json'), 'w') as f:
            json.dump(flash('CODE.fd', 'VARS.fd', description='my own'), f)
        saved = {k: os.environ.get(k) for k in ('DBUS_SESSION_BUS_ADDRESS', 'XDG_CONFIG_HOME', 'HOME')}
        os.environ.update(DBUS_SESSION_BUS_ADDRESS=self.bus_address, HOME='/home/u')
        os.environ.pop('XDG_CONFIG_HOME', None)
        try:
            super().start_daemon(*extra)
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

    def test_user_directory_and_scope(self):
        self.assertEqual(self.prop('Scope'), 'user')
        self.assertEqual([str(d) for d in self.prop('SearchPath')],
                         ['/usr/share/qemu/firmware', '/etc/qemu/firmware', '/home/u/.config/qemu/firmware'])
        self.assertEqual(self.resolve(architecture='x86_64')[1]['name'], '05-mine.json')
        with open(self.log_path) as f:
            self.assertIn('on the session bus.', f.read())
        # and it is watched like the others
        self.record_signals()
        os.unlink(os.path.join(self.root, 'home/u/.config/qemu/firmware/05-mine.json'))
        self.assertEqual(self.wait_for_change(1), [[], ['05-mine.json'], []])


class TestNoWatcher(DaemonTestCase):
    """A watcher thread that cannot start (no inotify instance left): the daemon still serves, says why it
    does not follow changes, and Reload still works."""

    SYSCTL = '/proc/sys/fs/inotify/max_user_instances'

    def start_daemon(self, *extra):
        try:
            with open(self.SYSCTL) as f:
                saved = f.read()
            with open(self.SYSCTL, 'w') as f:
                f.write('0')
        except OSError as e:
            self.skipTest(f'cannot lower {self.SYSCTL} ({e}): needs root')
        try:
            super().start_daemon(*extra)
        finally:
            with open(self.SYSCTL, 'w') as f:
                f.write(saved)

    def test_serves_and_reloads_without_a_watcher(self):
        self.assertEqual(self.prop('Count'), 6)
        with open(self.log_path) as f:
            self.assertIn('Failed to initialize inotify: Too many open files', f.read())
        with open(os.path.join(self.root, USR, '10-new.json'), 'w') as f:
            json.dump(flash('CODE.fd', 'VARS.fd'), f)
        self.manager.Reload()
        self.assertEqual(self.prop('Count'), 7)


if __name__ == '__main__':
    unittest.main(verbosity=2)
