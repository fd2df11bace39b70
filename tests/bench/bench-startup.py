#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""How long fwregistryd takes, from exec to the first Resolve answered, on this machine's own descriptors
(Debian's OVMF and AAVMF set: 200 MiB of images to hash) and QEMU binaries: cold (every page cache dropped, as
after a boot; where that is not allowed, the images evicted) and warm, without a cache, with an empty cache
directory, and with the cache file of an earlier run; optionally the same for another build (--baseline, say
the previous release's daemon). Then how long a replaced 64 MiB image takes to be announced with its new digest.
Prints figures; fails only on errors."""

import argparse
import glob
import hashlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

import dbus
import dbus.mainloop.glib
from gi.repository import GLib

from benchbus import BUS_NAME, MANAGER_IFACE, MANAGER_PATH, Bus

dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)

DESCRIPTORS = '/usr/share/qemu/firmware'


def images():
    """Every file the installed descriptors name, once per real file."""
    found = set()
    for path in glob.glob(os.path.join(DESCRIPTORS, '*.json')):
        with open(path) as f:
            mapping = json.load(f).get('mapping', {})
        for key in ('executable', 'nvram-template'):
            name = mapping.get(key, {}).get('filename')
            if name and os.path.exists(name):
                found.add(os.path.realpath(name))
    return sorted(found)


def evict(paths):
    for p in paths:
        fd = os.open(p, os.O_RDONLY)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        os.close(fd)


def drop_caches(paths):
    """Empties the page cache (the daemon, its libraries and every file included) when allowed, else evicts
    the images. Returns which it did."""
    try:
        os.sync()
        with open('/proc/sys/vm/drop_caches', 'w') as f:
            f.write('3\n')
        return 'page cache dropped'
    except OSError:
        evict(paths)
        return 'images evicted'


def first_answer(daemon, address, args):
    """Seconds from starting the daemon to the answer of its first Resolve (x86_64, machine q35: QEMU's alias
    matters), and the CPU seconds the daemon used in all (the QEMU it ran included; a figure that a busy
    machine disturbs less); the daemon is stopped again."""
    bus = dbus.bus.BusConnection(address)
    request = dbus.Dictionary({'architecture': 'x86_64', 'machine': 'q35'}, signature='sv')
    log = tempfile.TemporaryFile()
    start = time.monotonic()
    p = subprocess.Popen([daemon, '--system', *args], env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=address),
                         stdout=log, stderr=subprocess.STDOUT)
    try:
        while not bus.name_has_owner(BUS_NAME):
            if p.poll() is not None or time.monotonic() - start > 30:
                log.seek(0)
                raise SystemExit(f'fwregistryd {" ".join(args)} did not start:\n{log.read().decode()}')
            time.sleep(0.0005)      # the figure is within half a millisecond of the name's appearance
        bus.call_blocking(BUS_NAME, MANAGER_PATH, MANAGER_IFACE, 'Resolve', 'a{sv}', [request])
        elapsed = time.monotonic() - start
    finally:
        if p.returncode is None:
            p.send_signal(signal.SIGTERM)
            _, status, usage = os.wait4(p.pid, 0)      # a cache file is written at exit
            p.returncode = os.waitstatus_to_exitcode(status)
        bus.close()
        log.close()
    return elapsed, usage.ru_utime + usage.ru_stime


def startup_args(mode, cache_dir):
    """The daemon's arguments for a mode: 'none' (--no-cache), 'empty' (no cache file yet: removed before
    each run) or 'earlier' (the file an earlier run wrote); None: a daemon that knows no cache."""
    args = [f'--search-path={DESCRIPTORS}']
    if mode == 'none':
        args.append('--no-cache')
    elif mode:
        args.append(f'--cache-dir={cache_dir}')
    return args


def startup(configs, address, runs, files):
    """Runs every configuration cold, then warm, in turns, so that what else the machine does weighs on all
    alike. Fills each configuration's 'cold' and 'warm' lists with (seconds, CPU seconds); returns how the cold
    runs were made cold."""
    how = ''
    for c in configs:
        c['args'] = startup_args(c['mode'], c['cache_dir'])
        c['cold'], c['warm'] = [], []
        if c['mode'] == 'earlier':
            first_answer(c['daemon'], address, c['args'])
    for _ in range(runs):
        for c in configs:
            cache = os.path.join(c['cache_dir'], 'facts.cache')
            for results in (c['cold'], c['warm']):
                if c['mode'] == 'empty' and os.path.exists(cache):
                    os.unlink(cache)
                if results is c['cold']:
                    how = drop_caches(files)
                results.append(first_answer(c['daemon'], address, c['args']))
    return how


def ms(results):
    wall, cpu = [w for w, _ in results], [c for _, c in results]
    return (f'median {statistics.median(wall) * 1000:4.0f} ms, CPU {statistics.median(cpu) * 1000:4.0f} ms '
            f'(runs: {", ".join(f"{x * 1000:.0f}" for x in wall)})')


def replacement(daemon, address, tmp):
    """A tree whose descriptor names a copy of a 64 MiB AAVMF image; the copy is replaced dpkg's way, and the
    time from the rename to CatalogueChanged (with the new digest in the next Resolve) is returned."""
    root = os.path.join(tmp, 'root')
    usr = os.path.join(root, 'usr/share/qemu/firmware')
    fw = os.path.join(root, 'fw')
    os.makedirs(usr)
    os.makedirs(fw)
    src = '/usr/share/AAVMF/AAVMF_CODE.fd'
    shutil.copyfile(src, os.path.join(fw, 'CODE.fd'))
    shutil.copyfile('/usr/share/AAVMF/AAVMF_VARS.fd', os.path.join(fw, 'VARS.fd'))
    with open(os.path.join(usr, '60-aarch64.json'), 'w') as f:
        json.dump({'description': 'd', 'interface-types': ['uefi'],
                   'mapping': {'device': 'flash', 'executable': {'filename': '/fw/CODE.fd', 'format': 'raw'},
                               'nvram-template': {'filename': '/fw/VARS.fd', 'format': 'raw'}},
                   'targets': [{'architecture': 'aarch64', 'machines': ['virt-*']}], 'features': [], 'tags': []}, f)
    bus = dbus.bus.BusConnection(address)
    log = open(os.path.join(tmp, 'replacement.log'), 'w')
    p = subprocess.Popen([daemon, '--system', '--root', root],
                         env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=address, FWREGISTRYD_LOG_LEVEL='debug'),
                         stdout=log, stderr=subprocess.STDOUT)
    results = []
    try:
        while not bus.name_has_owner(BUS_NAME):
            time.sleep(0.001)
        manager = dbus.Interface(bus.get_object(BUS_NAME, MANAGER_PATH), MANAGER_IFACE)
        seen = []
        bus.add_signal_receiver(lambda g, *a: seen.append((time.monotonic(), int(g))), 'CatalogueChanged',
                                MANAGER_IFACE, BUS_NAME)
        manager.List(dbus.Dictionary({}, signature='sv'))      # the match rule is in place
        ctx = GLib.MainContext.default()
        with open(src, 'rb') as f:
            data = bytearray(f.read())
        for i in range(5):
            data[4096] = i + 1
            staged = os.path.join(fw, 'CODE.fd.dpkg-new')
            with open(staged, 'wb') as f:
                f.write(data)
            start = time.monotonic()
            os.rename(staged, os.path.join(fw, 'CODE.fd'))
            while not seen or seen[-1][1] != i + 1:
                ctx.iteration(True)
            results.append(seen[-1][0] - start)
            _, result = manager.Resolve(dbus.Dictionary({'architecture': 'aarch64'}, signature='sv'))
            assert str(result['executable-sha256']) == hashlib.sha256(data).hexdigest()
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait()
        log.close()
        if os.environ.get('BENCH_SHOW_LOG'):
            print(open(os.path.join(tmp, 'replacement.log')).read())
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--daemon', default=os.path.join(os.environ.get('FWREGISTRY_BUILD_DIR', 'build'),
                                                          'daemon', 'fwregistryd'))
    parser.add_argument('--baseline', help='another fwregistryd to measure the same way, e.g. of main')
    parser.add_argument('--runs', type=int, default=5)
    parser.add_argument('--no-replacement', action='store_true', help='only the start-up figures')
    args = parser.parse_args()
    files = images()
    if not files:
        print(f'no descriptors with images in {DESCRIPTORS}: apt-get install ovmf qemu-efi-aarch64')
        return 0
    size = sum(os.path.getsize(f) for f in files)
    qemu = sorted(glob.glob('/usr/bin/qemu-system-*'))
    tmp = tempfile.mkdtemp(prefix='bench-startup-')
    bus = Bus(tmp, 'bus')
    address = bus.address
    try:
        print(f'{DESCRIPTORS}: {len(files)} distinct images, {size / (1 << 20):.1f} MiB; '
              f'{len(qemu)} QEMU binaries; from exec to the first Resolve answered, {args.runs} runs each; '
              f'load average {os.getloadavg()[0]:.1f}')
        configs = [{'name': 'baseline', 'daemon': args.baseline, 'mode': None}] if args.baseline else []
        configs += [{'name': 'this build', 'daemon': args.daemon, 'mode': m} for m in ('none', 'empty', 'earlier')]
        for c in configs:
            c['cache_dir'] = tempfile.mkdtemp(prefix='cache-', dir=tmp)
        how = startup(configs, address, args.runs, files)
        for c in configs:
            label = {None: 'no cache', 'none': '--no-cache', 'empty': 'no cache file yet',
                     'earlier': 'cache file of an earlier run'}[c['mode']]
            print(f'{c["name"]}, {label}:')
            print(f'  cold ({how}): {ms(c["cold"])}')
            print(f'  warm:{" " * (len(how) + 4)}{ms(c["warm"])}')
        print(f'load average after: {os.getloadavg()[0]:.1f}')
        if os.path.exists('/usr/share/AAVMF/AAVMF_CODE.fd') and not args.no_replacement:
            lat = replacement(args.daemon, address, tmp)
            print(f'64 MiB image renamed over: CatalogueChanged after median {statistics.median(lat) * 1000:.1f} ms '
                  f'(runs: {", ".join(f"{x * 1000:.1f}" for x in lat)}; debounce window 50 ms)')
    finally:
        bus.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
