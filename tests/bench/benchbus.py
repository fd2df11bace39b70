# SPDX-License-Identifier: LGPL-2.1-or-later
"""What the Python benchmarks share: fwregistryd's bus names and a private system bus for the daemon under
test, so that nothing touches the machine's own bus."""

import os
import signal
import subprocess

BUS_NAME = 'io.github.fwregistryd.FirmwareRegistry1'
MANAGER_PATH = '/io/github/fwregistryd/FirmwareRegistry1'
MANAGER_IFACE = BUS_NAME + '.Manager'

# Like the real system bus, everyone may connect, call and own names; replies are not limited, as the
# benchmarks keep many calls in flight.
BUS_CONFIG = '''<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:dir={dir}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
  </policy>
  <limit name="max_replies_per_connection">1000000</limit>
</busconfig>
'''


class Bus:
    """A dbus-daemon of its own, its socket and configuration in tmp/name; stop() ends it."""

    def __init__(self, tmp, name):
        self.dir = os.path.join(tmp, name)
        os.makedirs(self.dir)
        conf = os.path.join(self.dir, 'bus.conf')
        with open(conf, 'w') as f:
            f.write(BUS_CONFIG.format(dir=self.dir))
        out = subprocess.check_output(['dbus-daemon', '--config-file', conf, '--fork', '--print-address=1',
                                       '--print-pid=1'], text=True).split()
        self.address, self.pid = out[0], int(out[1])

    def env(self, **extra):
        """The environment for a process that should take this bus for the system bus."""
        return dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=self.address, **extra)

    def stop(self):
        os.kill(self.pid, signal.SIGTERM)
