# SPDX-License-Identifier: LGPL-2.1-or-later
"""The Debian packages that the system suite installs: built with dpkg-buildpackage from debian/, in a copy of the
source tree so that the checkout stays as it was, once for each state of the sources; then rebuilt with a higher
version, for the upgrade check. It does not judge the packages (lintian is package_test.py's) or install them."""

import email.utils
import fcntl
import glob
import hashlib
import os
import re
import shutil
import subprocess
import time

PACKAGES = ('fwregistryd', 'python3-fwregistry')
TOOLS = ('dpkg-buildpackage', 'dpkg-checkbuilddeps', 'dpkg-parsechangelog', 'dh')


class Unavailable(Exception):
    """The packages cannot be built on this machine: a tool or a build dependency is missing."""


class BuildFailed(Exception):
    """dpkg-buildpackage failed; the message ends with the last lines of its output."""


class Built:
    """The .deb files of both versions: debs[version][package] is a path."""

    def __init__(self, directory, versions, seconds, reused):
        self.directory, self.versions, self.seconds, self.reused = directory, versions, seconds, reused
        self.debs = {v: {p: _deb(os.path.join(directory, f'v{i}'), p) for p in PACKAGES}
                     for i, v in enumerate(versions)}

    @property
    def version(self):
        return self.versions[0]

    @property
    def upgrade_version(self):
        return self.versions[1]


def _deb(directory, package):
    found = glob.glob(os.path.join(directory, f'{package}_*.deb'))
    if len(found) != 1:
        raise BuildFailed(f'expected one {package} package in {directory}, found {len(found)}')
    return found[0]


def source_files(source_dir):
    """Returns the files of the source tree, relative to it: what git knows of (tracked, or new and not ignored)
    in a checkout, else everything but build directories."""
    try:
        out = subprocess.run(['git', '-C', source_dir, 'ls-files', '-z', '--cached', '--others',
                              '--exclude-standard'], capture_output=True, check=True, timeout=60).stdout
        top = subprocess.run(['git', '-C', source_dir, 'rev-parse', '--show-toplevel'], capture_output=True,
                             text=True, check=True, timeout=60).stdout.strip()
        if os.path.realpath(top) == os.path.realpath(source_dir):
            # not what a dpkg-buildpackage run in the checkout itself leaves (its meson build directory)
            return sorted(f for f in out.decode().split('\0')
                          if f and not f.startswith('obj-') and os.path.lexists(os.path.join(source_dir, f)))
    except (OSError, subprocess.CalledProcessError, subprocess.TimeoutExpired):
        pass
    files = []
    for d, dirs, names in os.walk(source_dir):
        rel = os.path.relpath(d, source_dir)
        if rel == '.':
            dirs[:] = [x for x in dirs if not x.startswith(('build', 'obj-', '.git'))]
        files += [os.path.normpath(os.path.join(rel, n)) for n in names]
    return sorted(files)


def key(source_dir, files):
    """Returns the hash of the sources' names, modes and contents: a new state of the sources builds anew. The
    system suite's own files are left out (but for its meson.build): nothing of them goes into a package, and a
    change of a check need not cost a build."""
    h = hashlib.sha256()
    for f in files:
        if f.startswith('tests/system/') and f != 'tests/system/meson.build':
            continue
        path = os.path.join(source_dir, f)
        h.update(f.encode() + b'\0' + str(os.lstat(path).st_mode).encode() + b'\0')
        if os.path.islink(path):
            h.update(os.readlink(path).encode())
        else:
            with open(path, 'rb') as fp:
                h.update(hashlib.sha256(fp.read()).digest())
    return h.hexdigest()[:16]


def snapshot_version(source_dir, changelog_version):
    """Returns the version of a build of this tree: the changelog's upstream version, then ~git, the number of
    commits and the commit (~snapshot and the date outside a checkout), then the changelog's revision."""
    upstream, _, revision = changelog_version.rpartition('-')
    upstream = re.sub(r'~.*', '', upstream or changelog_version)
    try:
        count = subprocess.run(['git', '-C', source_dir, 'rev-list', '--count', 'HEAD'], capture_output=True,
                               text=True, check=True, timeout=60).stdout.strip()
        commit = subprocess.run(['git', '-C', source_dir, 'rev-parse', '--short=7', 'HEAD'], capture_output=True,
                                text=True, check=True, timeout=60).stdout.strip()
        tag = f'git{count}.{commit}'
    except (OSError, subprocess.CalledProcessError, subprocess.TimeoutExpired):
        tag = 'snapshot' + time.strftime('%Y%m%d')
    return f'{upstream}~{tag}-{revision or "1"}'


def _changelog_entry(version, distribution, text, trailer):
    return (f'fwregistryd ({version}) {distribution}; urgency=medium\n\n  * {text}\n\n'
            f' -- {trailer}  {email.utils.formatdate(localtime=True)}\n\n')


def _run(args, cwd, log_path, timeout):
    env = dict(os.environ, LC_ALL='C.UTF-8')
    env.setdefault('DEB_BUILD_OPTIONS', f'parallel={os.cpu_count()}')
    with open(log_path, 'w') as log:
        p = subprocess.run(args, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, timeout=timeout, env=env)
    if p.returncode != 0:
        tail = '\n'.join(open(log_path, errors='replace').read().splitlines()[-30:])
        raise BuildFailed(f'{" ".join(args)} failed with exit status {p.returncode}:\n{tail}')


def _build(source_dir, files, directory):
    """Copies the tree, builds the snapshot version and its rebuild into directory/v0 and directory/v1."""
    src = os.path.join(directory, 'src', 'fwregistryd')
    for f in files:
        os.makedirs(os.path.dirname(os.path.join(src, f)), exist_ok=True)
        shutil.copy2(os.path.join(source_dir, f), os.path.join(src, f), follow_symlinks=False)
    changelog = os.path.join(src, 'debian', 'changelog')
    out = subprocess.run(['dpkg-parsechangelog', '-l', changelog], capture_output=True, text=True,
                         check=True).stdout
    fields = dict(re.findall(r'^(Version|Distribution|Maintainer): (.*)$', out, re.M))
    version = snapshot_version(source_dir, fields['Version'])
    upstream, _, revision = version.rpartition('-')
    upgrade = f'{upstream}-{int(revision) + 1}'

    # the snapshot: the changelog's top entry, with the snapshot's version
    text = open(changelog).read()
    text = re.sub(r'^(\S+) \([^)]*\)', lambda m: f'{m.group(1)} ({version})', text, count=1)
    with open(changelog, 'w') as f:
        f.write(text)
    p = subprocess.run(['dpkg-checkbuilddeps'], cwd=src, capture_output=True, text=True)
    if p.returncode != 0:
        raise Unavailable((p.stderr or p.stdout).strip() + ' (scripts/deps test installs them)')
    _run(['dpkg-buildpackage', '-us', '-uc', '-b'], src, os.path.join(directory, 'build-v0.log'), 1800)
    _collect(directory, 'v0', version)

    # the rebuild: a new changelog entry and the binary steps again, on the tree compiled above (-nc); the list
    # of files made goes, or dpkg-genchanges would look for the first build's files
    os.unlink(os.path.join(src, 'debian', 'files'))
    with open(changelog, 'w') as f:
        f.write(_changelog_entry(upgrade, fields['Distribution'],
                                 'Rebuild with a higher version, for the upgrade check of the system tests.',
                                 fields['Maintainer']) + text)
    _run(['dpkg-buildpackage', '-us', '-uc', '-b', '-nc'], src, os.path.join(directory, 'build-v1.log'), 1800)
    _collect(directory, 'v1', upgrade)
    return version, upgrade


def _collect(directory, name, version):
    """Moves what dpkg-buildpackage left next to the source tree into directory/name."""
    dest = os.path.join(directory, name)
    os.makedirs(dest)
    for f in glob.glob(os.path.join(directory, 'src', f'*_{version}_*')):
        shutil.move(f, dest)


def build(source_dir, build_dir, log):
    """Returns the Built packages of the source tree, building them first unless this state of the sources was
    built before. Raises Unavailable when this machine cannot build them, BuildFailed when the build fails."""
    missing = [t for t in TOOLS if not shutil.which(t)]
    if missing:
        raise Unavailable('not installed: ' + ', '.join(missing) + ' (scripts/deps test installs them)')
    cache = os.path.join(build_dir, 'tests', 'system', 'packages')
    os.makedirs(cache, exist_ok=True)
    with open(os.path.join(cache, '.lock'), 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)        # the modes and the lintian test build it once
        files = source_files(source_dir)
        directory = os.path.join(cache, key(source_dir, files))
        done = os.path.join(directory, 'versions')
        if os.path.exists(done):
            log(f'packages: reusing {directory}')
            return Built(directory, open(done).read().split(), 0, True)
        for old in os.listdir(cache):            # earlier states of the sources
            if old != '.lock':
                shutil.rmtree(os.path.join(cache, old), ignore_errors=True)
        os.makedirs(directory)
        log(f'packages: building {len(files)} files with dpkg-buildpackage in {directory}')
        start = time.monotonic()
        try:
            versions = _build(source_dir, files, directory)
        except BaseException:
            shutil.rmtree(directory, ignore_errors=True)
            raise
        shutil.rmtree(os.path.join(directory, 'src'), ignore_errors=True)
        with open(done, 'w') as f:
            f.write(' '.join(versions) + '\n')
        return Built(directory, list(versions), time.monotonic() - start, False)
