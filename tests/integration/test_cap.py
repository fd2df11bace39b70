#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The catalogue's cap (files past it in rank order are left out, logged and counted) and full rescans in
steps (bus calls are answered between the steps, and a descriptor present throughout resolves throughout)."""

import json
import math
import os
import re
import signal
import threading
import unittest

import dbus

from fwtest import BUS_NAME, SOURCE_DIR, USR, DaemonTestCase, flash, wait_until

CHUNK = 1024                    # MANAGER_REBUILD_CHUNK
REPLY_MAX = 8 * 1024 * 1024     # BUS_REPLY_SIZE_MAX
FIRMWARE_NODE = '/io/github/fwregistryd/FirmwareRegistry1/firmware'


def log_text(path):
    with open(path, errors='replace') as f:
        return f.read()


class TestSmallCap(DaemonTestCase):
    daemon_args = ['--max-descriptors=3']

    def entry_names(self):
        return [d['name'] for _, d in self.list(**{'include-invalid': True, 'include-masked': True})[1]]

    def test_files_past_the_cap_are_left_out(self):
        # the standard tree has 8 names: the first 3 in rank order are served
        self.assertEqual(self.entry_names(), ['40-x86-enrolled.json', '50-x86-secure.json', '60-aarch64.json'])
        self.assertRegex(log_text(self.log_path), r"Serving at most 3 firmware descriptors .*: 5 more descriptor "
                                                  r"files are left out, from '60-x86.json' on\.")
        self.assertEqual(log_text(self.log_path).count('left out, from'), 1)
        self.record_signals()
        # room made: the first file left out comes in
        self.remove(f'{USR}/50-x86-secure.json')
        self.assertEqual(self.wait_for_change(1), [['60-x86.json'], ['50-x86-secure.json'], []])
        # a name ranked ahead pushes the last one out
        self.write(f'{USR}/10-first.json', json.dumps(flash('CODE.fd', 'VARS.fd')))
        self.assertEqual(self.wait_for_change(2), [['10-first.json'], ['60-x86.json'], []])
        self.assertEqual(self.entry_names(), ['10-first.json', '40-x86-enrolled.json', '60-aarch64.json'])
        # still said once, and a full rescan in steps comes to the same
        self.assertEqual(log_text(self.log_path).count('left out, from'), 1)
        self.daemon.send_signal(signal.SIGHUP)
        wait_until(lambda: 'Full rescan (SIGHUP) done' in log_text(self.log_path), what='the rescan')
        self.assertEqual(self.entry_names(), ['10-first.json', '40-x86-enrolled.json', '60-aarch64.json'])

    def test_option_bounds(self):
        import subprocess
        from fwtest import DAEMON
        for bad in ('0', '100001', 'x'):
            p = subprocess.run([DAEMON, f'--max-descriptors={bad}'], capture_output=True, text=True)
            self.assertNotEqual(p.returncode, 0)
            self.assertIn('Invalid --max-descriptors', p.stdout + p.stderr)


class TestRescanInSteps(DaemonTestCase):
    N = 5000

    def setUp(self):
        super().setUp()
        content = json.dumps(flash('CODE.fd', 'VARS.fd', arch='riscv64', machines=('virt',)))
        for i in range(self.N):
            with open(os.path.join(self.root, USR, f'95-many-{i:05d}.json'), 'w') as f:
                f.write(content)
        wait_until(lambda: self.prop('Count') >= self.N, timeout=60, what='the catalogue to take the files')

    def steps_logged(self):
        return len(re.findall(r'^Rebuild \d+: update of ', log_text(self.log_path), re.M))

    def test_calls_answered_between_steps(self):
        bus = dbus.bus.BusConnection(self.bus_address)
        manager = dbus.Interface(bus.get_object(BUS_NAME, '/io/github/fwregistryd/FirmwareRegistry1'),
                                 'io.github.fwregistryd.FirmwareRegistry1.Manager')
        request = dbus.Dictionary({'architecture': 'x86_64'}, signature='sv')
        answers, errors, stop = [], [], threading.Event()
        first = self.steps_logged()

        def caller():
            while not stop.is_set():
                try:
                    answers.append((str(manager.Resolve(request)[1]['name']), self.steps_logged() - first))
                except dbus.exceptions.DBusException as e:
                    errors.append(e.get_dbus_name())

        thread = threading.Thread(target=caller)
        thread.start()
        try:
            wait_until(lambda: len(answers) > 0, what='a first answer')
            self.daemon.send_signal(signal.SIGHUP)
            wait_until(lambda: 'Full rescan (SIGHUP) done' in log_text(self.log_path), timeout=120,
                       what='the rescan')
        finally:
            stop.set()
            thread.join()
        text = log_text(self.log_path)
        names = int(re.search(r'full rescan \(SIGHUP\) of (\d+) names in steps of 1024', text).group(1))
        steps = math.ceil(names / CHUNK)
        self.assertGreaterEqual(names, self.N + 8)
        self.assertIn(f'Full rescan (SIGHUP) done in {steps} steps.', text)
        self.assertEqual(errors, [])
        # a descriptor present before and after resolves throughout, and some answers came between steps
        self.assertEqual({name for name, _ in answers}, {'40-x86-enrolled.json'})
        self.assertTrue(any(0 < done < steps for _, done in answers), 'no call was answered during the rescan')

    def test_reload_answers_when_its_rescan_ends(self):
        """Reload() rescans in steps too, answering other calls meanwhile, and returns only when its rescan has
        ended; a second Reload() that comes during the rescan is answered by one more rescan after it."""
        def connect():
            bus = dbus.bus.BusConnection(self.bus_address)
            return dbus.Interface(bus.get_object(BUS_NAME, '/io/github/fwregistryd/FirmwareRegistry1'),
                                  'io.github.fwregistryd.FirmwareRegistry1.Manager')

        manager = connect()
        request = dbus.Dictionary({'architecture': 'x86_64'}, signature='sv')
        answers, errors, returned, stop = [], [], {}, threading.Event()
        first = self.steps_logged()

        def caller():
            while not stop.is_set():
                try:
                    answers.append((str(manager.Resolve(request)[1]['name']), self.steps_logged() - first,
                                    'first' in returned))
                except dbus.exceptions.DBusException as e:
                    errors.append(e.get_dbus_name())

        def reload(which):
            try:
                connect().Reload(timeout=120)
                # what the log said when the reply came: the rescan's end is logged before the reply
                returned[which] = log_text(self.log_path)
            except dbus.exceptions.DBusException as e:
                errors.append(e.get_dbus_name())

        thread = threading.Thread(target=caller)
        thread.start()
        try:
            wait_until(lambda: len(answers) > 0, what='a first answer')
            reloads = [threading.Thread(target=reload, args=('first',))]
            reloads[0].start()
            wait_until(lambda: re.search(r'full rescan \(Reload\(\) by [^)]*\) of \d+ names',
                                         log_text(self.log_path)), what='the rescan to start')
            reloads.append(threading.Thread(target=reload, args=('second',)))
            reloads[1].start()
            for t in reloads:
                t.join(timeout=120)
        finally:
            stop.set()
            thread.join()
        self.assertEqual(errors, [])
        self.assertEqual(sorted(returned), ['first', 'second'])
        done = r'Full rescan \(Reload\(\) by [^)]*\) done in \d+ steps\.'
        self.assertEqual(len(re.findall(done, returned['first'])), 1)
        # the second came while the first rescan ran: it waited for the one after it
        self.assertEqual(len(re.findall(done, returned['second'])), 2)
        text = log_text(self.log_path)
        names = int(re.search(r'full rescan \(Reload\(\) by [^)]*\) of (\d+) names', text).group(1))
        steps = math.ceil(names / CHUNK)
        self.assertEqual({name for name, _, _ in answers}, {'40-x86-enrolled.json'})
        self.assertTrue(any(0 < done < steps and not after for _, done, after in answers),
                        'no call was answered while Reload() waited for its rescan')


class TestReloadDocs(unittest.TestCase):
    """What the documents say Reload does is what the test above shows: a rescan in steps, not one build."""

    def test_no_document_says_reload_is_one_build(self):
        said = {}
        for rel in ('docs/catalogue.md', 'docs/fwregistryd.8', 'docs/io.github.fwregistryd.FirmwareRegistry1.5',
                    'introspection/io.github.fwregistryd.FirmwareRegistry1.Manager.xml', 'README.md'):
            with open(os.path.join(SOURCE_DIR, rel)) as f:
                text = re.sub(r'^\.[A-Z]+ ?', '', f.read(), flags=re.M)     # troff's font macros
            text = ' '.join(text.split())
            for sentence in re.split(r'(?<=[.;])\s', text):
                if 'Reload' in sentence and re.search(r'\b(one|a single) (re)?build\b', sentence):
                    said.setdefault(rel, []).append(sentence)
        self.assertEqual(said, {})


class TestLabelBudget(DaemonTestCase):
    """Names of 255 bytes that sd_bus_path_encode() escapes whole: the byte budget, not the count, caps the
    catalogue, and Introspect of the firmware node stays under the reply bound."""

    def setUp(self):
        super().setUp()
        self.stop_daemon()
        content = json.dumps(flash('CODE.fd', 'VARS.fd'))
        for i in range(10000):
            name = f'-{i:05d}' + '-' * (255 - 6 - 5) + '.json'
            with open(os.path.join(self.root, USR, name), 'w') as f:
                f.write(content)
        self.start_daemon()

    def test_introspect_and_managed_objects(self):
        m = re.search(r'Serving at most 100000 .*: (\d+) more descriptor files are left out',
                      log_text(self.log_path))
        self.assertIsNotNone(m)
        served = 10000 + 8 - int(m.group(1))
        self.assertLess(served, 10000)
        obj = self.bus.get_object(BUS_NAME, FIRMWARE_NODE)
        xml = dbus.Interface(obj, 'org.freedesktop.DBus.Introspectable').Introspect()
        self.assertEqual(xml.count('<node name='), served)
        self.assertLess(len(xml.encode()), REPLY_MAX)
        om = dbus.Interface(self.bus.get_object(BUS_NAME, '/io/github/fwregistryd/FirmwareRegistry1'),
                            'org.freedesktop.DBus.ObjectManager')
        try:
            self.assertEqual(len(om.GetManagedObjects(timeout=120)), served)
        except dbus.exceptions.DBusException as e:
            self.assertEqual(e.get_dbus_name(), BUS_NAME + '.Error.TooLarge')
        self.assertTrue(self.bus.name_has_owner(BUS_NAME))


if __name__ == '__main__':
    unittest.main()
