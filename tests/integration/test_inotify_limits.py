#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The kernel's inotify limits: a directory that cannot be watched is reported and polled, the catalogue
catches up within the poll interval, and the watch comes back when the limit allows it again."""

import json
import os
import re
import unittest

from fwtest import ETC, USR, DaemonTestCase, flash, wait_until


class InotifyLimitsTestCase(DaemonTestCase):
    """The kernel's inotify limits, acted out by the daemon's test hook (the real ones are shared by every
    process of the user): a watch or the whole inotify instance fails while a file says so."""

    daemon_args = ['--poll-interval=200']
    limit = None                # what the limit file says when the daemon starts

    def setUp(self):
        self.limit_file = os.path.join(self.tmp, f'inotify-limit-{os.getpid()}-{id(self)}')
        self.set_limit(self.limit)
        os.environ['FWREGISTRYD_TEST_INOTIFY_LIMIT'] = self.limit_file
        self.addCleanup(os.environ.pop, 'FWREGISTRYD_TEST_INOTIFY_LIMIT', None)
        self.addCleanup(self.set_limit, None)
        super().setUp()

    def set_limit(self, which):
        if which:
            with open(self.limit_file, 'w') as f:
                f.write(which)
        elif os.path.exists(self.limit_file):
            os.unlink(self.limit_file)

    def unwatched(self):
        return [str(d) for d in self.prop('UnwatchedDirectories')]

    def log_text(self):
        with open(self.log_path, errors='replace') as f:
            return f.read()

    def assert_catches_up(self, rel, name):
        count = int(self.prop('Count'))
        self.write(rel, flash('CODE.fd', 'VARS.fd'))
        wait_until(lambda: int(self.prop('Count')) == count + 1, what=f'{name} to appear')
        self.assertIn(name, [str(d['name']) for _, d in self.list()[1]])


class TestWatchLimitAtStart(InotifyLimitsTestCase):
    limit = 'watches'

    def test_polled_then_watched_again(self):
        usr = os.path.join(self.root, USR)
        self.assertIn(usr, self.unwatched())
        self.assertIn('polling them every 0.2 s', self.log_text())
        self.assert_catches_up(f'{USR}/20-new.json', '20-new.json')
        self.set_limit(None)
        wait_until(lambda: self.unwatched() == [], what='the watches to come back')
        self.assertIn('Every directory is watched again', self.log_text())
        self.assert_catches_up(f'{USR}/21-new.json', '21-new.json')

    def test_reload_retries_at_once(self):
        self.set_limit(None)
        self.manager.Reload()
        wait_until(lambda: self.unwatched() == [], timeout=1, what='the watches after Reload')


class TestWatchLimitMidRun(InotifyLimitsTestCase):
    daemon_args = ['--poll-interval=200', '--extra-dir=/opt/firmware']

    def test_new_directory_polled(self):
        self.assertEqual(self.unwatched(), [])
        self.set_limit('watches')
        # the directory appears: the daemon wants to watch it, and cannot
        os.makedirs(os.path.join(self.root, 'opt', 'firmware'))
        wait_until(lambda: os.path.join(self.root, 'opt', 'firmware') in self.unwatched(),
                   what='the new directory to be reported unwatched')
        self.assert_catches_up('opt/firmware/10-opt.json', '10-opt.json')
        self.set_limit(None)
        wait_until(lambda: self.unwatched() == [], what='the watch to come back')
        self.assert_catches_up('opt/firmware/11-opt.json', '11-opt.json')


class TestNoInotifyInstance(InotifyLimitsTestCase):
    limit = 'instances'

    def test_everything_polled(self):
        self.assertIn(os.path.join(self.root, USR), self.unwatched())
        self.assertIn(os.path.join(self.root, ETC), self.unwatched())
        self.assertIn('No inotify instance', self.log_text())
        self.assert_catches_up(f'{ETC}/20-etc.json', '20-etc.json')
        self.remove(f'{ETC}/20-etc.json')
        wait_until(lambda: int(self.prop('Count')) == 6, what='the removal to be seen')
        self.set_limit(None)
        wait_until(lambda: self.unwatched() == [], what='an inotify instance')
        self.assert_catches_up(f'{ETC}/21-etc.json', '21-etc.json')


class TestRescanOutlastsPolls(InotifyLimitsTestCase):
    """Every directory polled every 10 ms, and a catalogue whose rescan takes longer than that: each poll asks
    for a full rescan, which must not start the running one over (it would never end, and a Reload() waiting
    for it would never be answered); one more rescan follows it instead."""
    limit = 'instances'
    daemon_args = ['--poll-interval=10']
    N = 5000

    def test_rescans_end_and_reload_returns(self):
        content = json.dumps(flash('CODE.fd', 'VARS.fd', arch='riscv64', machines=('virt',)))
        for i in range(self.N):
            with open(os.path.join(self.root, USR, f'95-many-{i:05d}.json'), 'w') as f:
                f.write(content)
        wait_until(lambda: int(self.prop('Count')) >= self.N, timeout=120, what='a rescan to end with the files')
        self.manager.Reload(timeout=120)
        # when Reload() returned, a rescan that started after the call had ended (polls asked for rescans
        # too, so its reason may be theirs, which came first)
        after = self.log_text().split('Reload() called by', 1)[1]
        started = re.search(r'full rescan \([^\n]*\) of \d+ names in steps', after)
        self.assertIsNotNone(started, 'no rescan started after Reload() was called')
        self.assertRegex(after[started.end():], r'Full rescan \([^\n]*\) done in \d+ steps\.')


if __name__ == '__main__':
    unittest.main(verbosity=2)
