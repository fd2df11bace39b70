#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""What the daemon and the client say: prefixes only for the journal, option errors, change lines, masks,
Reload and SIGHUP with who asked, plurals, a second instance, describe by file path."""

import json
import os
import signal
import subprocess
import unittest

from fwtest import DAEMON, ETC, USR, WRAPPER, DaemonTestCase, flash, wait_until


class MessagesTestCase(DaemonTestCase):
    def daemon_log(self):
        with open(self.log_path, errors='replace') as f:
            return f.read()

    def wait_for_log(self, text):
        wait_until(lambda: text in self.daemon_log(), what=f'the log line {text!r}')


class TestLog(MessagesTestCase):
    def test_no_prefixes_off_the_journal(self):
        log = self.daemon_log()
        self.assertIn('\nLoaded 6 firmware descriptors (1 invalid, 1 masked) in ', '\n' + log)
        self.assertNotRegex(log, r'(^|\n)<\d>')

    def test_prefixes_on_the_journal(self):
        self.stop_daemon()
        # stderr is the stream $JOURNAL_STREAM names (as systemd sets it): prefixes, for the journal to read
        open(self.log_path, 'a').close()
        st = os.stat(self.log_path)
        os.environ['JOURNAL_STREAM'] = f'{st.st_dev}:{st.st_ino}'
        try:
            self.start_daemon()
        finally:
            del os.environ['JOURNAL_STREAM']
        self.assertIn('<6>Loaded 6 firmware descriptors', self.daemon_log())
        # a stream of another file (stderr redirected since) is not the journal
        self.stop_daemon()
        os.environ['JOURNAL_STREAM'] = f'{st.st_dev}:{st.st_ino + 1}'
        try:
            self.start_daemon()
        finally:
            del os.environ['JOURNAL_STREAM']
        self.assertEqual(self.daemon_log().count('<6>Loaded'), 1)

    def test_change_line_names_files(self):
        self.record_signals()
        self.write(f'{USR}/12-new.json', flash('CODE.fd', 'VARS.fd'))
        self.wait_for_change(1)
        self.assertIn('Firmware catalogue changed (descriptors changed): 1 added, 0 removed, 0 modified: '
                      '+12-new.json; generation 1.', self.daemon_log())

    def test_change_line_names_a_few(self):
        """Seven descriptors appear at once (a directory renamed into place): the first few, and how many more."""
        self.stop_daemon()
        self.start_daemon('--extra-dir=/opt/firmware')
        self.record_signals()
        staging = os.path.join(self.root, 'opt', '.staging')
        os.makedirs(staging)
        for i in range(7):
            with open(os.path.join(staging, f'2{i}-new.json'), 'w') as f:
                json.dump(flash('CODE.fd', 'VARS.fd'), f)
        os.rename(staging, os.path.join(self.root, 'opt', 'firmware'))
        self.wait_for_change(1)
        self.assertIn('Firmware catalogue changed (directories changed): 7 added, 0 removed, 0 modified: '
                      '+20-new.json, +21-new.json, +22-new.json, +23-new.json, +24-new.json and 2 more; '
                      'generation 1.', self.daemon_log())

    def test_masks_logged(self):
        usr, etc = (os.path.join(self.root, d, '50-x86-secure.json') for d in (USR, ETC))
        self.assertIn(f"'{os.path.join(self.root, ETC, '70-masked.json')}' masks "
                      f"'{os.path.join(self.root, USR, '70-masked.json')}'.", self.daemon_log())
        self.record_signals()
        self.write(f'{ETC}/50-x86-secure.json', '')
        self.wait_for_change(1)
        self.assertIn(f"'{etc}' masks '{usr}'.", self.daemon_log())
        self.remove(f'{ETC}/50-x86-secure.json')
        self.wait_for_change(2)
        self.assertIn("'50-x86-secure.json' is no longer masked.", self.daemon_log())

    def test_reload_logged_with_the_caller(self):
        self.record_signals()
        self.write(f'{USR}/12-new.json', flash('CODE.fd', 'VARS.fd'))
        self.manager.Reload()
        caller = self.bus.get_unique_name()
        self.assertIn(f'Reload() called by {caller} (uid {os.getuid()}).', self.daemon_log())
        self.wait_for_change(1)
        self.assertRegex(self.daemon_log(), r'Firmware catalogue changed \((Reload\(\) by ' + caller +
                         r'|descriptors changed)\)')

    def test_sighup_logged(self):
        self.daemon.send_signal(signal.SIGHUP)
        self.wait_for_log(f'Received SIGHUP from pid {os.getpid()}, rescanning.')

    def test_second_instance_names_the_owner(self):
        p = subprocess.run([*WRAPPER, DAEMON, '--system', '--root', self.root], capture_output=True, text=True,
                           timeout=60, env=dict(os.environ, FWREGISTRYD_LOG_LEVEL='info'))
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertRegex(p.stderr, r"The bus name 'io.github.fwregistryd.FirmwareRegistry1' is owned by :1\.[0-9]+ "
                         rf"\(pid {self.daemon.pid}: [^)]*fwregistryd --system --root {self.root}[^)]*\), another "
                         r"instance is running; exiting.")
        self.assertNotIn('File exists', p.stderr)


class TestOneDescriptor(MessagesTestCase):
    tree = {f'{USR}/60-x86.json': flash('CODE.fd', 'VARS.fd')}

    def test_singular(self):
        self.assertIn('Loaded 1 firmware descriptor (0 invalid, 0 masked) in ', self.daemon_log())
        # said once the name is taken, which the test may see first
        self.wait_for_log('Serving 1 firmware descriptor (0 invalid, 0 masked), generation 0 on the system bus.')


class TestOptions(unittest.TestCase):
    def daemon(self, *args):
        return subprocess.run([*WRAPPER, DAEMON, *args], capture_output=True, text=True, timeout=60)

    def test_errors_are_printed(self):
        p = self.daemon('--log-level=loud')
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stderr, "Unknown log level 'loud' (expected emerg, alert, crit, err, warning, notice, info, "
                         "debug or 0 to 7).\n")
        p = self.daemon('--debounce=soon')
        self.assertEqual(p.returncode, 1)
        self.assertIn("Invalid --debounce 'soon'", p.stderr)
        p = self.daemon('--qemu-timeout=0')
        self.assertEqual(p.returncode, 1)
        self.assertIn("Invalid --qemu-timeout '0'", p.stderr)
        p = self.daemon('--qemu-dirs=relative')
        self.assertEqual(p.returncode, 1)
        self.assertIn('QEMU directories must be absolute paths.', p.stderr)
        p = self.daemon('--frobnicate')
        self.assertEqual(p.returncode, 1)
        self.assertIn('frobnicate', p.stderr)
        p = self.daemon('extra')
        self.assertEqual(p.returncode, 1)
        self.assertIn('This program takes no arguments.', p.stderr)


class TestDescribeFile(MessagesTestCase):
    def test_describe_takes_a_file_path(self):
        path = os.path.join(self.root, USR, '60-x86.json')
        online = json.loads(self.ctl('describe', path).stdout)
        self.assertEqual(online['path'], path)
        offline = json.loads(self.ctl('--offline', '--root', self.root, 'describe', path).stdout)
        self.assertEqual(offline['name'], '60-x86.json')
        # a file that lost to a more specific one is not what the catalogue serves: say which one is
        shadowed = os.path.join(self.root, USR, '75-shadowed.json')
        p = self.ctl('--offline', '--root', self.root, 'describe', shadowed, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn(f"No firmware descriptor file '{shadowed}' in the catalogue (the descriptor of that name is "
                      f"'{os.path.join(self.root, ETC, '75-shadowed.json')}')", p.stderr)
        p = self.ctl('describe', shadowed, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn(f"No firmware descriptor file '{shadowed}' in the catalogue", p.stderr)


if __name__ == '__main__':
    unittest.main(verbosity=2)
