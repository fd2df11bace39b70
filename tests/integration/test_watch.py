#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The live catalogue: every way files change is seen without Reload, announced once, and answered right."""

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import time
import unittest

from fwtest import (ETC, FIRMWARE_IFACE, MANAGER_PATH, STANDARD_TREE, USR, WRAPPER, DaemonTestCase, firmware_path,
                    flash, wait_until)


def rebuilds(log_path):
    """The daemon's debug lines about each rebuild: 'full rescan (why), N parsed, M reused.' or 'update of N
    names, N parsed, M reused.'"""
    with open(log_path, errors='replace') as f:
        return [line.split(': ', 1)[1].rsplit(' (', 1)[0] for line in f if line.startswith('Rebuild ')]


class TestWatch(DaemonTestCase):
    def setUp(self):
        super().setUp()
        self.record_signals()

    def path(self, rel):
        return os.path.join(self.root, rel)

    def names(self):
        return [d['name'] for _, d in self.list()[1]]

    def test_written_in_place(self):
        with open(self.path(f'{USR}/60-x86.json'), 'r+') as f:
            d = json.load(f)
            d['features'].append('acpi-s4')
            f.seek(0)
            f.truncate()
            f.write(json.dumps(d))
        self.assertEqual(self.wait_for_change(1), [[], [], ['60-x86.json']])
        self.assertIn('acpi-s4', self.prop('Features', firmware_path('60-x86.json'), FIRMWARE_IFACE))
        # one changed file re-reads that file only: no full rescan, one name looked at, one file parsed
        self.assertEqual(rebuilds(self.log_path), ['update of 1 names, 1 parsed, 6 reused.'])

    def test_unreadable_file_touched_is_no_change(self):
        """A file that cannot be read is read again when touched, and cannot be read for the same reason: no
        change. Each read makes a new (unreadable) descriptor, so the diff must compare what they say."""
        fifo = self.path(f'{USR}/35-fifo.json')
        os.mkfifo(fifo)
        self.assertEqual(self.wait_for_change(1), [['35-fifo.json'], [], []])
        os.utime(fifo, (1_000_000, 1_000_000))          # a new mtime: another identity, read again
        # a real change after it, as the barrier: every signal up to its one has arrived
        self.write(f'{USR}/36-real.json', flash('CODE.fd', 'VARS.fd'))
        changes = [self.wait_for_change(2)]
        if '36-real.json' not in changes[0][0]:
            changes.append(self.wait_for_change(3))
        self.assertEqual([c for c in changes if '35-fifo.json' in c[2]], [], f'changes: {changes}')
        with open(self.log_path) as f:
            self.assertEqual(f.read().count('35-fifo.json: a FIFO'), 1)

    def test_atomic_rename_into_place(self):
        # how dpkg and editors save: a temporary name (ignored), then rename over the real one
        tmp = self.path(f'{USR}/.60-x86.json.swp')
        with open(tmp, 'w') as f:
            json.dump(flash('CODE.fd', 'VARS.fd', machines=('pc-i440fx-*',)), f)
        staged = self.path(f'{USR}/10-new.json.dpkg-new')
        with open(staged, 'w') as f:
            json.dump(flash('CODE.fd', 'VARS.fd'), f)
        os.rename(tmp, self.path(f'{USR}/60-x86.json'))
        os.rename(staged, self.path(f'{USR}/10-new.json'))
        self.assertEqual(self.wait_for_change(1), [['10-new.json'], [], ['60-x86.json']])
        self.assertEqual(self.resolve(architecture='x86_64')[1]['name'], '10-new.json')

    def test_deleted(self):
        os.unlink(self.path(f'{USR}/40-x86-enrolled.json'))
        self.assertEqual(self.wait_for_change(1), [[], ['40-x86-enrolled.json'], []])
        self.assertEqual(self.resolve(architecture='x86_64')[1]['name'], '50-x86-secure.json')
        members = [(m, p) for m, p, _ in self.signals]
        self.assertIn(('InterfacesRemoved', MANAGER_PATH), members)

    def test_mask_and_unmask(self):
        os.symlink('/dev/null', self.path(f'{ETC}/40-x86-enrolled.json'))
        self.assertEqual(self.wait_for_change(1), [[], [], ['40-x86-enrolled.json']])
        self.assertEqual(self.resolve(architecture='x86_64')[1]['name'], '50-x86-secure.json')
        self.assertTrue(self.prop('Masked', firmware_path('40-x86-enrolled.json'), FIRMWARE_IFACE))
        os.unlink(self.path(f'{ETC}/40-x86-enrolled.json'))
        self.assertEqual(self.wait_for_change(2), [[], [], ['40-x86-enrolled.json']])
        self.assertEqual(self.resolve(architecture='x86_64')[1]['name'], '40-x86-enrolled.json')

    def test_package_upgrade_is_one_change(self):
        # twenty files at once, as a package upgrade writes them: a window far longer than writing them takes,
        # so that the result does not depend on how busy the machine is
        self.stop_daemon()
        self.start_daemon('--debounce=2000')
        self.prop('Generation')         # the match rules from setUp() follow the name to the new daemon
        for i in range(20):
            with open(self.path(f'{USR}/2{i:02d}-pkg.json'), 'w') as f:
                json.dump(flash('CODE.fd', 'VARS.fd', arch='aarch64', machines=('virt-*',)), f)
        added, removed, modified = self.wait_for_change(1)
        self.assertEqual(added, [f'2{i:02d}-pkg.json' for i in range(20)])
        self.assertEqual((removed, modified), ([], []))
        members = [m for m, _, _ in self.signals]
        self.assertEqual(members.count('CatalogueChanged'), 1)
        self.assertEqual(members.count('InterfacesAdded'), 20)
        manager_changes = [a for m, p, a in self.signals if m == 'PropertiesChanged' and p == MANAGER_PATH]
        self.assertEqual(len(manager_changes), 1)
        self.assertEqual(manager_changes[0][1]['Generation'], 1)
        self.assertEqual(manager_changes[0][1]['Count'], 26)
        self.assertEqual(self.prop('Generation'), 1)

    def test_directory_created_later(self):
        shutil.rmtree(self.path(ETC))
        self.manager.Reload()                   # the daemon now watches /etc/qemu, waiting for firmware/
        gen = self.prop('Generation')
        os.makedirs(self.path(ETC))
        with open(self.path(f'{ETC}/05-admin.json'), 'w') as f:
            json.dump(flash('CODE.fd', 'VARS.fd'), f)
        wait_until(lambda: '05-admin.json' in self.names(), what='05-admin.json in an /etc created later')
        self.assertGreater(self.prop('Generation'), gen)
        self.assertEqual(self.resolve(architecture='x86_64')[1]['name'], '05-admin.json')

    def test_usr_share_deleted_and_recreated(self):
        shutil.rmtree(self.path(USR))
        wait_until(lambda: self.prop('Count') == 1, what='only /etc left')
        os.makedirs(self.path(USR))
        with open(self.path(f'{USR}/60-x86.json'), 'w') as f:
            json.dump(flash('CODE.fd', 'VARS.fd'), f)
        wait_until(lambda: '60-x86.json' in self.names(), what='a descriptor in a re-created /usr/share')

    def test_symlink_target_changes(self):
        target_dir = self.path('opt/fw')
        os.makedirs(target_dir)
        with open(os.path.join(target_dir, 'real.json'), 'w') as f:
            json.dump(flash('CODE.fd', 'VARS.fd', features=['acpi-s3']), f)
        # absolute links below --root point into the root
        os.symlink('/opt/fw/real.json', self.path(f'{ETC}/20-linked.json'))
        self.assertEqual(self.wait_for_change(1), [['20-linked.json'], [], []])
        # the target's content changes: the link's directory sees nothing, its target's does
        with open(os.path.join(target_dir, 'real.json'), 'w') as f:
            json.dump(flash('CODE.fd', 'VARS.fd', features=['acpi-s4']), f)
        self.assertEqual(self.wait_for_change(2), [[], [], ['20-linked.json']])
        self.assertEqual(list(self.prop('Features', firmware_path('20-linked.json'), FIRMWARE_IFACE)), ['acpi-s4'])
        # the link is pointed elsewhere
        with open(os.path.join(target_dir, 'other.json'), 'w') as f:
            json.dump(flash('CODE.fd', 'VARS.fd', arch='aarch64', machines=('virt-*',)), f)
        tmp = self.path(f'{ETC}/.20-linked.json.tmp')
        os.symlink('/opt/fw/other.json', tmp)
        os.rename(tmp, self.path(f'{ETC}/20-linked.json'))
        wait_until(lambda: self.prop('Generation') >= 3, what='the re-pointed link')
        targets = self.prop('Targets', firmware_path('20-linked.json'), FIRMWARE_IFACE)
        self.assertEqual(str(targets[0][0]), 'aarch64')

    def test_image_installed_and_removed(self):
        path = firmware_path('80-missing-image.json')
        self.assertFalse(self.prop('FilesOk', path, FIRMWARE_IFACE))
        with open(self.path('fw/GONE.fd'), 'w') as f:
            f.write('installed')
        self.assertEqual(self.wait_for_change(1), [[], [], ['80-missing-image.json']])
        self.assertTrue(self.prop('FilesOk', path, FIRMWARE_IFACE))
        os.unlink(self.path('fw/VARS.fd'))      # shared by five descriptors
        _, _, modified = self.wait_for_change(2)
        self.assertEqual(modified, ['50-x86-secure.json', '60-x86.json', '75-shadowed.json',
                                    '80-missing-image.json'])
        self.assertFalse(self.prop('FilesOk', path, FIRMWARE_IFACE))

    def test_image_directory_created_later(self):
        os.makedirs(self.path('opt'), exist_ok=True)
        with open(self.path(f'{USR}/15-opt.json'), 'w') as f:
            json.dump(flash('CODE.fd', 'VARS.fd'), f)
        # point it at a directory that does not exist yet
        d = flash('CODE.fd', 'VARS.fd')
        d['mapping']['executable']['filename'] = '/opt/later/CODE.fd'
        d['mapping']['nvram-template']['filename'] = '/opt/later/VARS.fd'
        with open(self.path(f'{USR}/15-opt.json'), 'w') as f:
            json.dump(d, f)
        wait_until(lambda: '15-opt.json' in self.names(), what='15-opt.json')
        self.assertFalse(self.prop('FilesOk', firmware_path('15-opt.json'), FIRMWARE_IFACE))
        os.makedirs(self.path('opt/later'))
        for name in ('CODE.fd', 'VARS.fd'):
            with open(self.path(f'opt/later/{name}'), 'w') as f:
                f.write('image')
        wait_until(lambda: self.prop('FilesOk', firmware_path('15-opt.json'), FIRMWARE_IFACE),
                   what='files-ok once the image directory exists')


class TestReplacedDirectories(DaemonTestCase):
    """A search directory that goes away and comes back within one debounce window: the rebuild finds the
    same set of directories to watch as before, yet the old watch is gone. A long window makes "within" a
    certainty rather than a matter of timing."""

    daemon_args = ['--debounce=1500']

    def setUp(self):
        super().setUp()
        self.record_signals()

    def path(self, rel):
        return os.path.join(self.root, rel)

    def write_descriptor(self, rel, **kwargs):
        with open(self.path(rel), 'w') as f:
            json.dump(flash('CODE.fd', 'VARS.fd', **kwargs), f)

    def test_directory_deleted_and_recreated(self):
        shutil.rmtree(self.path(ETC))
        os.makedirs(self.path(ETC))
        with open(self.path(f'{ETC}/70-masked.json'), 'w'):
            pass
        # the admin's override went with the old directory; the mask is back
        self.assertEqual(self.wait_for_change(1), [[], [], ['75-shadowed.json']])
        self.assertEqual(self.prop('Description', firmware_path('75-shadowed.json'), FIRMWARE_IFACE),
                         'the distribution copy')
        # and the new directory is watched
        self.write_descriptor(f'{ETC}/05-admin.json')
        self.assertEqual(self.wait_for_change(2), [['05-admin.json'], [], []])

    def test_directory_moved_and_replaced(self):
        os.rename(self.path(ETC), self.path('etc/qemu/firmware.old'))
        os.makedirs(self.path(ETC))
        self.write_descriptor(f'{ETC}/05-admin.json')
        added, removed, modified = self.wait_for_change(1)
        self.assertEqual((added, removed), (['05-admin.json'], []))
        self.assertEqual(modified, ['70-masked.json', '75-shadowed.json'])
        # the new directory is watched, the old one (wherever it went) is not ours any more
        self.write_descriptor('etc/qemu/firmware.old/06-stale.json')
        self.write_descriptor(f'{ETC}/07-later.json')
        self.assertEqual(self.wait_for_change(2), [['07-later.json'], [], []])
        self.assertNotIn('06-stale.json', [d['name'] for _, d in self.list()[1]])


class TestMissingDirectory(DaemonTestCase):
    """No /etc/qemu/firmware: /etc is watched for it to appear, and nothing else that happens in /etc is ours."""

    tree = {k: v for k, v in STANDARD_TREE.items() if not k.startswith('etc/')}

    def start_daemon(self, *extra):
        os.makedirs(os.path.join(self.root, 'etc'), exist_ok=True)
        # an unreadable descriptor: reported once, not on every full rescan
        link = os.path.join(self.root, USR, '30-dangling.json')
        if not os.path.lexists(link):
            os.symlink('/nonexistent/30.json', link)
        super().start_daemon(*extra)

    def test_unrelated_changes_in_the_parent(self):
        self.record_signals()
        for i in range(10):
            with open(os.path.join(self.root, 'etc', f'unrelated-{i}.conf'), 'w') as f:
                f.write('x')
        with open(os.path.join(self.root, USR, '10-marker.json'), 'w') as f:
            json.dump(flash('CODE.fd', 'VARS.fd'), f)
        self.assertEqual(self.wait_for_change(1), [['10-marker.json'], [], []])
        # events arrive in order: the marker's rebuild came after everything the writes in /etc caused
        self.assertEqual(rebuilds(self.log_path), ['update of 1 names, 1 parsed, 9 reused.'])

        # the directory that was waited for appears: that is a full rescan
        os.makedirs(os.path.join(self.root, ETC))
        with open(os.path.join(self.root, ETC, '05-admin.json'), 'w') as f:
            json.dump(flash('CODE.fd', 'VARS.fd'), f)
        wait_until(lambda: '05-admin.json' in [d['name'] for _, d in self.list()[1]],
                   what='05-admin.json in the new /etc/qemu/firmware')
        self.assertTrue(any(r.startswith('full rescan') for r in rebuilds(self.log_path)[1:]))

    def test_unreadable_descriptor_reported_once(self):
        self.manager.Reload()
        self.manager.Reload()
        self.assertEqual([re.sub(r'Reload\(\) by \S+\)', 'Reload() by CALLER)', line) for line in rebuilds(self.log_path)],
                         ['full rescan (Reload() by CALLER) of 9 names in steps of 1024.',
                          'update of 9 names and the referenced files, 0 parsed, 8 reused.'] * 2)
        with open(self.log_path) as f:
            self.assertEqual(f.read().count("dangling symlink to '/nonexistent/30.json'"), 1)


class TestDebounceWindow(DaemonTestCase):
    """--debounce means what it says: a change is announced when the window ends, not up to a quarter of a
    second later, as sd-event's default timer accuracy would have it."""

    daemon_args = ['--debounce=10']

    @unittest.skipIf(WRAPPER, 'under valgrind, timing says nothing')
    def test_window_is_kept(self):
        self.record_signals()
        delays = []
        for i in range(9):
            path = os.path.join(self.root, USR, f'2{i}-timed.json')
            with open(path + '.tmp', 'w') as f:
                json.dump(flash('CODE.fd', 'VARS.fd'), f)
            start = time.monotonic()
            os.rename(path + '.tmp', path)
            self.wait_for_change(i + 1)
            delays.append(time.monotonic() - start)
        delays.sort()
        # 10 ms, a rebuild and a round trip. With 250 ms accuracy the timer fires on sd-event's 250 ms grid,
        # and since each write follows the last firing closely, the next one is nearly 250 ms away
        self.assertLess(delays[4], 0.150, f'delays: {delays}')


class TestOverflow(DaemonTestCase):
    """IN_Q_OVERFLOW: with a tiny kernel queue and the daemon stopped, events are lost; a full rescan
    must still end with the right catalogue."""

    SYSCTL = '/proc/sys/fs/inotify/max_queued_events'

    def setUp(self):
        try:
            with open(self.SYSCTL) as f:
                self.saved = f.read()
            with open(self.SYSCTL, 'w') as f:
                f.write('16')           # read when the daemon creates its inotify instance
        except OSError as e:
            self.skipTest(f'cannot lower {self.SYSCTL} ({e}): needs root')
        try:
            super().setUp()
        finally:
            with open(self.SYSCTL, 'w') as f:
                f.write(self.saved)

    def test_overflow_rescans(self):
        self.record_signals()
        self.daemon.send_signal(signal.SIGSTOP)
        try:
            for i in range(100):
                with open(self.path(f'{USR}/3{i:02d}-flood.json'), 'w') as f:
                    json.dump(flash('CODE.fd', 'VARS.fd'), f)
        finally:
            self.daemon.send_signal(signal.SIGCONT)
        wait_until(lambda: self.prop('Count') == 106, what='all 100 new descriptors after an overflow')
        with open(self.log_path) as f:
            self.assertIn('Missed file system events, rescanning everything.', f.read())

    def path(self, rel):
        return os.path.join(self.root, rel)


def watched_inodes(pid):
    """The inodes the process's inotify fds watch, from /proc/PID/fdinfo."""
    found = set()
    for fd in os.listdir(f'/proc/{pid}/fd'):
        try:
            if os.readlink(f'/proc/{pid}/fd/{fd}') != 'anon_inode:inotify':
                continue
            with open(f'/proc/{pid}/fdinfo/{fd}') as f:
                found |= {int(m, 16) for m in re.findall(r'^inotify wd:\S+ ino:([0-9a-f]+)', f.read(), re.M)}
        except OSError:
            continue            # closed meanwhile
    return found


class TestLostWake(DaemonTestCase):
    """The watcher thread held still (a test hook) while its kernel queue overflows; meanwhile a descriptor
    is pointed at a new image directory and SIGHUP rescans. The watcher is asked to watch the new directory
    by a wake-up that the full queue drops: after the overflow it must read what it was asked again, or the
    directory stays unwatched for good and an image rewritten there is never announced."""

    def setUp(self):
        self.pause = os.path.join(self.tmp, f'watch-pause-{os.getpid()}')
        self.addCleanup(lambda: os.path.exists(self.pause) and os.unlink(self.pause))
        os.environ['FWREGISTRYD_TEST_WATCH_PAUSE'] = self.pause
        try:
            super().setUp()
        finally:
            del os.environ['FWREGISTRYD_TEST_WATCH_PAUSE']
        self.record_signals()

    def path(self, rel):
        return os.path.join(self.root, rel)

    def test_new_image_directory_watched_after_overflow(self):
        os.makedirs(self.path('fw2'))
        for name in ('CODE.fd', 'VARS.fd'):
            with open(self.path(f'fw2/{name}'), 'w') as f:
                f.write('image')
        open(self.pause, 'w').close()
        os.utime(self.path('fw/CODE.fd'))      # an event brings the watcher to where it pauses
        wait_until(lambda: os.path.exists(self.pause + '.paused'), what='the watcher thread to pause')
        # more events than the kernel queues (16,384 by default): two files in turn, so none merge
        try:
            for _ in range(10000):
                os.utime(self.path('fw/CODE.fd'))
                os.utime(self.path('fw/VARS.fd'))
            d = flash('CODE.fd', 'VARS.fd', machines=('pc-q35-*', 'pc-i440fx-*'), features=['acpi-s3'])
            d['mapping']['executable']['filename'] = '/fw2/CODE.fd'
            d['mapping']['nvram-template']['filename'] = '/fw2/VARS.fd'
            with open(self.path(f'{USR}/60-x86.json'), 'w') as f:
                json.dump(d, f)
            self.daemon.send_signal(signal.SIGHUP)
            self.assertEqual(self.wait_for_change(1), [[], [], ['60-x86.json']])
        finally:
            os.unlink(self.pause)
        wait_until(lambda: 'Missed file system events' in open(self.log_path, errors='replace').read(),
                   what='the overflow to be noticed')
        wait_until(lambda: os.stat(self.path('fw2')).st_ino in watched_inodes(self.daemon.pid),
                   what='the new image directory to be watched')

        # an in-place rewrite there is announced, and served
        with open(self.path('fw2/CODE.fd'), 'r+') as f:
            f.write('IMAGE')
        _, _, modified = self.wait_for_change(2)
        self.assertEqual(modified, ['60-x86.json'])
        self.assertEqual(str(self.prop('ExecutableSha256', firmware_path('60-x86.json'), FIRMWARE_IFACE)),
                         hashlib.sha256(b'IMAGE').hexdigest())

    def test_exit_after_overflow(self):
        """SIGTERM while the queue is full: the order to stop comes by the same dropped wake-up, and the main
        thread waits for the watcher to end."""
        open(self.pause, 'w').close()
        os.utime(self.path('fw/CODE.fd'))
        wait_until(lambda: os.path.exists(self.pause + '.paused'), what='the watcher thread to pause')
        try:
            for _ in range(10000):
                os.utime(self.path('fw/CODE.fd'))
                os.utime(self.path('fw/VARS.fd'))
            self.daemon.send_signal(signal.SIGTERM)
            wait_until(lambda: 'Received Terminated' in open(self.log_path, errors='replace').read(),
                       what='SIGTERM to be received')
        finally:
            os.unlink(self.pause)
        try:
            returncode = self.daemon.wait(timeout=10 * (20 if WRAPPER else 1))
        except subprocess.TimeoutExpired:
            self.daemon.kill()          # hung in pthread_join(): leave nothing behind
            self.daemon.wait()
            self.fail('fwregistryd did not exit after SIGTERM (the watcher never heard it was to stop)')
        self.assertEqual(returncode, 0)


if __name__ == '__main__':
    unittest.main(verbosity=2)
