#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Storm benchmark: N descriptors created, then deleted, as fast as the file system takes them, while one
client calls Resolve without pause. Prints, for each storm, the time until the catalogue is full (or empty),
the Resolve latency meanwhile (median, p99, worst) and the daemon's RSS afterwards.

    bench-storm.py [--count 100000] [--daemon PATH] [--rescan] [--save-log PATH]

With --rescan, the daemon is also sent SIGHUP while the N descriptors are there: the time until the full
rescan is done, and Resolve meanwhile (the daemon then logs at debug level, which says when a rescan is
done). Runs on a private bus on this machine; the tree lives in a temporary directory."""

import argparse
import os
import re
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from importlib import import_module  # noqa: E402

churn = import_module('bench-churn')

BUS_NAME = churn.BUS_NAME
MANAGER_PATH = churn.MANAGER_PATH
MANAGER_IFACE = churn.MANAGER_IFACE
USR = churn.USR


def rss_kib(pid):
    with open(f'/proc/{pid}/status') as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    return 0


class Caller:
    """Resolve in a loop on its own connection, recording each call's latency."""

    def __init__(self, address):
        import dbus
        self.dbus = dbus
        self.bus = dbus.bus.BusConnection(address)
        obj = self.bus.get_object(BUS_NAME, MANAGER_PATH)
        self.manager = dbus.Interface(obj, MANAGER_IFACE)
        self.props = dbus.Interface(obj, 'org.freedesktop.DBus.Properties')
        self.latencies = []
        self.stop = threading.Event()
        self.thread = None

    def count(self):
        return int(self.props.Get(MANAGER_IFACE, 'Count'))

    def loop(self):
        request = self.dbus.Dictionary({'architecture': 'x86_64', 'machine': 'q35'}, signature='sv')
        while not self.stop.is_set():
            start = time.monotonic()
            try:
                self.manager.Resolve(request, timeout=60)
            except self.dbus.exceptions.DBusException as e:
                if e.get_dbus_name() != BUS_NAME + '.Error.NoMatch':
                    raise
            self.latencies.append(time.monotonic() - start)

    def start(self):
        self.latencies = []
        self.stop.clear()
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def finish(self):
        self.stop.set()
        self.thread.join()
        return self.latencies


def storm(name, action, caller, want, pid):
    poller = Caller(caller.bus_address)
    caller.start()
    start = time.monotonic()
    action()
    issued = time.monotonic() - start
    while poller.count() != want:
        if time.monotonic() - start > 600:
            raise SystemExit(f'{name}: catalogue did not reach {want} in 600 s')
        time.sleep(0.05)
    done = time.monotonic() - start
    lat = sorted(caller.finish())
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
    print(f'{name}: files {issued:.1f} s, catalogue at {want} after {done:.1f} s; Resolve during it: '
          f'{len(lat)} calls, median {statistics.median(lat) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, '
          f'worst {lat[-1] * 1000:.1f} ms; RSS after {rss_kib(pid) / 1024:.1f} MiB', flush=True)


def rescan(caller, pid, log_path):
    """SIGHUP with the catalogue full; done when the daemon logs that the rescan is: "Full rescan (SIGHUP)
    done" after the last step, or, from a daemon that rescans in one rebuild (the previous release),
    "Rescanned (SIGHUP)" after it."""
    def seen():
        with open(log_path, errors='replace') as f:
            text = f.read()
        if re.search(r'full rescan \(SIGHUP\) of \d+ names in steps', text):
            return len(re.findall(r'Full rescan \(SIGHUP\) done', text))
        return len(re.findall(r'Rescanned \(SIGHUP\)', text))

    before = seen()
    caller.start()
    start = time.monotonic()
    os.kill(pid, signal.SIGHUP)
    while seen() == before:
        if time.monotonic() - start > 600:
            raise SystemExit('rescan: not done in 600 s')
        time.sleep(0.02)
    done = time.monotonic() - start
    lat = sorted(caller.finish())
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
    print(f'SIGHUP rescan: done after {done:.1f} s; Resolve during it: {len(lat)} calls, median '
          f'{statistics.median(lat) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, worst {lat[-1] * 1000:.1f} ms; '
          f'RSS after {rss_kib(pid) / 1024:.1f} MiB', flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--count', type=int, default=100000)
    parser.add_argument('--daemon', default='build/daemon/fwregistryd')
    parser.add_argument('--rescan', action='store_true', help='also time a full rescan (SIGHUP) at N')
    parser.add_argument('--save-log', help='keep the daemon\'s log there')
    args = parser.parse_args()
    if args.rescan:
        os.environ['FWREGISTRYD_LOG_LEVEL'] = 'debug'

    tmp = tempfile.mkdtemp(prefix='fwregistryd-storm-')
    bus = daemon = None
    try:
        root = os.path.join(tmp, 'root')
        usr = os.path.join(root, USR)
        os.makedirs(usr)
        os.makedirs(os.path.join(root, 'fw'))
        for f in ('CODE.fd', 'VARS.fd'):
            with open(os.path.join(root, 'fw', f), 'wb') as out:
                out.write(b'\0' * 4096)
        content = churn.descriptor(0)
        names = [f'{50 + i % 40}-storm-{i:06d}.json' for i in range(args.count)]

        bus = churn.Bus(tmp, 'bus')
        log = open(os.path.join(tmp, 'daemon.log'), 'w')
        daemon = churn.start_daemon(args, bus, root, log)
        caller = Caller(bus.address)
        caller.bus_address = bus.address
        print(f'{args.count} descriptors; RSS at start {rss_kib(daemon.pid) / 1024:.1f} MiB', flush=True)

        def create():
            for n in names:
                with open(os.path.join(usr, n), 'w') as f:
                    f.write(content)

        def delete():
            for n in names:
                os.unlink(os.path.join(usr, n))

        storm('create storm', create, caller, args.count, daemon.pid)
        if args.rescan:
            rescan(caller, daemon.pid, os.path.join(tmp, 'daemon.log'))
        storm('delete storm', delete, caller, 0, daemon.pid)
        log.flush()
        with open(os.path.join(tmp, 'daemon.log')) as f:
            text = f.read()
        print(f'queue overflows (full rescans): {text.count("Missed file system events")}')
        if args.save_log:
            shutil.copy(os.path.join(tmp, 'daemon.log'), args.save_log)
    finally:
        if daemon:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=60)
        if bus:
            bus.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    main()
