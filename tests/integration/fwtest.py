# SPDX-License-Identifier: LGPL-2.1-or-later
"""Shared pieces of the integration tests: a private system bus, the real fwregistryd from the build tree
running with --root at a temporary tree, descriptor fixtures, and waiting with deadlines instead of sleeps."""

import atexit
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import dbus
import dbus.mainloop.glib
import dbusmock
from gi.repository import GLib

BUILD_DIR = os.environ.get('FWREGISTRY_BUILD_DIR', os.path.join(os.path.dirname(__file__), '..', '..', 'build'))
DAEMON = os.path.join(BUILD_DIR, 'daemon', 'fwregistryd')
CTL = os.path.join(BUILD_DIR, 'client', 'fwregistryctl')
SOURCE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..')
# set by the test command to run the daemon under valgrind
WRAPPER = shlex.split(os.environ.get('FWREGISTRY_WRAPPER', ''))
SLOW = 20 if WRAPPER else 1

BUS_NAME = 'io.github.fwregistryd.FirmwareRegistry1'
MANAGER_PATH = '/io/github/fwregistryd/FirmwareRegistry1'
MANAGER_IFACE = BUS_NAME + '.Manager'
FIRMWARE_IFACE = BUS_NAME + '.Firmware'
FIRMWARE_PREFIX = MANAGER_PATH + '/firmware'
ERROR_NO_MATCH = BUS_NAME + '.Error.NoMatch'
ERROR_NO_SUCH_FIRMWARE = BUS_NAME + '.Error.NoSuchFirmware'
INVALID_ARGS = 'org.freedesktop.DBus.Error.InvalidArgs'
RELOAD_ACTION = BUS_NAME + '.reload'
NOBODY = 65534

USR = 'usr/share/qemu/firmware'
ETC = 'etc/qemu/firmware'

# A bus that, like the real system bus, lets every user connect and call, and anyone own names (the real
# policy file is tested separately).
BUS_CONFIG = '''<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:tmpdir=/tmp</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
  </policy>
</busconfig>
'''

dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)

# A daemon started without --root keeps its cache where $CACHE_DIRECTORY says, else in /var/cache/fwregistryd:
# the test run's own directory, never the host's.
os.environ['CACHE_DIRECTORY'] = tempfile.mkdtemp(prefix='fwregistryd-cache-')
atexit.register(shutil.rmtree, os.environ['CACHE_DIRECTORY'], ignore_errors=True)


def flash(code, vars_, arch='x86_64', machines=('pc-q35-*',), features=(), fmt='raw', description=None):
    return {
        'description': description or f'test firmware {code}',
        'interface-types': ['uefi'],
        'mapping': {
            'device': 'flash',
            'executable': {'filename': f'/fw/{code}', 'format': fmt},
            'nvram-template': {'filename': f'/fw/{vars_}', 'format': fmt},
        },
        'targets': [{'architecture': arch, 'machines': list(machines)}],
        'features': list(features),
        'tags': [],
    }


# The standard tree: a Debian-like OVMF set plus one of every verdict Explain can give.
STANDARD_TREE = {
    f'{USR}/40-x86-enrolled.json': flash('CODE.secboot.fd', 'VARS.ms.fd',
                                         features=['acpi-s3', 'enrolled-keys', 'requires-smm', 'secure-boot']),
    f'{USR}/50-x86-secure.json': flash('CODE.secboot.fd', 'VARS.fd',
                                       features=['acpi-s3', 'requires-smm', 'secure-boot']),
    f'{USR}/60-x86.json': flash('CODE.fd', 'VARS.fd', machines=('pc-q35-*', 'pc-i440fx-*'), features=['acpi-s3']),
    f'{USR}/60-aarch64.json': flash('AA_CODE.fd', 'AA_VARS.fd', arch='aarch64', machines=('virt-*',)),
    f'{USR}/70-masked.json': flash('CODE.fd', 'VARS.fd'),
    f'{ETC}/70-masked.json': '',
    f'{USR}/75-shadowed.json': flash('CODE.fd', 'VARS.fd', description='the distribution copy'),
    f'{ETC}/75-shadowed.json': flash('CODE.fd', 'VARS.fd', features=['verbose-static'],
                                     description='the admin copy'),
    f'{USR}/80-missing-image.json': flash('GONE.fd', 'VARS.fd'),
    f'{USR}/90-invalid.json': '{ "interface-types": [ "efi" ], ',
}
IMAGES = ['CODE.secboot.fd', 'VARS.ms.fd', 'VARS.fd', 'CODE.fd', 'AA_CODE.fd', 'AA_VARS.fd']


def write_tree(root, tree, images=IMAGES):
    for rel, content in tree.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            f.write(content if isinstance(content, str) else json.dumps(content, indent=2))
    os.makedirs(os.path.join(root, 'fw'), exist_ok=True)
    for name in images:
        with open(os.path.join(root, 'fw', name), 'w') as f:
            f.write('image')


def wait_until(predicate, timeout=10, what='condition'):
    """Polls predicate (and the GLib main context, so signals arrive) until it is true or time runs out."""
    deadline = time.monotonic() + timeout * SLOW
    ctx = GLib.MainContext.default()
    while True:
        while ctx.pending():
            ctx.iteration(False)
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f'timed out waiting for {what}')
        # block in the main loop for at most 20 ms: signals wake it at once
        source = GLib.timeout_add(20, lambda: False)
        ctx.iteration(True)
        GLib.source_remove(source) if ctx.find_source_by_id(source) else None


class DaemonTestCase(dbusmock.DBusTestCase):
    """Each test gets a fresh tree and a fresh daemon; the bus and polkit live for the class."""

    tree = STANDARD_TREE
    daemon_args = []
    bus_config = BUS_CONFIG

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = tempfile.mkdtemp(prefix='fwregistryd-it-')
        conf = os.path.join(cls.tmp, 'bus.conf')
        with open(conf, 'w') as f:
            f.write(cls.bus_config)
        cls.bus_pid, address = cls.start_dbus(conf=conf)
        cls.addClassCleanup(cls.stop_dbus, cls.bus_pid)     # also when the rest of setUpClass fails
        os.environ['DBUS_SYSTEM_BUS_ADDRESS'] = address
        # bus sockets land in /tmp: let other users reach it for the unprivileged-caller tests
        cls.bus_address = address
        socket_path = address.split('path=')[1].split(',')[0] if 'path=' in address else None
        if socket_path:
            os.chmod(socket_path, 0o777)
        cls.polkitd, cls.polkitd_obj = cls.start_polkit()
        cls.addClassCleanup(cls.polkitd.wait)
        cls.addClassCleanup(cls.polkitd.terminate)

    @classmethod
    def start_polkit(cls):
        """polkit is not ours to run: dbusmock's polkitd template stands in for it."""
        return cls.spawn_server_template('polkitd', {}, stdout=subprocess.DEVNULL)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)
        super().tearDownClass()

    def setUp(self):
        self.root = tempfile.mkdtemp(prefix='root-', dir=self.tmp)
        write_tree(self.root, self.tree)
        self.bus = dbus.bus.BusConnection(self.bus_address)
        self.start_daemon()

    def tearDown(self):
        self.stop_daemon()
        self.bus.close()

    def run(self, result=None):
        # print the daemon's log when a test fails: that is where the reason usually is
        failures = len(result.failures) + len(result.errors) if result else 0
        super().run(result)
        if result and len(result.failures) + len(result.errors) > failures and getattr(self, 'log_path', None):
            with open(self.log_path, errors='replace') as f:
                sys.stderr.write(f'\n--- fwregistryd log ---\n{f.read()}--- end of log ---\n')

    def start_daemon(self, *extra, unperturbed=False, prefix=()):
        """Starts the daemon on the test's bus. unperturbed: without meson's MALLOC_PERTURB_, for tests that
        judge the daemon's memory (with it, a leak did not show in VmRSS: see test_hostile's memory tests).
        prefix: a command that execs the rest (a mount namespace of its own, say)."""
        self.log_path = os.path.join(self.root, 'daemon.log')
        self.log = open(self.log_path, 'a')
        env = dict(os.environ, FWREGISTRYD_LOG_LEVEL='debug')
        if unperturbed:
            env.pop('MALLOC_PERTURB_', None)
        # under valgrind everything is slower: widen the window so one burst of changes still lands in one
        debounce = [f'--debounce={50 * SLOW}'] if WRAPPER else []
        self.daemon = subprocess.Popen([*prefix, *WRAPPER, DAEMON, '--system', '--root', self.root, *debounce,
                                        *self.daemon_args, *extra], stdout=self.log, stderr=subprocess.STDOUT,
                                       env=env)
        wait_until(lambda: self.daemon.poll() is not None or self.bus.name_has_owner(BUS_NAME),
                   what='fwregistryd to take its name')
        self.assertIsNone(self.daemon.poll(), 'fwregistryd exited during start-up')
        self.manager = dbus.Interface(self.bus.get_object(BUS_NAME, MANAGER_PATH), MANAGER_IFACE)

    def stop_daemon(self):
        if self.daemon.poll() is None:
            self.daemon.send_signal(signal.SIGTERM)
            self.daemon.wait(timeout=30 * SLOW)
        self.log.close()
        self.assertEqual(self.daemon.returncode, 0, 'fwregistryd did not exit cleanly (valgrind errors, if any, '
                                                    'are in its log)')

    # helpers

    def record_signals(self):
        """Starts recording the daemon's signals, in order, as (member, path, args) tuples."""
        self.signals = []

        def handler(*args, member=None, path=None):
            self.signals.append((str(member), str(path), args))

        for iface in (MANAGER_IFACE, 'org.freedesktop.DBus.ObjectManager', dbus.PROPERTIES_IFACE):
            self.bus.add_signal_receiver(handler, dbus_interface=iface, bus_name=BUS_NAME,
                                         member_keyword='member', path_keyword='path')
        # a round trip makes sure the match rules are in place before anything happens
        self.prop('Generation')

    def wait_for_change(self, generation):
        """Waits for CatalogueChanged with this generation; returns (added, removed, modified)."""
        def found():
            for member, _, args in self.signals:
                if member == 'CatalogueChanged' and int(args[0]) == generation:
                    return [sorted(str(x) for x in a) for a in args[1:]]
            return None
        return wait_until(found, what=f'CatalogueChanged for generation {generation}')

    def write(self, rel, content):
        write_tree(self.root, {rel: content}, images=[])

    def remove(self, rel):
        os.unlink(os.path.join(self.root, rel))

    def prop(self, name, path=MANAGER_PATH, iface=MANAGER_IFACE):
        return self.bus.get_object(BUS_NAME, path).Get(iface, name, dbus_interface=dbus.PROPERTIES_IFACE)

    def resolve(self, **request):
        return self.manager.Resolve(dbus.Dictionary(request, signature='sv'))

    def explain(self, **request):
        path, verdicts = self.manager.Explain(dbus.Dictionary(request, signature='sv'))
        return str(path), {(str(n), str(v)): [str(r) for r in reasons] for n, v, reasons in verdicts}

    def list(self, **filter_):
        generation, items = self.manager.List(dbus.Dictionary(filter_, signature='sv'))
        return int(generation), [(str(p), {str(k): v for k, v in d.items()}) for p, d in items]

    def assert_dbus_error(self, name, fn, *args, contains=None, **kwargs):
        with self.assertRaises(dbus.exceptions.DBusException) as cm:
            fn(*args, **kwargs)
        self.assertEqual(cm.exception.get_dbus_name(), name, cm.exception.get_dbus_message())
        if contains:
            self.assertIn(contains, cm.exception.get_dbus_message())
        return cm.exception.get_dbus_message()

    def ctl_env(self):
        return dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=self.bus_address)

    def ctl_argv(self, *args):
        return [*WRAPPER, CTL, *args]

    def ctl(self, *args, user=None, check=True):
        """Runs fwregistryctl against the test bus, optionally as another user (a uid)."""
        prefix = as_user(user) if user is not None else []
        p = subprocess.run([*prefix, *self.ctl_argv(*args)], capture_output=True, text=True,
                           timeout=60 * SLOW, env=self.ctl_env())
        if check:
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        return p

    def firmware_path(self, name):
        return firmware_path(name)


class AskingPolkitTestCase(DaemonTestCase):
    """polkit that would ask the user for every check: CheckAuthorization says not authorized, but a
    challenge (dbusmock's polkitd template only answers yes or no)."""

    @classmethod
    def start_polkit(cls):
        proc = cls.spawn_server('org.freedesktop.PolicyKit1', '/org/freedesktop/PolicyKit1/Authority',
                                'org.freedesktop.PolicyKit1.Authority', system_bus=True, stdout=subprocess.DEVNULL)
        obj = dbus.bus.BusConnection(cls.bus_address).get_object('org.freedesktop.PolicyKit1',
                                                                 '/org/freedesktop/PolicyKit1/Authority')
        obj.AddMethod('org.freedesktop.PolicyKit1.Authority', 'CheckAuthorization', '(sa{sv})sa{ss}us',
                      '(bba{ss})', 'ret = (False, True, {})', dbus_interface=dbusmock.MOCK_IFACE)
        return proc, obj


def as_user(uid):
    """The command prefix that runs a command as uid (and its group of the same number), without groups."""
    return ['setpriv', f'--reuid={uid}', f'--regid={uid}', '--clear-groups']


def firmware_path(name):
    """The object path of a descriptor, escaped the way sd_bus_path_encode() does."""
    raw = name.encode()
    if not raw:
        return FIRMWARE_PREFIX + '/_'
    out = ''
    for i, b in enumerate(raw):
        c = chr(b)
        out += c if c.isascii() and c.isalnum() and not (i == 0 and c.isdigit()) else '_%02x' % b
    return FIRMWARE_PREFIX + '/' + out


# Debian ships the 2 MiB build without a descriptor; an administrator adds one for the VMs made before the move
# to 4 MiB (docs/nvram.md).
OVMF_2M = {
    'description': 'UEFI firmware for x86_64, 2 MiB build, for VMs created before the move to 4 MiB',
    'interface-types': ['uefi'],
    'mapping': {
        'device': 'flash',
        'executable': {'filename': '/usr/share/OVMF/OVMF_CODE.fd', 'format': 'raw'},
        'nvram-template': {'filename': '/usr/share/OVMF/OVMF_VARS.fd', 'format': 'raw'},
    },
    'targets': [{'architecture': 'x86_64', 'machines': ['pc-i440fx-*', 'pc-q35-*']}],
    'features': ['acpi-s3', 'verbose-dynamic'],
    'tags': [],
}


def stop_class_daemon(cls):
    """Stops the daemon a test class started for all its tests (cls.daemon, cls.log, cls.tmp)."""
    cls.daemon.terminate()
    cls.daemon.wait(timeout=30)
    cls.log.close()
    shutil.rmtree(cls.tmp, ignore_errors=True)
