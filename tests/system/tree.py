# SPDX-License-Identifier: LGPL-2.1-or-later
"""The Debian 12 trees the system tests boot: built once with mmdebstrap, kept as a tar archive in a cache
outside the source tree under a name made of the hash of everything that goes into them, and reused until that
changes."""

import fcntl
import hashlib
import os
import subprocess
import tempfile

SUITE = 'bookworm'
MIRROR = os.environ.get('FWREGISTRY_SYSTEM_MIRROR', 'http://deb.debian.org/debian')

# A minimal system: what booting it and serving a bus need, and nothing a package of ours could lean on by
# accident (no procps, so no /bin/kill). The rest of what our packages need, apt installs with them.
BASE_PACKAGES = [
    'systemd', 'systemd-sysv', 'udev', 'dbus', 'dbus-user-session', 'polkitd',
    'linux-image-cloud-amd64', 'initramfs-tools',
]
VARIANTS = {
    'dbus': BASE_PACKAGES,
    'dbus-broker': BASE_PACKAGES + ['dbus-broker'],
}
# Debian's firmware packages, installed and removed with dpkg while the daemon runs
FIRMWARE_DEBS = ['ovmf', 'qemu-efi-aarch64']
# What the Depends of our packages name that the base system lacks. The booted system has no network: these and
# their own dependencies (and recommendations, which apt-get install takes by default) wait in apt's cache, with
# apt's package lists, for `apt-get install ./fwregistryd_*.deb ./python3-fwregistry_*.deb`. A dependency missing
# here makes that install fail, saying which package it could not fetch.
PACKAGE_DEPENDS = ['libinotifytools0', 'libssl3', 'libyajl2', 'python3', 'python3-gi']
# keep apt's lists and cache: by default mmdebstrap empties both
MMDEBSTRAP_OPTIONS = ['--skip=cleanup/apt/lists', '--skip=cleanup/apt/cache']

# Run in the new tree before it is archived: fetch the firmware packages and our packages' dependencies, and
# make dbus-broker the bus where the variant has it. Part of the cache key.
CUSTOMIZE = r'''
set -e
mkdir -p "$1/var/cache/fwregistryd-test/debs"
chroot "$1" sh -c 'cd /var/cache/fwregistryd-test/debs && apt-get download -q FIRMWARE_DEBS'
chroot "$1" sh -c 'rm -f /var/cache/apt/archives/*.deb && apt-get install -q -y --download-only -o APT::Install-Recommends=true PACKAGE_DEPENDS'
if [ -e "$1/usr/lib/systemd/system/dbus-broker.service" ]; then
        chroot "$1" systemctl enable dbus-broker.service
        chroot "$1" systemctl --global enable dbus-broker.service
fi
'''.replace('FIRMWARE_DEBS', ' '.join(FIRMWARE_DEBS)).replace('PACKAGE_DEPENDS', ' '.join(PACKAGE_DEPENDS))


class TreeUnavailable(Exception):
    """The tree can neither be found in the cache nor built (no archive reachable, no mmdebstrap...)."""


def cache_dir():
    """Returns the cache directory: FWREGISTRY_SYSTEM_CACHE, or a system cache for root, or XDG_CACHE_HOME."""
    if os.environ.get('FWREGISTRY_SYSTEM_CACHE'):
        return os.environ['FWREGISTRY_SYSTEM_CACHE']
    if os.geteuid() == 0:
        return '/var/cache/fwregistryd/system-tests'
    base = os.environ.get('XDG_CACHE_HOME') or os.path.expanduser('~/.cache')
    return os.path.join(base, 'fwregistryd', 'system-tests')


def key(variant):
    """Returns the hash that names a variant's archive: suite, mirror, package list and customize hook."""
    h = hashlib.sha256()
    for part in [SUITE, MIRROR, 'apt', ','.join(sorted(VARIANTS[variant])), CUSTOMIZE, *MMDEBSTRAP_OPTIONS]:
        h.update(part.encode() + b'\0')
    return h.hexdigest()[:16]


def archive(variant, log):
    """Returns the path of the variant's tar archive, building it first when the cache does not have it.
    Raises TreeUnavailable with the reason when it cannot be built."""
    d = cache_dir()
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, f'debian-{SUITE}-{variant}-{key(variant)}.tar')
    with open(os.path.join(d, '.lock'), 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)     # two runs at once build it once
        if os.path.exists(path):
            log(f'tree: reusing {path}')
            return path
        fd, tmp = tempfile.mkstemp(prefix='.building-', suffix='.tar', dir=d)
        os.close(fd)
        try:
            log(f'tree: building {path} with mmdebstrap')
            p = subprocess.run(['mmdebstrap', '--variant=apt', '--mode=root', '--format=tar',
                                '--include=' + ','.join(VARIANTS[variant]),
                                '--customize-hook=' + CUSTOMIZE, *MMDEBSTRAP_OPTIONS,
                                SUITE, tmp, MIRROR],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=900)
            if p.returncode != 0:
                tail = '\n'.join(p.stdout.splitlines()[-15:])
                raise TreeUnavailable(f'mmdebstrap failed (exit status {p.returncode}):\n{tail}')
            os.rename(tmp, path)
        except FileNotFoundError as e:
            raise TreeUnavailable(f'cannot run mmdebstrap: {e}')
        except subprocess.TimeoutExpired:
            raise TreeUnavailable('mmdebstrap did not finish within 15 minutes')
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return path
