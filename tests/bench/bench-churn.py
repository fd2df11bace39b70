#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Churn benchmark (DESIGN section 8): random create/modify/rename/delete/mask operations in the watched tree
while four clients call Resolve without pause. Prints failed calls, whether the final catalogue equals a
freshly started daemon's on the same tree, change-to-signal latency, and the daemon's CPU time.

    bench-churn.py [--ops 10000] [--seconds 300] [--daemon PATH] [--ctl PATH]

Everything runs on private unix-socket buses on this machine, bounded in count and time."""

import argparse
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from benchbus import BUS_NAME, MANAGER_IFACE, MANAGER_PATH, Bus

USR = 'usr/share/qemu/firmware'
ETC = 'etc/qemu/firmware'


def descriptor(i, arch='x86_64', features=()):
    machines = ['pc-q35-*', 'pc-i440fx-*'] if arch == 'x86_64' else ['virt-*']
    return json.dumps({
        'description': f'churn {i}',
        'interface-types': ['uefi'],
        'mapping': {'device': 'flash', 'executable': {'filename': '/fw/CODE.fd', 'format': 'raw'},
                    'nvram-template': {'filename': '/fw/VARS.fd', 'format': 'raw'}},
        'targets': [{'architecture': arch, 'machines': machines}],
        'features': list(features), 'tags': [],
    })


def start_daemon(args, bus, root, log):
    p = subprocess.Popen([args.daemon, '--system', '--root', root], env=bus.env(), stdout=log,
                         stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while subprocess.run(['busctl', '--system', 'status', BUS_NAME], env=bus.env(), capture_output=True).returncode:
        if p.poll() is not None or time.monotonic() > deadline:
            raise SystemExit('fwregistryd did not start')
        time.sleep(0.02)
    return p


def listing(args, bus):
    out = subprocess.run([args.ctl, '--json', 'list', '--include-invalid', '--include-masked'], env=bus.env(),
                         capture_output=True, text=True, check=True).stdout
    data = json.loads(out)
    for f in data['firmwares']:
        f.pop('generation')
    return data['firmwares']


def cpu_seconds(pid):
    with open(f'/proc/{pid}/stat') as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def client_main(address, out_path):
    """One client: Resolve without pause until SIGTERM, then write counts."""
    import dbus
    bus = dbus.bus.BusConnection(address)
    manager = dbus.Interface(bus.get_object(BUS_NAME, MANAGER_PATH), MANAGER_IFACE)
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    ok = failed = no_match = 0
    errors = {}
    request = dbus.Dictionary({'architecture': 'x86_64', 'machine': 'q35'}, signature='sv')
    while not stop:
        try:
            manager.Resolve(request)
            ok += 1
        except dbus.exceptions.DBusException as e:
            if e.get_dbus_name() == BUS_NAME + '.Error.NoMatch':
                no_match += 1       # a legitimate answer while the tree is being churned
            else:
                failed += 1
                errors[e.get_dbus_name()] = errors.get(e.get_dbus_name(), 0) + 1
    with open(out_path, 'w') as f:
        json.dump({'ok': ok, 'no_match': no_match, 'failed': failed, 'errors': errors}, f)


class Monitor:
    """fwregistryctl monitor --json, with every line stamped on arrival."""

    def __init__(self, args, bus):
        self.proc = subprocess.Popen([args.ctl, 'monitor', '--json'], env=bus.env(), stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.proc.stderr.readline()        # "Monitoring ...": the match is in place
        self.changes = []
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.read, daemon=True)
        self.thread.start()

    def read(self):
        for line in self.proc.stdout:
            stamp = time.monotonic()
            with self.lock:
                self.changes.append((stamp, json.loads(line)))

    def stop(self):
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(timeout=30)


class Churn:
    def __init__(self, root, rng):
        self.root = root
        self.rng = rng
        self.names = set()          # descriptors in /usr/share
        self.masks = set()
        self.counter = 0
        self.pending = []           # (time, name) of every operation, for latency

    def path(self, d, name):
        return os.path.join(self.root, d, name)

    def new_name(self):
        self.counter += 1
        return f'{self.rng.randrange(10, 99)}-churn-{self.counter:05d}.json'

    def write(self, name, content, atomic):
        target = self.path(USR, name)
        if atomic:      # how dpkg and editors do it
            tmp = self.path(USR, f'.{name}.tmp')
            with open(tmp, 'w') as f:
                f.write(content)
            os.rename(tmp, target)
        else:
            with open(target, 'w') as f:
                f.write(content)

    def step(self, visible_only=False):
        # weighted so that the tree neither empties nor explodes; visible_only: operations that always
        # change the catalogue (a mask over a mask does not)
        op = self.rng.choices(['create', 'modify', 'rename', 'delete', 'mask', 'unmask'],
                              weights=[25, 30, 15, 15, 0 if visible_only else 10, 0 if visible_only else 5])[0]
        now = time.monotonic()
        # a masked name hides what happens to it: not visible
        candidates = sorted(self.names - self.masks if visible_only else self.names)
        if op in ('modify', 'rename', 'delete', 'mask') and not candidates:
            op = 'create'
        arch = self.rng.choice(['x86_64', 'aarch64'])
        features = self.rng.choice([[], ['acpi-s3'], ['requires-smm', 'secure-boot'],
                                    ['enrolled-keys', 'requires-smm', 'secure-boot']])
        if op == 'create':
            name = self.new_name()
            self.write(name, descriptor(self.counter, arch, features), self.rng.random() < 0.5)
            self.names.add(name)
            touched = [name]
        elif op == 'modify':
            name = self.rng.choice(candidates)
            self.write(name, descriptor(self.counter, arch, features), self.rng.random() < 0.5)
            touched = [name]
        elif op == 'rename':
            old = self.rng.choice(candidates)
            new = self.new_name()
            os.rename(self.path(USR, old), self.path(USR, new))
            self.names.discard(old)
            self.names.add(new)
            touched = [old, new]
        elif op == 'delete':
            name = self.rng.choice(candidates)
            os.unlink(self.path(USR, name))
            self.names.discard(name)
            touched = [name]
        elif op == 'mask':
            name = self.rng.choice(candidates)
            if self.rng.random() < 0.5:
                open(self.path(ETC, name), 'w').close()
            elif not os.path.lexists(self.path(ETC, name)):
                os.symlink('/dev/null', self.path(ETC, name))
            self.masks.add(name)
            touched = [name]
        else:
            if not self.masks:
                return self.step(visible_only)
            name = self.rng.choice(sorted(self.masks))
            os.unlink(self.path(ETC, name))
            self.masks.discard(name)
            touched = [name]
        for n in touched:
            self.pending.append((now, n))


def latencies(pending, changes):
    """For each operation, the time until the first signal after it that names the file."""
    out = []
    j0 = 0
    for stamp, name in pending:
        while j0 < len(changes) and changes[j0][0] < stamp:
            j0 += 1
        for t, c in changes[j0:]:
            if name in c['added'] or name in c['removed'] or name in c['modified']:
                out.append(t - stamp)
                break
    return out


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))] if values else float('nan')


def run(args):
    tmp = tempfile.mkdtemp(prefix='bench-churn-')
    root = os.path.join(tmp, 'root')
    for d in (USR, ETC, 'fw'):
        os.makedirs(os.path.join(root, d))
    for name in ('CODE.fd', 'VARS.fd'):
        with open(os.path.join(root, 'fw', name), 'w') as f:
            f.write('image')
    rng = random.Random(args.seed)
    churn = Churn(root, rng)
    for _ in range(1000):
        churn.step()            # a starting catalogue
    churn.pending.clear()

    bus = Bus(tmp, 'bus')
    log = open(os.path.join(tmp, 'daemon.log'), 'w')
    daemon = clients = monitor = fresh = fresh_bus = None
    try:
        daemon = start_daemon(args, bus, root, log)
        cpu_start = cpu_seconds(daemon.pid)
        monitor = Monitor(args, bus)
        clients = [subprocess.Popen([sys.executable, __file__, '--client', bus.address,
                                     os.path.join(tmp, f'client-{i}.json')], env=bus.env()) for i in range(4)]

        # phase 1: churn as fast as we can
        start = time.monotonic()
        cpu_churn_start = cpu_seconds(daemon.pid)
        n_ops = 0
        for i in range(args.ops):
            n_ops += 1
            churn.step()
            if time.monotonic() - start > args.seconds:
                print(f'time limit reached after {i + 1} operations')
                break
        churn_pending = list(churn.pending)
        # the churn is over when its last change has been announced
        while time.monotonic() - start < args.seconds and \
                not latencies(churn_pending[-1:], list(monitor.changes)) and len(churn.names) > 0:
            time.sleep(0.01)
        churn_seconds = time.monotonic() - start
        cpu_churn = cpu_seconds(daemon.pid) - cpu_churn_start

        # phase 2: single changes, each waited for: the latency a user sees
        churn.pending.clear()
        isolated = []
        for _ in range(args.isolated):
            before = len(monitor.changes)
            churn.step(visible_only=True)
            deadline = time.monotonic() + 10
            while len(monitor.changes) == before and time.monotonic() < deadline:
                time.sleep(0.001)
            with monitor.lock:
                if len(monitor.changes) > before:
                    isolated.append(monitor.changes[before][0] - churn.pending[-1][0])

        # quiet: no change for ten debounce windows
        last = len(monitor.changes)
        quiet_since = time.monotonic()
        while time.monotonic() - quiet_since < 0.5:
            time.sleep(0.05)
            if len(monitor.changes) != last:
                last, quiet_since = len(monitor.changes), time.monotonic()

        for c in clients:
            c.send_signal(signal.SIGTERM)
        for c in clients:
            c.wait(timeout=60)
        counts = [json.load(open(os.path.join(tmp, f'client-{i}.json'))) for i in range(4)]
        cpu = cpu_seconds(daemon.pid) - cpu_start
        final = listing(args, bus)

        # a freshly started daemon on the same tree, on a bus of its own
        fresh_bus = Bus(tmp, 'fresh-bus')
        fresh = start_daemon(args, fresh_bus, root, log)
        fresh_listing = listing(args, fresh_bus)
    finally:
        for p in [monitor.proc if monitor else None, fresh, daemon, *(clients or [])]:
            if p and p.poll() is None:
                p.terminate()
                p.wait(timeout=30)
        bus.stop()
        if fresh_bus:
            fresh_bus.stop()
        log.close()

    churn_lat = latencies(churn_pending, monitor.changes)
    ok = sum(c['ok'] for c in counts)
    failed = sum(c['failed'] for c in counts)
    no_match = sum(c['no_match'] for c in counts)
    equal = final == fresh_listing
    print(f'operations:   {n_ops} random operations ({len(churn_pending)} file names touched) until the last was '
          f'announced: {churn_seconds:.1f} s ({n_ops / churn_seconds:.0f}/s); {len(final)} descriptors at the end')
    print(f'signals:      {len(monitor.changes)} CatalogueChanged')
    print(f'clients:      4, {ok} Resolve answered, {no_match} NoMatch, {failed} failed '
          f'{json.dumps([c["errors"] for c in counts]) if failed else ""}')
    print(f'final:        {"equal to" if equal else "DIFFERENT from"} a freshly started daemon on the same tree')
    print(f'latency:      single changes: median {statistics.median(isolated) * 1000:.1f} ms, '
          f'p99 {percentile(isolated, 0.99) * 1000:.1f} ms over {len(isolated)}')
    print(f'              under churn: median {statistics.median(churn_lat) * 1000:.1f} ms, '
          f'p99 {percentile(churn_lat, 0.99) * 1000:.1f} ms over the {len(churn_lat)} operations whose file '
          f'was named in a signal (the others were undone within the same window)')
    print(f'daemon CPU:   {cpu_churn:.2f} s during the churn ({cpu_churn / churn_seconds * 100:.0f}% of one core '
          f'over {churn_seconds:.1f} s, serving 4 clients without pause), {cpu:.2f} s in all')
    target = 50 + 10
    print(f'targets:      {"PASS" if failed == 0 else "MISS"} 0 failed calls; '
          f'{"PASS" if equal else "MISS"} final catalogue equals a fresh scan; '
          f'{"PASS" if statistics.median(isolated) * 1000 <= target else "MISS"} median latency <= '
          f'debounce 50 ms + 10 ms')
    if not equal:
        names_a = [f['name'] for f in final]
        names_b = [f['name'] for f in fresh_listing]
        print('difference in names:', sorted(set(names_a) ^ set(names_b))[:20])
    shutil.rmtree(tmp, ignore_errors=True)
    return 0 if failed == 0 and equal else 1


def main():
    if len(sys.argv) == 4 and sys.argv[1] == '--client':
        return client_main(sys.argv[2], sys.argv[3])
    build = os.environ.get('FWREGISTRY_BUILD_DIR', os.path.join(os.path.dirname(__file__), '..', '..', 'build'))
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--ops', type=int, default=10000)
    p.add_argument('--seconds', type=float, default=300)
    p.add_argument('--isolated', type=int, default=200)
    p.add_argument('--seed', type=int, default=1)
    p.add_argument('--daemon', default=os.path.join(build, 'daemon', 'fwregistryd'))
    p.add_argument('--ctl', default=os.path.join(build, 'client', 'fwregistryctl'))
    return run(p.parse_args())


if __name__ == '__main__':
    sys.exit(main())
