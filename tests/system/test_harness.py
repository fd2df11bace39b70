#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The system test's own failure paths, without booting anything: a tree that cannot be built is a skip with the
reason, and a system whose checks never report is stopped on its deadline and reported as a failure with the last
lines of its console."""

import contextlib
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import system_test  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


class TestHarness(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix='fwregistryd-harness-')
        self.console = os.path.join(self.dir, 'console.log')
        self.results = os.path.join(self.dir, 'results.tap')
        with open(self.console, 'w') as f:
            f.write(''.join(f'console line {i}\r\n' for i in range(100)))

    def tearDown(self):
        shutil.rmtree(self.dir)

    def report(self, ok):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            system_test.report(ok, self.results, self.console)
        return out.getvalue().splitlines()

    def test_silent_system_is_stopped_on_its_deadline(self):
        # stands in for a boot that never reports: a process that would run for a minute
        proc = subprocess.Popen(['sleep', '60'], start_new_session=True)
        start = time.monotonic()
        with contextlib.redirect_stdout(io.StringIO()):
            ok = system_test.wait(proc, self.results, self.console, time.monotonic() + 1)
        system_test.stop(proc)
        self.assertFalse(ok)
        self.assertIsNotNone(proc.poll())
        self.assertLess(time.monotonic() - start, 25)

    def test_no_results_is_a_failure_with_the_console(self):
        lines = self.report(False)
        self.assertEqual(lines[0], 'not ok 1 - checks reported and the system powered off')
        self.assertIn('#   console line 99', lines)
        self.assertNotIn('#   console line 59', lines)       # the last 40 lines, not all
        self.assertEqual(lines[-1], '1..1')

    def test_checks_that_stop_halfway_are_kept_and_the_rest_fails(self):
        with open(self.results, 'w') as f:
            f.write('ok 1 - boot reaches running\r\n# is-system-running: running\r\nok 2 - no fail')
        lines = self.report(False)
        self.assertEqual(lines[:3], ['ok 1 - boot reaches running', '# is-system-running: running',
                                     'not ok 2 - checks reported and the system powered off'])
        self.assertEqual(lines[-1], '1..2')

    def test_complete_results_are_passed_on(self):
        with open(self.results, 'w') as f:
            f.write('ok 1 - a\n# evidence\nnot ok 2 - b\n1..2\n' + system_test.DONE + '\n')
        self.assertEqual(self.report(True), ['ok 1 - a', '# evidence', 'not ok 2 - b', '1..2', system_test.DONE])

    @unittest.skipUnless(os.geteuid() == 0 and shutil.which('mmdebstrap'), 'needs root and mmdebstrap')
    def test_unreachable_archive_is_a_skip_with_the_reason(self):
        env = dict(os.environ, FWREGISTRY_SYSTEM_MIRROR='http://127.0.0.1:9/debian',
                   FWREGISTRY_SYSTEM_CACHE=os.path.join(self.dir, 'cache'))
        p = subprocess.run([sys.executable, os.path.join(HERE, 'system_test.py'), os.path.dirname(HERE),
                            self.dir, 'nspawn'], env=env, capture_output=True, text=True, timeout=300)
        print(p.stdout, p.stderr)
        self.assertEqual(p.returncode, 0)
        self.assertRegex(p.stdout, r'(?m)^1\.\.0 # SKIP cannot build the Debian 12 tree: mmdebstrap failed')
        self.assertNotRegex(p.stdout, r'(?m)^(not )?ok ')
        self.assertEqual([f for f in os.listdir(env['FWREGISTRY_SYSTEM_CACHE']) if f != '.lock'], [])


if __name__ == '__main__':
    unittest.main(verbosity=2)
