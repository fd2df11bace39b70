#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""One system test run: a Debian 12 tree booted with systemd as PID 1, into which the checks, from inside, install
the project's Debian packages with apt, then upgrade, remove and purge them. Prints TAP (one line per check, with
its evidence) for meson.

    system_test.py SOURCE_DIR BUILD_DIR MODE        MODE: nspawn, vm or dbus-broker

A tree that cannot be had (no archive reachable, not root, no systemd-nspawn or QEMU) is a skip with the reason;
a system that boots but whose checks never report is a failure, with the last lines of its console."""

import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import package  # noqa: E402
import tree  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DONE = '# fwregistryd-system-test: done'
MODES = {
    # mode: (tree variant, how it boots, seconds from the boot until the checks must have reported)
    'nspawn': ('dbus', 'nspawn', 600),
    'dbus-broker': ('dbus-broker', 'nspawn', 600),
    'vm': ('dbus', 'qemu', 1800),
}
TEST_USERS = [('fwtest', 1500), ('fwtest-admin', 1501)]

FIXTURES = '/usr/local/libexec/fwregistryd-test'
PACKAGES = '/var/cache/fwregistryd-test/packages'      # install/ and upgrade/, each with both .deb files

# Test fixtures, not part of the package: the check script and the unit that runs it, the client that calls
# Resolve during the upgrade, and a polkit rule that lets one test user reload.
FIXTURE_UNIT = '''[Unit]
Description=fwregistryd system test checks (test fixture)
After=polkit.service dbus.service

[Service]
# not a oneshot: its start job ends at once, so the boot can reach "running" while the checks wait for it
Type=simple
Environment=FWREGISTRY_TEST_BUS={bus}
ExecStart=/usr/local/libexec/fwregistryd-test/checks
StandardOutput=journal+console
StandardError=journal+console

[Install]
WantedBy=multi-user.target
'''
FIXTURE_RULE = '''// test fixture: fwtest-admin may reload the firmware registry without authentication
polkit.addRule(function(action, subject) {
        if (action.id == "io.github.fwregistryd.FirmwareRegistry1.reload" && subject.user == "fwtest-admin")
                return polkit.Result.YES;
});
'''


def log(msg):
    print('# ' + msg.replace('\n', '\n# '), flush=True)


def skip(reason):
    print('1..0 # SKIP ' + reason.replace('\n', ' / '), flush=True)
    sys.exit(0)


def run(args, **kw):
    """Runs a command to its end; its output shows only when it fails (TAP keeps stdout for results)."""
    kw.setdefault('timeout', 600)
    if 'stdout' not in kw and 'capture_output' not in kw:
        kw.update(stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    p = subprocess.run(args, **kw)
    if p.returncode != 0:
        log(f'{" ".join(args)} failed with exit status {p.returncode}:\n{p.stdout or ""}{p.stderr or ""}')
        raise subprocess.CalledProcessError(p.returncode, args)
    return p


def chroot(root, *args):
    run(['chroot', root, *args], env={'PATH': '/usr/sbin:/usr/bin:/sbin:/bin'})


def prepare(root, variant, archive_path, built):
    """Unpacks the tree, puts both versions of the packages where the checks install them from (the checks
    install them: nothing of the project is in the tree at boot), then adds the test fixtures."""
    run(['tar', '-C', root, '--numeric-owner', '-xpf', archive_path])
    for name, version in (('install', built.version), ('upgrade', built.upgrade_version)):
        d = os.path.join(root, PACKAGES.lstrip('/'), name)
        os.makedirs(d)
        for deb in built.debs[version].values():
            shutil.copy(deb, d)
            os.chmod(os.path.join(d, os.path.basename(deb)), 0o644)
    # test fixtures
    for name, uid in TEST_USERS:
        chroot(root, 'useradd', '--create-home', '--uid', str(uid), '--user-group', name)
    d = os.path.join(root, FIXTURES.lstrip('/'))
    os.makedirs(d)
    for source, name in (('checks.sh', 'checks'), ('resolve-loop.py', 'resolve-loop')):
        shutil.copy(os.path.join(HERE, source), os.path.join(d, name))
        os.chmod(os.path.join(d, name), 0o755)
    with open(os.path.join(root, 'etc/systemd/system/fwregistryd-test.service'), 'w') as f:
        f.write(FIXTURE_UNIT.format(bus=variant))
    chroot(root, 'systemctl', 'enable', 'fwregistryd-test.service')
    with open(os.path.join(root, 'etc/polkit-1/rules.d/50-fwregistryd-test.rules'), 'w') as f:
        f.write(FIXTURE_RULE)
    os.makedirs(os.path.join(root, 'var/lib/fwregistryd-test'), exist_ok=True)
    with open(os.path.join(root, 'etc/hostname'), 'w') as f:
        f.write('fwregistryd-test\n')


def wait(proc, results, console, deadline):
    """Polls until the checks report that they are done and the system powered off, the system stops, or the
    deadline passes. Returns True when the checks reported."""
    done_at = None
    while time.monotonic() < deadline:
        done = os.path.exists(results) and DONE in open(results, errors='replace').read()
        if done and done_at is None:
            done_at = time.monotonic()
        if proc.poll() is not None:
            return done
        if done_at is not None and time.monotonic() - done_at > 60:
            log('the system did not power off within 60 s of the last check')
            return True
        time.sleep(0.5)
    log('deadline passed: the checks did not finish in time')
    return os.path.exists(results) and DONE in open(results, errors='replace').read()


def ignore_signals():
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)


def stop(proc):
    """Ends a boot that is still running: a clean poweroff request first, then SIGKILL."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def boot_nspawn(work, root, console_path, deadline):
    results_dir = os.path.join(work, 'results')
    os.makedirs(results_dir)
    args = ['systemd-nspawn', '--boot', '--keep-unit', '--register=no', '--private-network', '--console=pipe',
            f'--machine=fwregistryd-test-{os.getpid()}', '-D', root,
            f'--bind={results_dir}:/var/lib/fwregistryd-test']
    results = os.path.join(results_dir, 'results.tap')
    with open(console_path, 'w') as console:
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=console, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            ok = wait(proc, results, console_path, deadline)
        finally:
            ignore_signals()        # a second signal must not cut the cleanup short
            stop(proc)
    return ok, results


def kvm_works(kernel):
    """Whether this machine's KVM runs Debian's kernel: boots it with no root file system and waits a short
    while for its first lines. /dev/kvm may exist and still not run it."""
    if not os.access('/dev/kvm', os.R_OK | os.W_OK):
        return False
    with tempfile.NamedTemporaryFile(prefix='fwregistryd-kvm-probe-') as out:
        proc = subprocess.Popen(['qemu-system-x86_64', '-accel', 'kvm', '-m', '256', '-display', 'none',
                                 '-no-reboot', '-nic', 'none', '-serial', f'file:{out.name}', '-monitor', 'none',
                                 '-kernel', kernel, '-append', 'console=ttyS0 panic=-1'],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 10
            seen = False
            while time.monotonic() < deadline and proc.poll() is None and not seen:
                seen = b'Linux version' in open(out.name, 'rb').read()
                time.sleep(0.2)
        finally:
            stop(proc)
        return seen or b'Linux version' in open(out.name, 'rb').read()


def boot_vm(work, root, console_path, deadline):
    kernel = sorted(glob.glob(os.path.join(root, 'boot/vmlinuz-*')))[-1]
    initrd = sorted(glob.glob(os.path.join(root, 'boot/initrd.img-*')))[-1]
    kernel_copy, initrd_copy = os.path.join(work, 'vmlinuz'), os.path.join(work, 'initrd.img')
    shutil.copy(kernel, kernel_copy)
    shutil.copy(initrd, initrd_copy)
    image = os.path.join(work, 'disk.img')
    used = int(run(['du', '-sxm', root], capture_output=True, text=True).stdout.split()[0])
    run(['mkfs.ext4', '-q', '-F', '-L', 'fwregistryd-test', '-d', root, image, f'{used + 768}M'])
    shutil.rmtree(root)     # the image has it now; free the space early
    accel = 'kvm' if kvm_works(kernel_copy) else 'tcg'
    log(f'VM: QEMU with {accel.upper()}')
    results = os.path.join(work, 'results.tap')
    args = ['qemu-system-x86_64', '-machine', 'q35', '-accel', accel, '-m', '1024', '-smp', '1',
            '-display', 'none', '-no-reboot', '-nic', 'none', '-monitor', 'none',
            '-drive', f'file={image},format=raw,if=virtio',
            '-serial', f'file:{console_path}', '-serial', f'file:{results}',
            '-kernel', kernel_copy, '-initrd', initrd_copy,
            '-append', 'root=/dev/vda rw console=ttyS0 panic=-1 systemd.show_status=auto']
    if accel == 'kvm':
        args += ['-cpu', 'host']
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        ok = wait(proc, results, console_path, deadline)
    finally:
        ignore_signals()
        stop(proc)
    return ok, results


def report(ok, results, console_path):
    """Passes the checks' TAP on, or fails with the console's last lines when they never reported."""
    text = open(results, errors='replace').read().replace('\r', '') if os.path.exists(results) else ''
    if not text.endswith('\n'):
        text = text.rpartition('\n')[0]      # a line cut short by the end of the system is no result
    lines = [line for line in text.splitlines()
             if line.startswith(('ok ', 'not ok ', '# ')) or re.fullmatch(r'1\.\.\d+', line)]
    if not ok:
        n = sum(1 for line in lines if line.startswith(('ok ', 'not ok ')))
        for line in lines:
            if not line.startswith('1..'):
                print(line)
        print(f'not ok {n + 1} - checks reported and the system powered off')
        console = open(console_path, errors='replace').read().replace('\r', '').splitlines()
        print('# console, last lines:')
        for line in console[-40:]:
            print('#   ' + line)
        print(f'1..{n + 1}')
        return
    for line in lines:
        print(line)


def main():
    # meson's timeout and Ctrl-C end this process: the finally blocks stop the boot and remove the tree
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda *_: sys.exit(1))
    source_dir, build_dir, mode = sys.argv[1:4]
    variant, how, timeout = MODES[mode]
    if os.geteuid() != 0:
        skip('needs root (mmdebstrap, systemd-nspawn and the tree are root-owned)')
    needed = ['mmdebstrap', 'systemd-nspawn'] if how == 'nspawn' else ['mmdebstrap', 'qemu-system-x86_64',
                                                                        'mkfs.ext4']
    missing = [p for p in needed if not shutil.which(p)]
    if missing:
        skip('not installed: ' + ', '.join(missing))
    start = time.monotonic()
    try:
        archive_path = tree.archive(variant, log)
    except tree.TreeUnavailable as e:
        skip(f'cannot build the Debian 12 tree: {e}')
    log(f'tree ready after {time.monotonic() - start:.0f} s')
    try:
        built = package.build(source_dir, build_dir, log)
    except package.Unavailable as e:
        skip(f'cannot build the Debian packages: {e}')
    except (package.BuildFailed, subprocess.CalledProcessError, subprocess.TimeoutExpired) as e:
        print('not ok 1 - the Debian packages build\n# ' + str(e).replace('\n', '\n# ') + '\n1..1')
        return
    log(f'packages {built.version} and {built.upgrade_version} ready after {time.monotonic() - start:.0f} s')
    work = tempfile.mkdtemp(prefix=f'fwregistryd-system-{mode}-', dir='/var/tmp')
    try:
        root = os.path.join(work, 'root')
        os.makedirs(root)
        try:
            prepare(root, variant, archive_path, built)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as e:
            print(f'not ok 1 - the tree is prepared for the boot\n# {e}\n1..1')
            return
        log(f'tree prepared after {time.monotonic() - start:.0f} s')
        console_path = os.path.join(work, 'console.log')
        deadline = time.monotonic() + timeout
        boot = boot_nspawn if how == 'nspawn' else boot_vm
        ok, results = boot(work, root, console_path, deadline)
        log(f'{mode}: booted, checked and powered off after {time.monotonic() - start:.0f} s')
        report(ok, results, console_path)
    finally:
        ignore_signals()        # a second signal must not cut the cleanup short
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
