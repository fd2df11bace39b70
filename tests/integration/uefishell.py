# SPDX-License-Identifier: LGPL-2.1-or-later
"""A VM that boots OVMF under QEMU (TCG) to its built-in UEFI shell and is typed at over the serial console:
what a real firmware writes into a varstore, without a disk or a guest OS. Used by the tests that need a store
that firmware has booted with (boot entries, superseded copies of variables) and that check a converted store
still boots."""

import os
import re
import select
import subprocess
import time

PROMPT = b'Shell> '
ANSI = re.compile(rb'\x1b\[[0-9;=?]*[A-Za-z]')


class ShellError(AssertionError):
    pass


class UefiShell:
    """qemu-system-x86_64 on a q35 machine with CODE read-only and VARS writable; smm for the Secure Boot builds."""

    def __init__(self, code, varstore, smm=False, seconds=180, until=PROMPT):
        self.seconds = seconds
        self.cmd = ['qemu-system-x86_64', '-accel', 'tcg', '-m', '512', '-nodefaults', '-display', 'none',
                    '-no-reboot', '-machine', f'q35,smm={"on" if smm else "off"}', '-serial', 'stdio']
        if smm:
            self.cmd += ['-global', 'driver=cfi.pflash01,property=secure,value=on']
        self.cmd += ['-drive', f'if=pflash,unit=0,format=raw,file={code},readonly=on',
                     '-drive', f'if=pflash,unit=1,format=raw,file={varstore}']
        self.out = b''
        self.qemu = None
        self.until = until

    def __enter__(self):
        self.start = time.monotonic()
        self.qemu = subprocess.Popen(self.cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        self.wait_for(self.until)
        self.booted = time.monotonic() - self.start
        return self

    def __exit__(self, *exc):
        if self.qemu.poll() is None:
            self.qemu.kill()
        self.qemu.wait()
        self.qemu.stdin.close()
        self.qemu.stdout.close()

    def text(self):
        """What the console printed so far, without terminal escapes."""
        return ANSI.sub(b'', self.out).decode(errors='replace')

    def wait_for(self, pattern, seconds=None):
        deadline = time.monotonic() + (seconds or self.seconds)
        mark = len(self.out)
        while pattern not in self.out[mark:]:
            left = deadline - time.monotonic()
            if left <= 0 or self.qemu.poll() is not None:
                raise ShellError(f'no {pattern!r} on the console in time\n{" ".join(self.cmd)}\n'
                                 f'{self.text()[-2000:]}')
            ready, _, _ = select.select([self.qemu.stdout], [], [], min(left, 1.0))
            if ready:
                data = os.read(self.qemu.stdout.fileno(), 65536)
                if not data:
                    continue
                self.out += data

    def type(self, line):
        """One shell command, a key at a time (the console drops keys sent faster than the firmware polls);
        returns what it printed."""
        mark = len(self.out)
        for c in line.encode() + b'\r':
            self.qemu.stdin.write(bytes([c]))
            self.qemu.stdin.flush()
            time.sleep(0.01)
        self.wait_for(PROMPT, 60)
        return ANSI.sub(b'', self.out[mark:]).decode(errors='replace')

    def stop(self):
        """For a firmware that never reaches the shell (Secure Boot refuses the unsigned shell): QEMU ends on
        SIGTERM as on a power button, after what the firmware has written is in the file."""
        self.qemu.terminate()
        return self.qemu.wait(60)

    def shutdown(self):
        """'reset -s': the firmware powers the VM off after writing what it holds; QEMU then exits."""
        for c in b'reset -s\r':
            self.qemu.stdin.write(bytes([c]))
            self.qemu.stdin.flush()
            time.sleep(0.01)
        try:
            return self.qemu.wait(60)
        except subprocess.TimeoutExpired:
            raise ShellError('the VM did not power off after reset -s')
