#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""fwregistryctl nvram audit of many stores, with the files in the page cache (DESIGN section 8: 1,000 stores of
540 KiB in under 2 s on two cores), --offline and through the daemon on a private bus; and the conversion of one
store, per call. Prints the numbers.

    bench-audit.py [--stores N] [--build DIR]"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, '..', 'data', 'varstores')
STORES = [os.path.join(DATA, 'ovmf-4m-ms-booted.fd'), '/usr/share/OVMF/OVMF_VARS_4M.ms.fd',
          '/usr/share/OVMF/OVMF_VARS_4M.fd']
BUS_CONF = '''<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>session</type><listen>unix:dir={dir}</listen>
<policy context="default"><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/>
<allow own="*"/></policy></busconfig>
'''


def timed(argv, env=None, runs=3):
    best = None
    for _ in range(runs):
        start = time.monotonic()
        p = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        took = time.monotonic() - start
        if p.returncode not in (0, 1):
            sys.exit(f'{" ".join(argv[:4])}...: exit status {p.returncode}: {p.stderr}')
        best = took if best is None else min(best, took)
    return best


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--stores', type=int, default=1000)
    parser.add_argument('--build', default=os.path.join(HERE, '..', '..', 'build'))
    args = parser.parse_args()
    ctl = os.path.join(args.build, 'client', 'fwregistryctl')
    daemon = os.path.join(args.build, 'daemon', 'fwregistryd')
    sources = [s for s in STORES if os.path.exists(s)]
    with tempfile.TemporaryDirectory(prefix='bench-audit-') as tmp:
        d = os.path.join(tmp, 'nvram')
        os.mkdir(d)
        for i in range(args.stores):
            shutil.copy(sources[i % len(sources)], os.path.join(d, f'vm{i:04d}_VARS.fd'))
        subprocess.run(['cat'] + [os.path.join(d, n) for n in os.listdir(d)], stdout=subprocess.DEVNULL)  # cache
        offline = timed([ctl, '--offline', 'nvram', 'audit', d])
        print(f'nvram audit --offline of {args.stores} stores of 540 KiB: {offline:.2f} s '
              f'({offline / args.stores * 1000:.2f} ms a store)')

        conf = os.path.join(tmp, 'bus.conf')
        with open(conf, 'w') as f:
            f.write(BUS_CONF.format(dir=tmp))
        bus = subprocess.run(['dbus-daemon', f'--config-file={conf}', '--fork', '--print-address=1',
                              '--print-pid=1'], capture_output=True, text=True, check=True).stdout.split()
        env = dict(os.environ, DBUS_SESSION_BUS_ADDRESS=bus[0])
        log = open(os.path.join(tmp, 'daemon.log'), 'w')
        fw = subprocess.Popen([daemon, '--user'], env=env, stderr=log)
        try:
            deadline = time.monotonic() + 60
            while subprocess.run(['busctl', '--user', 'status', 'io.github.fwregistryd.FirmwareRegistry1'],
                                 env=env, capture_output=True).returncode != 0:
                if time.monotonic() > deadline or fw.poll() is not None:
                    sys.exit('fwregistryd did not come up: ' + open(log.name).read())
                time.sleep(0.1)
            online = timed([ctl, '--user', 'nvram', 'audit', d], env=env)
            print(f'nvram audit through the daemon of {args.stores} stores: {online:.2f} s '
                  f'({online / args.stores * 1000:.2f} ms a store)')
            one = os.path.join(d, 'vm0000_VARS.fd')
            times = []
            for i in range(20):
                new = os.path.join(tmp, f'new{i}.fd')
                start = time.monotonic()
                subprocess.run([ctl, '--user', 'nvram', 'migrate', one, new, '--arch=x86_64', '--no-secure-boot'],
                               env=env, check=True, stdout=subprocess.DEVNULL)
                times.append(time.monotonic() - start)
            print(f'nvram migrate of one store through the daemon, whole command: median '
                  f'{statistics.median(times) * 1000:.1f} ms, best {min(times) * 1000:.1f} ms')
        finally:
            fw.terminate()
            fw.wait()
            subprocess.run(['kill', bus[1]])


if __name__ == '__main__':
    main()
