#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""How long fwregistryd takes to serve on this machine's own descriptors (Debian's OVMF and AAVMF set: 200 MiB
of images to hash), with the images evicted from the page cache and with them cached; then how long a replaced
64 MiB image takes to be announced with its new digest. Prints figures; fails only on errors."""

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


def serve_time(daemon, address, args):
    """Seconds from starting the daemon until its name is on the bus; the daemon is stopped again."""
    bus = dbus.bus.BusConnection(address)
    start = time.monotonic()
    p = subprocess.Popen([daemon, '--system', *args], env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=address),
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while not bus.name_has_owner(BUS_NAME):
            if p.poll() is not None or time.monotonic() - start > 30:
                raise SystemExit('fwregistryd did not start')
            time.sleep(0.001)       # a benchmark's poll: the figure is the name's appearance, within 1 ms
        return time.monotonic() - start
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait()
        bus.close()


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
    parser.add_argument('--runs', type=int, default=5)
    args = parser.parse_args()
    files = images()
    if not files:
        print(f'no descriptors with images in {DESCRIPTORS}: apt-get install ovmf qemu-efi-aarch64')
        return 0
    size = sum(os.path.getsize(f) for f in files)
    tmp = tempfile.mkdtemp(prefix='bench-startup-')
    bus = Bus(tmp, 'bus')
    address = bus.address
    try:
        cold, warm = [], []
        for _ in range(args.runs):
            evict(files)
            cold.append(serve_time(args.daemon, address, [f'--search-path={DESCRIPTORS}']))
            warm.append(serve_time(args.daemon, address, [f'--search-path={DESCRIPTORS}']))
        print(f'{DESCRIPTORS}: {len(files)} distinct images, {size / (1 << 20):.1f} MiB')
        print(f'serving after start, images evicted from the page cache: median {statistics.median(cold) * 1000:.0f} ms'
              f' (runs: {", ".join(f"{x * 1000:.0f}" for x in cold)})')
        print(f'serving after start, images cached:                     median {statistics.median(warm) * 1000:.0f} ms'
              f' (runs: {", ".join(f"{x * 1000:.0f}" for x in warm)})')
        if os.path.exists('/usr/share/AAVMF/AAVMF_CODE.fd'):
            lat = replacement(args.daemon, address, tmp)
            print(f'64 MiB image renamed over: CatalogueChanged after median {statistics.median(lat) * 1000:.1f} ms '
                  f'(runs: {", ".join(f"{x * 1000:.1f}" for x in lat)}; debounce window 50 ms)')
    finally:
        bus.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
