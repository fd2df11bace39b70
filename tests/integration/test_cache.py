#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The cache file across restarts: a second start reuses image facts and QEMU's answers; a planted entry with a
wrong digest is not believed for a file whose identity changed (a rewrite with the old mtime put back
included); a truncated, corrupt, other-version, huge, symlinked, FIFO, foreign or malformed cache file costs
one log line and is replaced; a cache directory that is read-only or full leaves the daemon serving.

The format is written and read here independently of the daemon's code (docs: util/cache-file.h,
catalogue/facts-cache.h): a header of magic, version, payload length and CRC-64, then records."""

import hashlib
import os
import shutil
import stat
import struct
import subprocess
import tempfile
import time
import unittest

import dbus

from fwtest import (BUS_NAME, DAEMON, MANAGER_IFACE, MANAGER_PATH, SLOW, USR, DaemonTestCase, flash,
                    write_tree)

MAGIC = b'FWRCACHE'
VERSION = 1
NAME = 'facts.cache'
RECORD_PRODUCER, RECORD_IMAGE, RECORD_QEMU = 1, 2, 3
SETTLE = 2.1        # facts learned within 2 s of a file's last change are not kept (FILE_ID_SETTLE_NSEC)

TREE = {
    f'{USR}/50-x86.json': flash('CODE.fd', 'VARS.fd'),
    f'{USR}/60-aarch64.json': flash('AA_CODE.fd', 'AA_VARS.fd', arch='aarch64', machines=('virt-*',)),
}
CONTENT = {'CODE.fd': b'x86 code', 'VARS.fd': b'x86 vars', 'AA_CODE.fd': b'arm code', 'AA_VARS.fd': b'arm vars'}

# each run leaves an empty file (the probe's sandbox allows no file to grow: RLIMIT_FSIZE 0)
QEMU_STUB = '''#!/bin/sh
: >"$(dirname "$0")/ran.$$"
case "$1" in
-version) echo "QEMU emulator version 7.2.22"; exit 0 ;;
-machine) printf 'Supported machines are:\\nq35  Standard PC (alias of pc-q35-7.2)\\npc-q35-7.2  Standard PC\\n' ;;
esac
'''


def producer():
    return subprocess.check_output([DAEMON, '--version'], text=True).split()[1]


def crc64(data):
    """CRC-64 as XZ computes it: ECMA-182 polynomial, reflected, all ones in and out."""
    crc = (1 << 64) - 1
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0xc96c5795d7870f42 if crc & 1 else 0)
    return crc ^ ((1 << 64) - 1)


assert crc64(b'123456789') == 0x995dc9bbdf1939fa


def pack(payload, version=VERSION):
    header = MAGIC + struct.pack('<IIQQ', version, 0, len(payload), 0)
    return header + struct.pack('<Q', crc64(header + payload)) + bytes(24) + payload


def unpack(data):
    """The payload of a cache file, checked as the daemon checks it."""
    assert data[:8] == MAGIC, data[:8]
    version, zero, size, zero2 = struct.unpack('<IIQQ', data[8:32])
    assert (version, zero, zero2) == (VERSION, 0, 0) and size == len(data) - 64
    assert struct.unpack('<Q', data[32:40])[0] == crc64(data[:32] + data[64:]) and data[40:64] == bytes(24)
    return data[64:]


def records(payload):
    while payload:
        kind, n = struct.unpack('<BI', payload[:5])
        yield kind, payload[5:5 + n]
        payload = payload[5 + n:]


def record(kind, body):
    return struct.pack('<BI', kind, len(body)) + body


def string(s):
    return struct.pack('<H', len(s.encode())) + s.encode()


def image_record(st, digest, size=None):
    """Facts for the identity st (an os.stat_result), claiming digest (hex): an unknown varstore layout, so no
    Secure Boot state and no certificates."""
    size = st.st_size if size is None else size
    return record(RECORD_IMAGE, struct.pack('<QQQqqQB', st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns,
                                            st.st_ctime_ns, size, 1) + bytes.fromhex(digest) +
                  struct.pack('<BQQBH', 0, size, 0, 0, 0))


def image_identities(payload):
    """(dev, ino, size, mtime, ctime) of every image record."""
    return {struct.unpack('<QQQqq', body[:40]) for kind, body in records(payload) if kind == RECORD_IMAGE}


def sha(data):
    return hashlib.sha256(data).hexdigest()


class CacheTestCase(DaemonTestCase):
    tree = TREE

    def setUp(self):
        self.root = tempfile.mkdtemp(prefix='root-', dir=self.tmp)
        write_tree(self.root, self.tree, images=[])
        for name, data in CONTENT.items():
            self.write_image(name, data)
        self.cache_dir = os.path.join(self.root, 'cache')
        self.cache = os.path.join(self.cache_dir, NAME)
        self.daemon = None
        self.bus = dbus.bus.BusConnection(self.bus_address)

    def tearDown(self):
        if self.daemon:
            self.stop_daemon()
        self.bus.close()

    def write_image(self, name, data):
        os.makedirs(os.path.join(self.root, 'fw'), exist_ok=True)
        with open(os.path.join(self.root, 'fw', name), 'wb') as f:
            f.write(data)

    def image(self, name):
        return os.path.join(self.root, 'fw', name)

    def start(self, *extra, prefix=()):
        self.start_daemon(f'--cache-dir={self.cache_dir}', *extra, prefix=prefix)

    def restart(self, *extra, prefix=()):
        self.stop_daemon()
        self.daemon = None
        self.start(*extra, prefix=prefix)

    def log_text(self):
        with open(self.log_path, errors='replace') as f:
            return f.read()

    def reused_line(self):
        """The debug line of the last start that says what came from the cache (each start appends)."""
        return [l for l in self.log_text().splitlines() if l.startswith('Reused ')][-1]

    def served_digests(self):
        _, x86 = self.resolve(architecture='x86_64')
        _, arm = self.resolve(architecture='aarch64')
        return {'CODE.fd': str(x86['executable-sha256']), 'VARS.fd': str(x86['nvram-template-sha256']),
                'AA_CODE.fd': str(arm['executable-sha256']), 'AA_VARS.fd': str(arm['nvram-template-sha256'])}

    def true_digests(self):
        result = {}
        for name in CONTENT:
            with open(self.image(name), 'rb') as f:
                result[name] = sha(f.read())
        return result

    def plant(self, payload, version=VERSION, mode=0o644):
        os.makedirs(self.cache_dir, exist_ok=True)
        with open(self.cache, 'wb') as f:
            f.write(pack(payload, version))
        os.chmod(self.cache, mode)

    def cache_lines(self):
        """The daemon's lines about its cache file, but for the debug ones every start has."""
        return [l for l in self.log_text().splitlines() if "Cache file '" in l or 'cache directory' in l or
                'write cache file' in l]


class TestReuse(CacheTestCase):
    def test_second_start_reuses_facts_and_qemu_answers(self):
        qemu = tempfile.mkdtemp(prefix='qemu-', dir=self.tmp)
        with open(os.path.join(qemu, 'qemu-system-x86_64'), 'w') as f:
            f.write(QEMU_STUB)
        os.chmod(os.path.join(qemu, 'qemu-system-x86_64'), 0o755)

        def runs():
            return len([n for n in os.listdir(qemu) if n.startswith('ran.')])
        time.sleep(SETTLE)      # older than the timestamp granularity: worth keeping across restarts
        args = (f'--qemu-dirs={qemu}',)

        self.start(*args)
        first = self.served_digests()
        self.assertEqual(first, self.true_digests())
        self.assertIn('Reused 0 of 0 image facts and 0 of 0 QEMU answers', self.reused_line())
        self.assertIn('4 images hashed, 1 QEMU binaries asked', self.reused_line())
        self.assertIn('pc-q35-7.2', str(self.prop('MachineAliases')))
        self.restart(*args)
        self.assertIn('Reused 4 of 4 image facts and 1 of 1 QEMU answers', self.reused_line())
        self.assertIn('0 images hashed, 0 QEMU binaries asked', self.reused_line())
        self.assertEqual(self.served_digests(), first)
        self.assertIn('pc-q35-7.2', str(self.prop('MachineAliases')))
        self.assertEqual(runs(), 2, 'QEMU ran again: -version and -machine help once only')
        st = os.stat(self.cache)
        self.assertTrue(stat.S_ISREG(st.st_mode) and st.st_uid == os.geteuid() and not st.st_mode & 0o022)
        with open(self.cache, 'rb') as f:
            payload = unpack(f.read())
        self.assertEqual(len(image_identities(payload)), 4)

        # a rewrite in place: that image alone is hashed again, and its new digest served
        self.write_image('VARS.fd', b'x86 vars, rewritten')
        self.restart(*args)
        self.assertIn('Reused 3 of 4 image facts', self.reused_line())
        self.assertIn('1 images hashed', self.reused_line())
        self.assertEqual(self.served_digests(), self.true_digests())
        self.assertEqual(self.cache_lines(), [])


class TestDebianTemplates(CacheTestCase):
    """The host's own descriptors and templates: every key a result has (digests, layouts, the templates'
    Secure Boot state and certificates) is the same from the cache as computed afresh."""

    DESCRIPTORS = '/usr/share/qemu/firmware'

    def results(self):
        _, items = self.list()
        return {str(d['name']): {k: v for k, v in d.items() if k != 'generation'} for _, d in items}

    @unittest.skipUnless(os.path.isdir('/usr/share/qemu/firmware'), 'no firmware packages installed')
    def test_keys_from_the_cache_are_the_computed_ones(self):
        self.daemon_args = [f'--search-path={self.DESCRIPTORS}', '--qemu-dirs=']
        self.start_no_root()
        fresh = self.results()
        self.assertIn('images hashed', self.reused_line())
        self.restart_no_root()
        self.assertRegex(self.reused_line(), r'Reused (\d+) of \1 image facts')
        self.assertIn(' 0 images hashed', self.reused_line())
        cached = self.results()
        self.assertEqual(cached, fresh)
        keys = [str(c) for d in cached.values() for c in d.get('nvram-template-certificates', [])]
        if 'OVMF_VARS_4M.ms.fd' in str(cached):
            self.assertIn('KEK:microsoft-kek-2011', keys)

    def start_no_root(self):
        self.log_path = os.path.join(self.root, 'daemon.log')
        self.log = open(self.log_path, 'a')
        self.daemon = subprocess.Popen([DAEMON, '--system', f'--cache-dir={self.cache_dir}', *self.daemon_args],
                                       stdout=self.log, stderr=subprocess.STDOUT,
                                       env=dict(os.environ, FWREGISTRYD_LOG_LEVEL='debug'))
        self.wait_for_name()

    def restart_no_root(self):
        self.stop_daemon()
        self.start_no_root()

    def wait_for_name(self):
        deadline = time.monotonic() + 30 * SLOW
        while not self.bus.name_has_owner(BUS_NAME):
            self.assertIsNone(self.daemon.poll(), 'fwregistryd exited')
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.01)
        self.manager = dbus.Interface(self.bus.get_object(BUS_NAME, MANAGER_PATH), MANAGER_IFACE)


class TestPlanted(CacheTestCase):
    def test_wrong_digest_for_a_file_whose_identity_changed_is_not_served(self):
        """What a stale cache file says about an image replaced since (by dpkg's rename, a new inode): the
        true digest is served, and the file is corrected."""
        wrong = sha(b'wrong')
        self.plant(record(RECORD_PRODUCER, string(producer())) +
                   b''.join(image_record(os.stat(self.image(n)), wrong if n == 'CODE.fd' else sha(data))
                            for n, data in CONTENT.items()))
        staged = self.image('CODE.fd') + '.dpkg-new'
        with open(staged, 'wb') as f:
            f.write(b'x86 code, upgraded')
        os.rename(staged, self.image('CODE.fd'))

        self.start()
        served = self.served_digests()
        self.assertEqual(served['CODE.fd'], sha(b'x86 code, upgraded'))
        self.assertEqual(served, self.true_digests())
        self.assertIn('Reused 3 of 4 image facts', self.reused_line())
        self.assertIn('1 images hashed', self.reused_line())
        self.assertEqual(self.cache_lines(), [])

    def test_rewrite_with_the_old_size_and_mtime_is_hashed_again(self):
        """A file rewritten in place, same size, its mtime put back: the ctime (which only the kernel sets)
        differs, so the entry for the old identity is not used."""
        path = self.image('VARS.fd')
        old = os.stat(path)
        self.plant(record(RECORD_PRODUCER, string(producer())) + image_record(old, sha(CONTENT['VARS.fd'])))
        time.sleep(0.05)    # past the kernel's timestamp tick
        with open(path, 'r+b') as f:
            f.write(b'X86 VARS')
        os.utime(path, ns=(old.st_atime_ns, old.st_mtime_ns))
        new = os.stat(path)
        self.assertEqual((new.st_dev, new.st_ino, new.st_size, new.st_mtime_ns),
                         (old.st_dev, old.st_ino, old.st_size, old.st_mtime_ns))
        self.assertNotEqual(new.st_ctime_ns, old.st_ctime_ns)

        self.start()
        self.assertEqual(self.served_digests()['VARS.fd'], sha(b'X86 VARS'))
        self.assertIn('Reused 0 of 1 image facts', self.reused_line())


class TestBadFiles(CacheTestCase):
    def good_payload(self):
        return record(RECORD_PRODUCER, string(producer())) + b''.join(
            image_record(os.stat(self.image(n)), sha(b'planted')) for n in CONTENT)

    def check_survived(self, what, expect):
        """One start on whatever is in place: the true digests, one line that says expect, and a good cache
        file (no longer whatever was planted) once the daemon has stopped."""
        self.start()
        self.assertEqual(self.served_digests(), self.true_digests(), what)
        lines = self.cache_lines()
        self.assertEqual(len(lines), 1, f'{what}: {lines}')
        self.assertIn(expect, lines[0], what)
        self.stop_daemon()
        self.daemon = None
        st = os.lstat(self.cache)
        self.assertTrue(stat.S_ISREG(st.st_mode) and st.st_uid == os.geteuid() and st.st_size < 4096, what)
        with open(self.cache, 'rb') as f:
            unpack(f.read())

    def test_truncated(self):
        self.plant(self.good_payload())
        with open(self.cache, 'r+b') as f:
            f.truncate(os.path.getsize(self.cache) - 7)
        self.check_survived('truncated', 'truncated')

    def test_truncated_to_nothing(self):
        self.plant(b'')
        open(self.cache, 'w').close()
        self.check_survived('empty', 'truncated')

    def test_wrong_checksum(self):
        self.plant(self.good_payload())
        with open(self.cache, 'r+b') as f:
            f.seek(100)
            byte = f.read(1)
            f.seek(100)
            f.write(bytes([byte[0] ^ 0x20]))
        self.check_survived('a flipped bit', 'checksum mismatch')

    def test_other_version(self):
        self.plant(self.good_payload(), version=VERSION + 1)
        self.check_survived('other version', f'format version {VERSION + 1}')

    def test_other_producer(self):
        self.plant(record(RECORD_PRODUCER, string('0.0-elsewhere')) + self.good_payload()[5 + 2 + len(producer()):])
        self.check_survived('other daemon version', 'written by fwregistryd 0.0-elsewhere')

    def test_malformed_record(self):
        self.plant(self.good_payload() + record(RECORD_IMAGE, b'\0' * 7))
        self.check_survived('malformed record', 'malformed records')

    def test_huge(self):
        os.makedirs(self.cache_dir)
        with open(self.cache, 'wb') as f:
            f.truncate(1 << 30)     # 1 GiB, sparse: refused by its size, never read
        start = time.monotonic()
        self.check_survived('1 GiB', 'more than 4194304')
        self.assertLess(time.monotonic() - start, 20 * SLOW)

    def test_symlink(self):
        elsewhere = os.path.join(self.root, 'elsewhere')
        with open(elsewhere, 'wb') as f:
            f.write(pack(self.good_payload()))
        os.makedirs(self.cache_dir)
        os.symlink(elsewhere, self.cache)
        self.check_survived('symlink', 'is a symbolic link')
        with open(elsewhere, 'rb') as f:
            self.assertEqual(f.read(), pack(self.good_payload()), 'the link was followed on write')

    def test_fifo(self):
        os.makedirs(self.cache_dir)
        os.mkfifo(self.cache)
        self.check_survived('FIFO', 'is a FIFO')

    def test_directory(self):
        os.makedirs(self.cache)
        self.start()
        self.assertEqual(self.served_digests(), self.true_digests())
        self.assertEqual(len(self.cache_lines()), 1, self.cache_lines())
        self.stop_daemon()
        self.daemon = None
        # it cannot be replaced by a rename: one more line when the write fails
        self.assertEqual(len(self.cache_lines()), 2, self.cache_lines())

    def test_owned_by_another_user(self):
        if os.geteuid() != 0:
            self.skipTest('needs root to give the file away')
        self.plant(self.good_payload())
        os.chown(self.cache, 65534, 65534)
        self.check_survived('another owner', 'owned by uid 65534')

    def test_writable_by_others(self):
        self.plant(self.good_payload(), mode=0o666)
        self.check_survived('mode 0666', 'writable by others')


@unittest.skipUnless(shutil.which('unshare') and os.geteuid() == 0, 'needs root and unshare for a mount')
class TestUnwritable(CacheTestCase):
    def check_serving(self, setup, what):
        os.makedirs(self.cache_dir)
        # a mount namespace of the daemon's own, with a small tmpfs over the cache directory
        script = f'mount -t tmpfs -o size=4k tmpfs "$0" && {setup} && exec "$@"'
        self.start(prefix=('unshare', '-m', 'sh', '-c', script, self.cache_dir))
        self.assertEqual(self.served_digests(), self.true_digests())
        # a change makes the daemon try again: still one line, and still serving the truth
        self.record_signals()
        self.write_image('CODE.fd', b'x86 code, rewritten')
        self.wait_for_change(1)
        time.sleep(1.5)         # past MANAGER_CACHE_WRITE_DELAY_USEC: the write after the change was tried
        self.assertEqual(self.served_digests(), self.true_digests())
        self.stop_daemon()
        self.daemon = None
        lines = self.cache_lines()
        self.assertEqual(len(lines), 1, lines)
        self.assertIn(what, lines[0])

    def test_read_only(self):
        self.check_serving('mount -o remount,ro "$0"', 'Read-only file system')

    def test_full(self):
        self.check_serving('{ dd if=/dev/zero of="$0/fill" bs=1k 2>/dev/null || true; }', 'No space left')


class TestDefaults(CacheTestCase):
    def test_no_cache(self):
        self.start('--no-cache')
        self.assertEqual(self.served_digests(), self.true_digests())
        self.stop_daemon()
        self.daemon = None
        self.assertFalse(os.path.exists(self.cache_dir))
        self.assertNotIn('Reused ', self.log_text())

    def test_root_has_no_cache_unless_asked(self):
        self.start_daemon()
        self.assertEqual(self.served_digests(), self.true_digests())
        self.assertNotIn('Reused ', self.log_text())

    def test_relative_cache_dir_refused(self):
        p = subprocess.run([DAEMON, '--cache-dir=cache'], capture_output=True, text=True)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn('Invalid --cache-dir', p.stderr)


if __name__ == '__main__':
    unittest.main()
