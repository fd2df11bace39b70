#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Hostile input against a live fwregistryd: files dropped into the watched tree that try to block, exhaust or
confuse the daemon, and callers that send what no well-behaved client sends. After each, the daemon must still be
running and serve the rest of the catalogue unchanged; what it rejects it must report, in words."""

import errno
import json
import os
import pwd
import re
import shutil
import signal
import stat
import subprocess
import time
import unittest

import dbus

from fwtest import (BUS_NAME, ERROR_NO_MATCH, ERROR_NO_SUCH_FIRMWARE, ETC, FIRMWARE_IFACE, FIRMWARE_PREFIX,
                    INVALID_ARGS, MANAGER_IFACE, MANAGER_PATH, SLOW, SOURCE_DIR, USR, WRAPPER, DAEMON,
                    DaemonTestCase, firmware_path, flash, wait_until)

# the valid, unmasked names of fwtest.STANDARD_TREE, in rank order, and what x86_64 resolves to
VALID_NAMES = ['40-x86-enrolled.json', '50-x86-secure.json', '60-aarch64.json', '60-x86.json',
               '75-shadowed.json', '80-missing-image.json']
EXPECTED = '40-x86-enrolled.json'
# "answers promptly": a Resolve takes well under a millisecond; this only has to tell "answers" from "hangs"
PROMPT = 2 * SLOW
MIB = 1024 * 1024
NOBODY = pwd.getpwnam('nobody')
RELOAD_ACTION = 'io.github.fwregistryd.FirmwareRegistry1.reload'


def as_nobody():
    return ['setpriv', f'--reuid={NOBODY.pw_uid}', f'--regid={NOBODY.pw_gid}', '--clear-groups']


def request_keys():
    """The request keys and their signatures, read from daemon/bus/bus-request.c so that a new key is covered too."""
    with open(os.path.join(SOURCE_DIR, 'daemon', 'bus', 'bus-request.c')) as f:
        source = f.read()
    table = re.search(r'request_keys\[_KEY_MAX\] = \{(.*?)\n\};', source, re.S).group(1)
    keys = re.findall(r'\[KEY_\w+\] = \{ "([^"]+)", "([^"]+)" \}', table)
    assert len(keys) >= 15, keys
    return keys


def rss_kib(pid):
    with open(f'/proc/{pid}/status') as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    raise AssertionError(f'no VmRSS for {pid}')


# set by the build for its tests; meson test sets $ASAN_OPTIONS whatever the build, so that says nothing
SANITIZED = os.environ.get('FWREGISTRY_SANITIZE', 'none') not in ('', 'none')


class HostileTestCase(DaemonTestCase):
    def request(self, **request):
        return dbus.Dictionary(request, signature='sv')

    def assert_serving(self):
        """The daemon runs, and answers Resolve promptly with the descriptor it answered before."""
        self.assertIsNone(self.daemon.poll(), 'fwregistryd is no longer running')
        start = time.monotonic()
        path, result = self.manager.Resolve(self.request(architecture='x86_64'), timeout=PROMPT)
        self.assertLess(time.monotonic() - start, PROMPT)
        self.assertEqual(str(result['name']), EXPECTED)
        self.assertEqual(str(path), firmware_path(EXPECTED))

    def assert_others_intact(self, extra_invalid=0):
        self.assertEqual([d['name'] for _, d in self.list()[1]], VALID_NAMES)
        self.assertEqual(self.prop('Count'), len(VALID_NAMES))
        self.assertEqual(self.prop('InvalidCount'), 1 + extra_invalid)

    def pump(self):
        """Dispatches what has arrived: signals that came in during a blocking call wait for the main loop."""
        wait_until(lambda: True)

    def change_seen(self, generation):
        """Whether CatalogueChanged for this generation has arrived. The daemon sends it before it answers any
        later call, so after a round trip it is here or it was never sent: only a short grace is given."""
        self.prop('Generation')
        try:
            return wait_until(lambda: any(m == 'CatalogueChanged' and int(a[0]) == generation
                                          for m, _, a in self.signals), timeout=0.25)
        except AssertionError:
            return False


class FileTestCase(HostileTestCase):
    """Files are dropped into /usr/share/qemu/firmware of a running daemon."""

    def setUp(self):
        super().setUp()
        self.record_signals()

    def path(self, rel):
        return os.path.join(self.root, rel)

    def write_descriptor(self, path, d):
        with open(path, 'w') as f:
            json.dump(d, f)

    def drop(self, name, make, directory=USR):
        """Makes name in the tree at once: made under a hidden name the daemon ignores, then renamed into place.
        Waits for the one CatalogueChanged that adds it."""
        generation = int(self.prop('Generation'))
        tmp = os.path.join(self.path(directory), '.' + name + '.new')
        make(tmp)
        path = os.path.join(self.path(directory), name)
        os.rename(tmp, path)
        self.assertEqual(self.wait_for_change(generation + 1), [[name], [], []])
        return path

    def assert_rejected(self, name, problem, extra_invalid=1):
        """The daemon serves on, the others are intact, and name is listed as invalid with exactly this problem."""
        self.assert_serving()
        self.assert_others_intact(extra_invalid)
        _, items = self.list(**{'include-invalid': True})
        entries = {d['name']: (p, d) for p, d in items}
        self.assertIn(name, entries)
        path, entry = entries[name]
        self.assertEqual(path, firmware_path(name))
        self.assertFalse(entry['valid'])
        self.assertEqual([str(p) for p in entry['problems']], [problem])
        self.assertEqual([str(p) for p in self.prop('Problems', firmware_path(name), FIRMWARE_IFACE)], [problem])
        _, verdicts = self.explain(architecture='x86_64')
        self.assertEqual(verdicts[(name, 'invalid')], [f'parse-error:{problem}'])
        self.assertEqual(json.loads(self.manager.Describe(name))['problems'], [problem])


class TestHostileFiles(FileTestCase):
    def test_fifo(self):
        path = self.drop('50-x.json', os.mkfifo)
        self.assert_rejected('50-x.json', 'a FIFO, only regular files are read')
        # nobody holds it open for reading: a writer that does not wait finds no reader
        with self.assertRaises(OSError) as cm:
            os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
        self.assertEqual(cm.exception.errno, errno.ENXIO)
        # touching it makes the daemon look again, still without blocking, and find nothing new to say
        generation = int(self.prop('Generation'))
        os.utime(path)
        marker = self.path(f'{USR}/52-marker.json')
        self.write_descriptor(marker + '.tmp', flash('CODE.fd', 'VARS.fd'))
        os.rename(marker + '.tmp', marker)
        self.assertEqual(self.wait_for_change(generation + 1), [['52-marker.json'], [], []])
        os.unlink(marker)
        self.assertEqual(self.wait_for_change(generation + 2), [[], ['52-marker.json'], []])
        self.assert_rejected('50-x.json', 'a FIFO, only regular files are read')

    def make_device(self, name, minor):
        """A character device of the root's own: links below --root resolve inside it, never to the host's."""
        os.makedirs(self.path('dev'), exist_ok=True)
        try:
            os.mknod(self.path(f'dev/{name}'), 0o666 | stat.S_IFCHR, os.makedev(1, minor))
        except PermissionError:
            self.skipTest('creating a device node takes privileges')

    def test_symlink_to_dev_zero(self):
        self.make_device('zero', 5)
        self.drop('51-zero.json', lambda p: os.symlink('/dev/zero', p))
        self.assert_rejected('51-zero.json', 'a character device, only regular files are read')

    def test_symlink_into_dev_ignores_unrelated_activity(self):
        """A link to a device is refused, and its target's directory is not watched at all: what every
        `command >/dev/null` does, anywhere in the root, is no change of ours."""
        self.make_device('zero', 5)
        self.make_device('null', 3)
        self.drop('51-zero.json', lambda p: os.symlink('/dev/zero', p))
        self.assert_rejected('51-zero.json', 'a character device, only regular files are read')
        self.assert_unrelated_activity_ignored([self.path('dev/null')])

    def test_symlink_target_directory_ignores_unrelated_activity(self):
        """The directory of a regular link target is watched; what happens to other files there is no change
        of ours, and not even a reason to look at the link again."""
        os.makedirs(self.path('opt/fw'))
        target = self.path('opt/fw/real.json')
        self.write_descriptor(target, flash('CODE.fd', 'VARS.fd', features=['acpi-s3']))
        # absolute, as distributions link: inside the --root, so it leads to the file written above
        self.drop('51-linked.json', lambda p: os.symlink('/opt/fw/real.json', p))
        # the target's directory is watched from now on, and the link looked at once more: wait for that
        wait_until(lambda: len(self.rebuild_lines()) == 2, what='the link looked at again once watched')
        self.assertIn('51-linked.json', [d['name'] for _, d in self.list()[1]])     # it is read, not dangling
        self.assert_unrelated_activity_ignored([self.path(f'opt/fw/other-{i}.txt') for i in range(3)])

    def assert_unrelated_activity_ignored(self, paths):
        generation = int(self.prop('Generation'))
        rebuilds_before = len(self.rebuild_lines())
        for p in paths:
            with open(p, 'w') as f:
                f.write('x')
        # then a real change: it must be the only one (events arrive in order, so by the time the marker is
        # seen, anything the writes caused has been seen too), and its rebuild looked at the marker alone
        marker = self.path(f'{USR}/52-marker.json')
        self.write_descriptor(marker + '.tmp', flash('CODE.fd', 'VARS.fd'))
        os.rename(marker + '.tmp', marker)
        wait_until(lambda: '52-marker.json' in [d['name'] for _, d in self.list()[1]], what='the marker')
        self.pump()
        changes = [(int(a[0]), *[sorted(str(x) for x in l) for l in a[1:]])
                   for m, _, a in self.signals if m == 'CatalogueChanged' and int(a[0]) > generation]
        self.assertEqual(changes, [(generation + 1, ['52-marker.json'], [], [])],
                         'unrelated activity changed the catalogue')
        # one rebuild since the writes, the marker's: the writes made none of their own, not even one that
        # looked at a link again and found nothing changed
        new_rebuilds = self.rebuild_lines()[rebuilds_before:]
        self.assertEqual(len(new_rebuilds), 1, new_rebuilds)
        self.assertIn(': update of 1 names, 1 parsed, ', new_rebuilds[0])
        self.assert_serving()

    def rebuild_lines(self):
        with open(self.log_path) as f:
            return [line for line in f if line.startswith('Rebuild ')]

    def test_huge_sparse_file(self):
        def make(p):
            with open(p, 'w') as f:
                f.truncate(100 * MIB)
        self.drop('52-huge.json', make)
        self.assert_rejected('52-huge.json', 'larger than 1048576 bytes (104857600 bytes), not read')

    def test_deeply_nested(self):
        def make(text):
            def write(p):
                with open(p, 'w') as f:
                    f.write(text)
            return write

        self.drop('53-deep.json', make('[' * 100_000 + ']' * 100_000))
        self.assert_rejected('53-deep.json', '[0]' * 32 + ': nested deeper than 32 levels')
        self.drop('53-deep-objects.json', make('{"a":' * 100_000 + '1' + '}' * 100_000))
        self.assert_rejected('53-deep-objects.json', '.'.join(['a'] * 32) + ': nested deeper than 32 levels',
                             extra_invalid=2)

    def test_invalid_utf8(self):
        def make(p):
            with open(p, 'wb') as f:
                f.write(b'{"description": "\xff\xfe bad"}')
        self.drop('54-utf8.json', make)
        self.assert_rejected('54-utf8.json',
                             'invalid JSON at line 1, column 19 (byte 18): invalid bytes in UTF8 string')

    def test_utf8_that_the_json_parser_lets_through(self):
        """Byte sequences yajl does not check (overlong forms, surrogates, beyond U+10FFFF, an escaped lone low
        surrogate) are not UTF-8 either, and D-Bus refuses any string that carries them. Such a descriptor must
        be listed as invalid like any other bad UTF-8, not break List, Explain and the change signals."""
        cases = {
            'overlong': b'\xc0\xaf',
            'surrogate': b'\xed\xa0\x80',
            'beyond-U+10FFFF': b'\xf4\x90\x80\x80',
            'escaped-low-surrogate': b'\\udc00',
        }
        for what, raw in cases.items():
            with self.subTest(what):
                name = f'55-{what}.json'
                text = json.dumps(flash('CODE.fd', 'VARS.fd', description='DESC')).encode()
                path = self.path(f'{USR}/{name}')
                generation = int(self.prop('Generation'))
                with open(path + '.tmp', 'wb') as f:
                    f.write(text.replace(b'DESC', b'bad ' + raw))
                os.rename(path + '.tmp', path)
                try:
                    wait_until(lambda: self.prop('Generation') > generation, what=f'{name} to be read')
                    self.assert_serving()
                    _, items = self.list(**{'include-invalid': True})
                    entry = {d['name']: d for _, d in items}[name]
                    self.assertFalse(entry['valid'])
                    self.assertRegex(' '.join(entry['problems']), 'UTF-?8')
                    self.explain(architecture='x86_64')
                    json.loads(self.manager.Describe(name))
                    self.assertTrue(self.change_seen(generation + 1), f'no CatalogueChanged for {name}')
                finally:
                    generation = int(self.prop('Generation'))
                    os.unlink(path)
                    wait_until(lambda: self.prop('Generation') > generation, what=f'{name} to be removed')

    def test_nul_bytes(self):
        def make(p):
            with open(p, 'wb') as f:
                f.write(b'{"descr\x00iption": 1}')
        self.drop('55-nul.json', make)
        self.assert_rejected('55-nul.json', 'contains a NUL byte at offset 7: not a JSON text')
        # and the escaped form, which a C string cannot hold either
        d = flash('CODE.fd', 'VARS.fd', description='a\u0000b')
        self.drop('56-escaped-nul.json', lambda p: self.write_descriptor(p, d))
        self.assert_rejected('56-escaped-nul.json', 'description: string contains a NUL character (\\u0000)',
                             extra_invalid=2)

    def test_dangling_symlink_ranked_first(self):
        # libvirt gives up on all selection when it meets one; here it is reported and the rest still resolves
        target = '/opt/fw/missing.json'                     # inside the root
        self.drop('00-dangling.json', lambda p: os.symlink(target, p))
        self.assert_rejected('00-dangling.json', f"dangling symlink to '{target}'")
        _, verdicts = self.explain(architecture='x86_64')
        self.assertEqual(verdicts[(EXPECTED, 'selected')], [])

    def test_dangling_symlink_target_appears(self):
        """A link installed before its target (a package manager may do either first) is picked up when the
        target appears: the catalogue is live, and nobody should need a Reload for it."""
        os.makedirs(self.path('opt/fw'))
        target = '/opt/fw/later.json'                       # inside the root
        self.drop('00-dangling.json', lambda p: os.symlink(target, p))
        self.assert_rejected('00-dangling.json', f"dangling symlink to '{target}'")
        self.write_descriptor(self.path('opt/fw/later.json'), flash('CODE.fd', 'VARS.fd'))
        wait_until(lambda: self.prop('Valid', firmware_path('00-dangling.json'), FIRMWARE_IFACE),
                   timeout=2, what='the link to become valid once its target exists')
        self.assertEqual(self.resolve(architecture='x86_64')[1]['name'], '00-dangling.json')

    def test_dangling_symlink_target_not_utf8(self):
        """A link target is bytes, like a file name: one that is not UTF-8 (or that an older version cut in the
        middle of a character) must not break List, Explain, Describe, GetManagedObjects or later signals."""
        latin1 = os.fsencode(self.path('opt')) + b'/caf\xe9.json'
        self.drop('00-latin1.json', lambda p: os.symlink(latin1, p))
        self.assert_rejected('00-latin1.json', f"dangling symlink to '{self.path('opt')}/caf\\xe9.json'")
        # 408 bytes (no name in it over 255), with a two-byte character across byte 255
        long_target = '/opt/a/' + '\u00e9' * 100 + '/' + '\u00e9' * 100
        assert long_target.encode()[254:256] == '\u00e9'.encode()
        self.drop('01-long.json', lambda p: os.symlink(long_target, p))
        self.assert_rejected('01-long.json', f"dangling symlink to '{long_target}'", extra_invalid=2)
        objects = self.bus.get_object(BUS_NAME, MANAGER_PATH).GetManagedObjects(
            dbus_interface='org.freedesktop.DBus.ObjectManager')
        self.assertIn(firmware_path('00-latin1.json'), objects)
        # and the next change is announced as ever
        self.drop('02-next.json', lambda p: self.write_descriptor(p, flash('CODE.fd', 'VARS.fd')))

    def test_file_name_cannot_forge_log_lines(self):
        """A file name may hold a newline: logged as it is, it would start a line with a priority of its own."""
        name = '59-x\n<0>forged.json'
        self.drop(name, lambda p: self.write_descriptor(p, {'interface-types': ['uefi']}))
        self.assertFalse(self.prop('Valid', firmware_path(name), FIRMWARE_IFACE))
        with open(self.log_path, errors='replace') as f:
            log = f.read()
        self.assertIn('59-x\\x0a<0>forged.json: ', log)
        self.assertEqual([line for line in log.splitlines() if line.startswith('<0>')], [])

    def test_symlink_loop(self):
        self.drop('57-loop.json', lambda p: os.symlink('57-loop.json', p))
        self.assert_rejected('57-loop.json', 'cannot access: Too many levels of symbolic links')
        # and a longer one through another directory
        os.symlink(f'/{USR}/58-loop-b.json', self.path(f'{ETC}/.58-loop-a.json'))
        self.drop('58-loop-b.json', lambda p: os.symlink(f'/{ETC}/.58-loop-a.json', p))
        self.assert_rejected('58-loop-b.json', 'cannot access: Too many levels of symbolic links', extra_invalid=2)

    def test_unicode_name_with_spaces(self):
        name = '50-ovmf ünïcode x.json'
        d = flash('CODE.fd', 'VARS.fd', description='ünïcode firmware ✓')
        self.drop(name, lambda p: self.write_descriptor(p, d))
        self.assert_serving()
        path = firmware_path(name)
        self.assertEqual(path, FIRMWARE_PREFIX + '/_350_2dovmf_20_c3_bcn_c3_afcode_20x_2ejson')
        self.assertIn(('InterfacesAdded', MANAGER_PATH), [(m, p) for m, p, _ in self.signals])
        self.assertIn(path, [str(a[0]) for m, _, a in self.signals if m == 'InterfacesAdded'])
        names = [d['name'] for _, d in self.list()[1]]
        self.assertEqual(names, VALID_NAMES[:1] + [name] + VALID_NAMES[1:])
        self.assertEqual(self.prop('Count'), len(VALID_NAMES) + 1)
        by_name = json.loads(self.manager.Describe(name))
        self.assertEqual(by_name['description'], 'ünïcode firmware ✓')
        self.assertEqual(by_name['path'], self.path(f'{USR}/{name}'))
        self.assertEqual(json.loads(self.manager.Describe(path)), by_name)
        self.assertEqual(self.prop('Name', path, FIRMWARE_IFACE), name)
        self.assertEqual(self.prop('Description', path, FIRMWARE_IFACE), 'ünïcode firmware ✓')
        self.assertEqual(self.prop('Path', path, FIRMWARE_IFACE), self.path(f'{USR}/{name}'))
        self.assertTrue(self.prop('Valid', path, FIRMWARE_IFACE))
        self.assertEqual(self.prop('Rank', path, FIRMWARE_IFACE), 1)
        all_props = self.bus.get_object(BUS_NAME, path).GetAll(FIRMWARE_IFACE, dbus_interface=dbus.PROPERTIES_IFACE)
        self.assertEqual(all_props['Name'], name)
        objects = self.bus.get_object(BUS_NAME, MANAGER_PATH).GetManagedObjects(
            dbus_interface='org.freedesktop.DBus.ObjectManager')
        self.assertEqual(objects[path][FIRMWARE_IFACE]['Name'], name)
        got, result = self.resolve(architecture='x86_64', exclude=dbus.Array([EXPECTED], signature='s'))
        self.assertEqual((str(got), str(result['name'])), (path, name))
        # and it goes away again by its name
        generation = int(self.prop('Generation'))
        os.unlink(self.path(f'{USR}/{name}'))
        self.assertEqual(self.wait_for_change(generation + 1), [[], [name], []])

    def test_file_name_not_utf8(self):
        """File names are bytes; D-Bus strings are UTF-8. A name that is not UTF-8 (a Latin-1 name, say) must
        not break List or Explain for everybody: such a file is reported (or skipped), and the rest is served."""
        raw = os.fsencode(self.path(USR)) + b'/55-caf\xe9.json'
        generation = int(self.prop('Generation'))
        with open(raw + b'.tmp', 'w') as f:
            json.dump(flash('AA_CODE.fd', 'AA_VARS.fd', arch='aarch64', machines=('virt-*',)), f)
        os.rename(raw + b'.tmp', raw)
        # it is skipped with a warning: a marker after it tells when the daemon has looked
        marker = self.path(f'{USR}/52-marker.json')
        self.write_descriptor(marker + '.tmp', flash('CODE.fd', 'VARS.fd'))
        os.rename(marker + '.tmp', marker)
        self.assertEqual(self.wait_for_change(generation + 1), [['52-marker.json'], [], []])
        self.assert_serving()
        self.assertEqual([d['name'] for _, d in self.list()[1]], sorted(VALID_NAMES + ['52-marker.json']))
        self.list(**{'include-invalid': True})
        self.explain(architecture='x86_64')
        self.assertEqual(self.resolve(architecture='aarch64')[1]['name'], '60-aarch64.json')
        with open(self.log_path, errors='replace') as f:
            self.assertIn("file name '55-caf\\xe9.json' is not valid UTF-8, skipping", f.read())

    def test_file_name_not_utf8_reported_once_over_rescans(self):
        """A rescan of more than one step (1,024 names) must not forget, in its first step, what its last step
        will say again about a name that is not UTF-8: the warning would come back with every rescan (every
        poll, for a directory that cannot be watched)."""
        raw = os.fsencode(self.path(USR)) + b'/99-caf\xe9.json'
        with open(raw, 'w') as f:
            f.write('{}')
        content = json.dumps(flash('CODE.fd', 'VARS.fd', arch='riscv64', machines=('virt',)))
        for i in range(1100):
            with open(self.path(f'{USR}/95-many-{i:04d}.json'), 'w') as f:
                f.write(content)
        wait_until(lambda: int(self.prop('Count')) >= len(VALID_NAMES) + 1100, what='the files to be taken')

        def log():
            with open(self.log_path, errors='replace') as f:
                return f.read()
        for n in (1, 2):
            self.daemon.send_signal(signal.SIGHUP)
            wait_until(lambda: log().count('Full rescan (SIGHUP) done in 2 steps.') == n, what=f'rescan {n}')
        self.assertEqual(log().count("file name '99-caf\\xe9.json' is not valid UTF-8, skipping"), 1)


class TestUnreadableFile(FileTestCase):
    """The daemon runs as 'nobody' here, as the real one runs as its own user: then chmod 000 means something."""

    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest('needs root to run the daemon as another user')
        super().setUp()

    def start_daemon(self, *extra):
        # the tree (and the directories above it) must be readable by nobody
        os.chmod(self.tmp, 0o755)
        for top, dirs, files in os.walk(self.root):
            os.chmod(top, 0o755)
            for f in files:
                os.chmod(os.path.join(top, f), 0o644)
        self.log_path = os.path.join(self.root, 'daemon.log')
        self.log = open(self.log_path, 'a')
        env = dict(os.environ, FWREGISTRYD_LOG_LEVEL='debug', HOME='/')
        debounce = [f'--debounce={50 * SLOW}'] if WRAPPER else []
        self.daemon = subprocess.Popen([*as_nobody(), *WRAPPER, DAEMON, '--system', '--root', self.root,
                                        *debounce, *self.daemon_args, *extra],
                                       stdout=self.log, stderr=subprocess.STDOUT, env=env)
        wait_until(lambda: self.daemon.poll() is not None or self.bus.name_has_owner(BUS_NAME),
                   what='fwregistryd to take its name')
        self.assertIsNone(self.daemon.poll(), 'fwregistryd exited during start-up')
        self.manager = dbus.Interface(self.bus.get_object(BUS_NAME, MANAGER_PATH), MANAGER_IFACE)

    def test_runs_as_nobody(self):
        with open(f'/proc/{self.daemon.pid}/status') as f:
            uids = [line.split()[1:] for line in f if line.startswith('Uid:')][0]
        self.assertEqual(set(uids), {str(NOBODY.pw_uid)})
        self.assert_serving()

    def test_unreadable_file(self):
        def make(p):
            self.write_descriptor(p, flash('CODE.fd', 'VARS.fd'))
            os.chmod(p, 0)
        path = self.drop('58-unreadable.json', make)
        self.assert_rejected('58-unreadable.json', 'cannot open: Permission denied')
        # made readable: it becomes valid, no Reload needed
        generation = int(self.prop('Generation'))
        os.chmod(path, 0o644)
        self.assertEqual(self.wait_for_change(generation + 1), [[], [], ['58-unreadable.json']])
        self.assertTrue(self.prop('Valid', firmware_path('58-unreadable.json'), FIRMWARE_IFACE))
        self.assert_serving()

    def test_unreadable_image(self):
        generation = int(self.prop('Generation'))
        os.chmod(self.path('fw/CODE.secboot.fd'), 0)
        _, _, modified = self.wait_for_change(generation + 1)
        self.assertEqual(modified, ['40-x86-enrolled.json', '50-x86-secure.json'])
        self.assertFalse(self.prop('FilesOk', firmware_path(EXPECTED), FIRMWARE_IFACE))
        self.assertEqual(self.resolve(architecture='x86_64')[1]['name'], '60-x86.json')


# under valgrind every file costs some 20 times as much: a tenth of them still shows the same
MANY_FILES = 2_000 if WRAPPER else 20_000


class TestManyFiles(HostileTestCase):
    def test_many_files_in_one_directory(self):
        d = flash('CODE.fd', 'VARS.fd', machines=('pc-i440fx-*',))
        text = json.dumps(d)
        directory = os.path.join(self.root, USR)
        # named to sort after every standard descriptor, so ranks and the first match stay as they were
        for i in range(MANY_FILES):
            with open(os.path.join(directory, f'z-{i:05d}.json'), 'w') as f:
                f.write(text)
        wait_until(lambda: self.prop('Count') == len(VALID_NAMES) + MANY_FILES, timeout=60,
                   what=f'Count to reach {len(VALID_NAMES) + MANY_FILES}')
        self.assert_serving()
        self.assertEqual(self.prop('InvalidCount'), 1)
        _, items = self.list(architecture='aarch64')
        self.assertEqual([d['name'] for _, d in items], ['60-aarch64.json'])
        # a request that no descriptor matches looks at all of them, and still answers
        self.assert_dbus_error(ERROR_NO_MATCH, self.manager.Resolve,
                               self.request(architecture='x86_64', machine='pc-i440fx-9.2',
                                            features=dbus.Dictionary({'secure-boot': True}, signature='sb')),
                               timeout=30 * SLOW)
        path, result = self.manager.Resolve(self.request(architecture='x86_64', machine='pc-i440fx-9.2'))
        self.assertEqual(str(result['name']), '60-x86.json')
        self.assertEqual(str(self.manager.Resolve(self.request(
            architecture='x86_64', machine='pc-i440fx-9.2',
            exclude=dbus.Array(['60-x86.json'], signature='s')))[1]['name']), 'z-00000.json')


class TestHostileCallers(HostileTestCase):
    def tearDown(self):
        # whatever the caller did, the daemon is still there and serving
        try:
            self.assert_serving()
        finally:
            super().tearDown()

    def call(self, method, signature, args, **kwargs):
        return self.bus.call_blocking(BUS_NAME, MANAGER_PATH, MANAGER_IFACE, method, signature, args, **kwargs)

    def test_wrong_signatures(self):
        methods = {'Resolve': 'a{sv}', 'List': 'a{sv}', 'Explain': 'a{sv}', 'Describe': 's'}
        wrong = [
            ('', []),
            ('s', ['x86_64']),
            ('u', [3]),
            ('a{ss}', [{'architecture': 'x86_64'}]),
            ('a{sv}a{sv}', [{'architecture': dbus.String('x86_64', variant_level=1)}, {}]),
            ('as', [['x86_64']]),
            ('ss', ['40-x86-enrolled.json', 'x']),
            ('v', [dbus.String('x86_64', variant_level=1)]),
            ('(sv)', [('architecture', dbus.String('x86_64', variant_level=1))]),
            ('ay', [dbus.ByteArray(b'x86_64')]),
        ]
        for method, expected in methods.items():
            for signature, args in wrong:
                if signature == expected:
                    continue
                with self.subTest(method=method, signature=signature):
                    message = self.assert_dbus_error(INVALID_ARGS, self.call, method, signature, args)
                    self.assertIn(f"expecting '{expected}'", message)
        self.assertEqual(str(self.call('Describe', 's', [EXPECTED]))[0], '{')

    def test_every_key_with_a_wrong_type(self):
        keys = request_keys()
        wrong = {
            's': [dbus.UInt32(7), dbus.Array(['x86_64'], signature='s')],
            'b': [dbus.String('true'), dbus.Int32(1)],
            'u': [dbus.Int32(10), dbus.UInt64(10), dbus.String('10')],
            'as': [dbus.String('raw'), dbus.Dictionary({'raw': True}, signature='sb')],
            'a{sb}': [dbus.Dictionary({'secure-boot': 'yes'}, signature='ss'), dbus.Array(['secure-boot'],
                                                                                           signature='s')],
            'h': [dbus.String('/etc/passwd'), dbus.Int32(0)],      # a path or a number is not a descriptor
        }
        checked = 0
        for key, signature in keys:
            values = wrong[signature] + [dbus.Boolean(True, variant_level=2)]       # a variant in the variant
            for value in values:
                got = dbus.Dictionary({key: value}, signature='sv')
                list_only = key.startswith('include-') or key in ('offset', 'limit')
                methods = ['List'] if list_only else ['Resolve', 'Explain', 'List']
                for method in methods:
                    with self.subTest(key=key, method=method, value=repr(value)):
                        message = self.assert_dbus_error(INVALID_ARGS, getattr(self.manager, method), got)
                        self.assertRegex(message, rf"^Key '{re.escape(key)}' takes a value of type "
                                                  rf"'{re.escape(signature)}', got '[^']+'$")
                        self.assertNotIn(f"got '{signature}'", message)
                        checked += 1
        self.assertGreaterEqual(checked, 15 * 3)

    def test_huge_arrays_and_dicts(self):
        big = {
            'exclude': dbus.Array([f'name-{i}.json' for i in range(100_000)], signature='s'),
            'formats': dbus.Array(['raw'] * 100_000, signature='s'),
            'features': dbus.Dictionary({f'feature-{i}': bool(i & 1) for i in range(100_000)}, signature='sb'),
        }
        for key, value in big.items():
            for method in ('Resolve', 'Explain', 'List'):
                with self.subTest(key=key, method=method):
                    self.assert_dbus_error(INVALID_ARGS, getattr(self.manager, method),
                                           self.request(architecture='x86_64', **{key: value}),
                                           contains=f"Key '{key}' has more than 1024 elements")
        # exactly at the limit is fine
        at_limit = dbus.Array([f'name-{i}.json' for i in range(1023)] + [EXPECTED], signature='s')
        self.assertEqual(str(self.manager.Resolve(self.request(architecture='x86_64', exclude=at_limit))[1]['name']),
                         '50-x86-secure.json')

    def test_huge_strings(self):
        huge = 'x' * MIB
        for key, signature in request_keys():
            if signature != 's':
                continue
            value = '/' + huge if key in ('executable', 'nvram-template') else huge
            for method in ('Resolve', 'Explain', 'List'):
                with self.subTest(key=key, method=method):
                    request = {'architecture': 'x86_64', key: value}
                    self.assert_dbus_error(INVALID_ARGS, getattr(self.manager, method), self.request(**request),
                                           contains=f"Key '{key}' is longer than 4096 bytes")
        self.assert_dbus_error(INVALID_ARGS, self.resolve, architecture='x86_64',
                               exclude=dbus.Array([huge], signature='s'),
                               contains="Key 'exclude' has an empty or overlong element")
        self.assert_dbus_error(INVALID_ARGS, self.resolve, architecture='x86_64',
                               features=dbus.Dictionary({huge: True}, signature='sb'),
                               contains="Key 'features' has an empty or overlong feature name")
        self.assert_dbus_error(INVALID_ARGS, self.manager.Resolve, self.request(**{huge: 'x86_64'}),
                               contains='Unknown key')
        # the limit is 4096: a machine of exactly that length is a request like any other
        self.assert_dbus_error(ERROR_NO_MATCH, self.resolve, architecture='x86_64', machine='q' * 4096)
        self.assert_dbus_error(INVALID_ARGS, self.resolve, architecture='x86_64', machine='q' * 4097,
                               contains="Key 'machine' is longer than 4096 bytes")
        # a 1 MiB name or path to Describe: not found (or refused), not a crash
        for name in (huge, FIRMWARE_PREFIX + '/' + huge, '/a' * (MIB // 2)):
            with self.subTest(describe=name[:40]):
                with self.assertRaises(dbus.exceptions.DBusException) as cm:
                    self.manager.Describe(name)
                self.assertIn(cm.exception.get_dbus_name(), (ERROR_NO_SUCH_FIRMWARE, INVALID_ARGS),
                              cm.exception.get_dbus_message()[:200])

    def test_describe_bad_names(self):
        # below the firmware prefix a name is an object path, and must be a valid one
        invalid = [FIRMWARE_PREFIX + p for p in ('/', '/not//valid', '/trailing/', '/dash-ed', '/dot.ted', '/ü',
                                                 '/with space', '/nul\x01')]
        for name in invalid:
            with self.subTest(name=name):
                self.assert_dbus_error(INVALID_ARGS, self.manager.Describe, name,
                                       contains=f"Invalid object path '{name}'")
        # anywhere else a name starting with '/' is a descriptor file's path
        for name in ['/not//valid', '/trailing/', '/dash-ed', '/dot.ted', '//', '/ü', '/with space', '/nul\x01']:
            with self.subTest(name=name):
                self.assert_dbus_error(ERROR_NO_SUCH_FIRMWARE, self.manager.Describe, name,
                                       contains='No firmware descriptor file')
        not_found = ['/', MANAGER_PATH, FIRMWARE_PREFIX, FIRMWARE_PREFIX + '/_zz', FIRMWARE_PREFIX + '/_00',
                     FIRMWARE_PREFIX + '/_', FIRMWARE_PREFIX + '/_2e_2e_2f_2e_2e_2fetc_2fpasswd',
                     firmware_path(EXPECTED) + '/child', '../../../etc/passwd', 'usr/share/qemu/firmware/' + EXPECTED,
                     f'../{EXPECTED}', '%s%n%s%n.json', '.', '..', '\n', EXPECTED + ' ',
                     '70-masked.json/']
        for name in not_found:
            with self.subTest(name=name):
                self.assert_dbus_error(ERROR_NO_SUCH_FIRMWARE, self.manager.Describe, name)
        self.assert_dbus_error(INVALID_ARGS, self.manager.Describe, '')
        # Firmware objects at such paths do not exist either
        for path in (FIRMWARE_PREFIX + '/_zz', firmware_path(EXPECTED) + '/child', FIRMWARE_PREFIX + '/_00'):
            with self.subTest(get=path):
                obj = self.bus.get_object(BUS_NAME, path, introspect=False)
                with self.assertRaises(dbus.exceptions.DBusException) as cm:
                    obj.Get(FIRMWARE_IFACE, 'Name', dbus_interface=dbus.PROPERTIES_IFACE)
                self.assertEqual(cm.exception.get_dbus_name(), 'org.freedesktop.DBus.Error.UnknownObject')

    def test_concurrent_clients(self):
        n = 200
        connections = [dbus.bus.BusConnection(self.bus_address) for _ in range(n)]
        replies, errors = [], []
        try:
            for c in connections:
                proxy = c.get_object(BUS_NAME, MANAGER_PATH, introspect=False)
                proxy.Resolve(self.request(architecture='x86_64', machine='q35'), dbus_interface=MANAGER_IFACE,
                              reply_handler=lambda path, result: replies.append(str(result['name'])),
                              error_handler=errors.append, timeout=60 * SLOW)
            wait_until(lambda: len(replies) + len(errors) == n, timeout=30,
                       what=f'{n} replies (have {len(replies)} and {len(errors)} errors)')
        finally:
            for c in connections:
                c.close()
        self.assertEqual(errors, [])
        self.assertEqual(replies, [EXPECTED] * n)

    def test_client_disconnects_mid_call(self):
        self.polkitd_obj.SetAllowed(dbus.Array([RELOAD_ACTION], signature='s'))
        self.polkitd_obj.SimulateHang(True)
        try:
            for _ in range(3):
                client = subprocess.Popen([*as_nobody(), *self.ctl_argv('reload')], stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL, env=self.ctl_env())
                try:
                    wait_until(lambda: self.polkitd_obj.HaveHangingCalls(), what='the Reload to reach polkit')
                finally:
                    client.kill()
                    client.wait()
                self.polkitd_obj.ReleaseHangingCalls()
                # the answer now goes to nobody: the daemon shrugs and serves on
                self.assert_serving()
            # and the next caller is answered as ever
            self.polkitd_obj.SimulateHang(False)
            p = self.ctl('reload', user=NOBODY.pw_uid)
            self.assertEqual(p.stderr, '')
        finally:
            self.polkitd_obj.SimulateHang(False)
            self.polkitd_obj.ReleaseHangingCalls()
            self.polkitd_obj.SetAllowed(dbus.Array([], signature='s'))

    def restart_unperturbed(self):
        """meson test sets MALLOC_PERTURB_, and with it a leak of every NoMatch text (20,000 calls, a tenth of
        them NoMatch) grew VmRSS by 12 KiB instead of 936 KiB: glibc then fills every block it hands out or
        takes back, and the figures no longer tell. The memory tests judge a daemon started without it."""
        self.stop_daemon()
        self.start_daemon(unperturbed=True)

    def test_memory_returns_to_baseline(self):
        self.restart_unperturbed()
        ok = None
        no_match, no_such = ERROR_NO_MATCH, ERROR_NO_SUCH_FIRMWARE
        calls = [
            (ok, lambda: self.resolve(architecture='x86_64', machine='q35')),
            (ok, lambda: self.resolve(architecture='x86_64',
                                      features=dbus.Dictionary({'secure-boot': False, 'x-new': False}, signature='sb'),
                                      exclude=dbus.Array(['60-x86.json'], signature='s'),
                                      formats=dbus.Array(['raw'], signature='s'))),
            (ok, lambda: self.list()),
            (ok, lambda: self.list(**{'include-invalid': True, 'include-masked': True, 'include-shadowed': True})),
            (ok, lambda: self.explain(architecture='x86_64', machine='pc-q35-9.2')),
            (ok, lambda: self.manager.Describe('75-shadowed.json')),
            (ok, lambda: self.manager.Describe(firmware_path('90-invalid.json'))),
            (ok, lambda: self.prop('Features')),
            (ok, lambda: self.prop('Problems', firmware_path('90-invalid.json'), FIRMWARE_IFACE)),
            (no_match, lambda: self.resolve(architecture='riscv64')),
            (no_match, lambda: self.resolve(architecture='x86_64', machine='pc',
                                            features=dbus.Dictionary({'secure-boot': True}, signature='sb'))),
            (no_such, lambda: self.manager.Describe('nope.json')),
            (INVALID_ARGS, lambda: self.manager.Describe(FIRMWARE_PREFIX + '/not//valid')),
            (no_such, lambda: self.manager.Describe('/not//valid')),
            (INVALID_ARGS, lambda: self.resolve(architecture='x86_64', bogus='x')),
            (INVALID_ARGS, lambda: self.resolve(architecture=dbus.UInt32(1))),
            (INVALID_ARGS, lambda: self.resolve(architecture='x86_64',
                                                exclude=dbus.Array(['a'] * 1025, signature='s'))),
            (INVALID_ARGS, lambda: self.resolve(architecture='x86_64', machine='m' * 5000)),
            (INVALID_ARGS, lambda: self.call('Resolve', 's', ['x86_64'])),
        ]

        def run(n):
            """Makes n calls; returns how many failed by design, and any outcome that was not the expected one."""
            errors, wrong = 0, []
            for i in range(n):
                expected, fn = calls[i % len(calls)]
                try:
                    fn()
                    got = ok
                except dbus.exceptions.DBusException as e:
                    got = e.get_dbus_name()
                    errors += 1
                if got != expected:
                    wrong.append((i % len(calls), expected, got))
            return errors, wrong

        # under valgrind, RSS is valgrind's (and freed blocks are held back on purpose): the figures are printed
        # but not judged, and a tenth of the calls shows whether anything leaks at exit
        warmup, n = (200, 2_000) if WRAPPER else (2_000, 20_000)
        self.assertEqual(run(warmup)[1], [])
        before = rss_kib(self.daemon.pid)
        start = time.monotonic()
        errors, wrong = run(n)
        elapsed = time.monotonic() - start
        after = rss_kib(self.daemon.pid)
        print(f'\n  {n} calls ({errors} errors by design) in {elapsed:.1f} s: VmRSS {before} KiB before, '
              f'{after} KiB after, {after - before:+d} KiB', end=' ', flush=True)
        self.assertEqual(wrong[:10], [])
        # an ASan build holds freed memory in quarantine on purpose: there, too, RSS says nothing about leaks
        # (LeakSanitizer at exit does). After the warm-up nothing should grow at all: 64 KiB over 20,000 calls
        # (a few pages of allocator slack) lets through no leak of 4 bytes a call, nor one of 60 bytes in
        # one of the 18 kinds of call, reachable or not
        if not WRAPPER and not SANITIZED:
            self.assertLess(after - before, 64, 'the daemon grew by 64 KiB or more over repeated calls')

    def test_memory_flat_over_updates(self):
        """Incremental updates must not accumulate anything either (directory problems once did, one more
        string an update: reachable, so no leak checker saw it). /etc/qemu/firmware is a file here, a
        directory problem that every update looks at again."""
        self.stop_daemon()
        shutil.rmtree(os.path.join(self.root, ETC))
        with open(os.path.join(self.root, ETC), 'w') as f:
            f.write('not a directory')
        self.start_daemon('--debounce=0', unperturbed=True)
        self.record_signals()
        path = os.path.join(self.root, USR, '95-churn.json')

        def churn(n):
            generation = int(self.prop('Generation'))
            for i in range(n):
                with open(path + '.tmp', 'w') as f:
                    json.dump(flash('CODE.fd', 'VARS.fd', description=f'churn {i % 2}'), f)
                os.rename(path + '.tmp', path)
                generation += 1
                self.wait_for_change(generation)
                self.signals.clear()

        n = 100 if WRAPPER else 1_000
        churn(n // 5)
        before = rss_kib(self.daemon.pid)
        churn(n)
        after = rss_kib(self.daemon.pid)
        print(f'\n  {n} updates: VmRSS {before} KiB before, {after} KiB after, {after - before:+d} KiB', end=' ',
              flush=True)
        if not WRAPPER and not SANITIZED:
            self.assertLess(after - before, 64, 'the daemon grew by 64 KiB or more over repeated updates')


if __name__ == '__main__':
    unittest.main(verbosity=2)
