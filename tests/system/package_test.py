#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The Debian packages, before anything installs them: dpkg-buildpackage builds fwregistryd and python3-fwregistry
from debian/ in a copy of the source tree, the rebuild for the upgrade check has a higher version, and lintian
finds no error and no warning. Prints TAP, with the versions, what each package contains and lintian's output as
evidence. The system test modes install the same files.

    package_test.py SOURCE_DIR BUILD_DIR"""

import os
import pwd
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import package  # noqa: E402

n = 0


def result(ok, name, evidence=''):
    global n
    n += 1
    print(f'{"ok" if ok else "not ok"} {n} - {name}')
    for line in evidence.rstrip('\n').splitlines():
        print('# ' + line)
    sys.stdout.flush()


def output(args, **kw):
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600, **kw)
    return p.returncode, p.stdout


def lintian(debs):
    """lintian on the packages, as an unprivileged user when run as root (lintian advises against root). Its
    tags are judged from its output: lintian 2.116 exits with 2 when --fail-on meets --show-overrides."""
    args = ['lintian', '--display-info', '--show-overrides', *debs]
    if os.geteuid() == 0:
        nobody = pwd.getpwnam('nobody')
        args = ['setpriv', f'--reuid={nobody.pw_uid}', f'--regid={nobody.pw_gid}', '--clear-groups',
                'env', 'HOME=/nonexistent', *args]
    return output(args, cwd='/')


def main():
    source_dir, build_dir = sys.argv[1:3]
    try:
        built = package.build(source_dir, build_dir, lambda msg: print('# ' + msg, flush=True))
    except package.Unavailable as e:
        print('1..0 # SKIP cannot build the Debian packages: ' + str(e).replace('\n', ' / '))
        return
    except (package.BuildFailed, subprocess.SubprocessError, OSError) as e:
        result(False, 'dpkg-buildpackage builds fwregistryd and python3-fwregistry', str(e))
        print(f'1..{n}')
        return

    evidence = [f'versions: {built.version} and, rebuilt, {built.upgrade_version} '
                + ('(built before, for these sources)' if built.reused else f'({built.seconds:.0f} s)')]
    for name, deb in built.debs[built.version].items():
        _, fields = output(['dpkg-deb', '--field', deb, 'Version', 'Depends', 'Installed-Size'])
        _, contents = output(['dpkg-deb', '--contents', deb])
        files = [line.split()[-1] for line in contents.splitlines() if not line.startswith('d')]
        evidence += [f'{os.path.basename(deb)}: {len(files)} files', *('  ' + f for f in fields.splitlines()),
                     *('  ' + f for f in files)]
    result(True, 'dpkg-buildpackage builds fwregistryd and python3-fwregistry', '\n'.join(evidence))

    rc, _ = output(['dpkg', '--compare-versions', built.upgrade_version, 'gt', built.version])
    result(rc == 0, 'the rebuild for the upgrade check has a higher version',
           f'{built.upgrade_version} > {built.version}: {"yes" if rc == 0 else "no"}')

    if not shutil.which('lintian'):
        print(f'ok {n + 1} - lintian: no error, no warning # SKIP lintian is not installed (scripts/deps test)')
        print(f'1..{n + 1}')
        return
    debs = sorted(os.path.join(built.directory, 'v0', f) for f in os.listdir(os.path.join(built.directory, 'v0'))
                  if f.endswith('.deb'))
    rc, out = lintian(debs)
    found = [line for line in out.splitlines() if re.match(r'[EW]: ', line)]
    result(rc == 0 and not found, 'lintian: no error, no warning',
           f'lintian {" ".join(os.path.basename(d) for d in debs)}: exit status {rc}\n{out or "(no output)"}')
    print(f'1..{n}')


if __name__ == '__main__':
    main()
