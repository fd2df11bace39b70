#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The fwregistry Python module as a program gets it: installed with meson install --destdir, imported from
there, talking to the real daemon on a private bus. Also runs the examples of docs/python.md as written."""

import asyncio
import atexit
import os
import re
import selectors
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'integration'))
import time  # noqa: E402

from gi.repository import GLib  # noqa: E402

from fwtest import (BUILD_DIR, BUS_CONFIG, BUS_NAME, SOURCE_DIR, USR, DaemonTestCase, flash,  # noqa: E402
                    wait_until)


def install_module():
    """meson install into a temporary DESTDIR; returns the site directory that holds fwregistry/."""
    destdir = tempfile.mkdtemp(prefix='fwregistry-py-')
    subprocess.run(['meson', 'install', '-C', BUILD_DIR, '--destdir', destdir, '--no-rebuild', '--quiet'],
                   check=True, stdout=subprocess.DEVNULL)
    found = [d for d, _, files in os.walk(destdir) if os.path.basename(d) == 'fwregistry' and '__init__.py' in files]
    assert len(found) == 1, found
    return destdir, os.path.dirname(found[0])


DESTDIR, SITE = install_module()
atexit.register(shutil.rmtree, DESTDIR, ignore_errors=True)
sys.path.insert(0, SITE)
import fwregistry  # noqa: E402


class TestModule(DaemonTestCase):
    def setUp(self):
        super().setUp()
        self.client = fwregistry.Client(address=self.bus_address)

    def tearDown(self):
        self.client.close()
        super().tearDown()

    def test_imported_from_destdir(self):
        self.assertTrue(fwregistry.__file__.startswith(DESTDIR), fwregistry.__file__)
        # the site directory is the one Debian's python3 uses for a prefix's packages
        self.assertRegex(SITE, r'/lib/python3[^/]*/(dist|site)-packages$')

    def test_resolve(self):
        fw = self.client.resolve(architecture='x86_64', machine='q35', features={'secure-boot': True})
        self.assertIsInstance(fw, fwregistry.Firmware)
        self.assertEqual(fw.name, '40-x86-enrolled.json')
        self.assertEqual(fw.path, f'{self.root}/{USR}/40-x86-enrolled.json')
        self.assertEqual(fw.executable, '/fw/CODE.secboot.fd')
        self.assertEqual(fw.nvram_template, '/fw/VARS.ms.fd')
        self.assertEqual((fw.device, fw.mode, fw.executable_format), ('flash', 'split', 'raw'))
        self.assertTrue(fw.requires_smm)
        self.assertIn('secure-boot', fw.features)
        self.assertEqual(fw.targets, (fwregistry.Target('x86_64', ('pc-q35-*',)),))
        self.assertEqual((fw.rank, fw.state, fw.valid, fw.files_ok), (0, 'ok', True, True))
        self.assertEqual(fw.object_path, '/io/github/fwregistryd/FirmwareRegistry1/firmware/_340_2dx86_2denrolled_2ejson')
        fw = self.client.resolve(architecture='x86_64', machine='q35', features={'enrolled-keys': False}, smm=False)
        self.assertEqual(fw.name, '60-x86.json')

    def test_every_api_key_is_an_attribute(self):
        # DESIGN section 5, keys of the first release and of the second
        keys = ('name path rank generation description interface-types device mode executable executable-format '
                'nvram-template nvram-template-format uefi-vars-template features requires-smm targets tags valid '
                'problems files-ok state executable-size nvram-template-size executable-sha256 '
                'nvram-template-sha256 varstore-format varstore-size '
                # and of the third
                'nvram-template-secure-boot nvram-template-certificates').split()
        fw = self.client.resolve(architecture='aarch64')
        for key in keys:
            self.assertTrue(hasattr(fw, key.replace('-', '_')), key)
            self.assertIn(key.replace('-', '_'), fwregistry.Firmware.__doc__ + ''.join(
                f.name for f in fwregistry.dataclasses.fields(fw)))
        self.assertIsInstance(fw.executable_size, int)
        self.assertIsInstance(fw.varstore_format, str)

    def test_relative_paths_made_absolute(self):
        cwd = os.getcwd()
        try:
            os.chdir('/fw') if os.path.isdir('/fw') else os.chdir('/')
            with self.assertRaises(fwregistry.NoMatch) as cm:
                self.client.resolve(architecture='x86_64', executable='CODE.secboot.fd', check_files=False)
            # the daemon saw an absolute path: a relative one would be refused as invalid
            self.assertIn('path', cm.exception.reasons)
        finally:
            os.chdir(cwd)

    def test_list(self):
        items = self.client.list()
        self.assertIsInstance(items, fwregistry.FirmwareList)
        self.assertEqual([f.name for f in items], ['40-x86-enrolled.json', '50-x86-secure.json', '60-aarch64.json',
                                                   '60-x86.json', '75-shadowed.json', '80-missing-image.json'])
        self.assertEqual(items.generation, 0)
        self.assertEqual(items[-1].state, 'files-missing')
        everything = self.client.list(include_invalid=True, include_masked=True, include_shadowed=True)
        states = {(f.name, f.state) for f in everything}
        self.assertIn(('90-invalid.json', 'invalid'), states)
        self.assertIn(('70-masked.json', 'masked'), states)
        self.assertEqual([f.name for f in self.client.list(architecture='aarch64')], ['60-aarch64.json'])

    def test_explain_and_describe(self):
        x = self.client.explain(architecture='x86_64', machine='pc', features={'secure-boot': True})
        self.assertIsNone(x.selected)
        self.assertEqual(x.verdict('50-x86-secure.json').reasons, ('machine',))
        self.assertTrue(x.verdict('50-x86-secure.json').machine_alias)    # the request's alias, expanded
        x = self.client.explain(architecture='x86_64', machine='q35')
        self.assertEqual(x.selected, '40-x86-enrolled.json')
        d = self.client.describe('75-shadowed.json')
        self.assertEqual(d['description'], 'the admin copy')
        self.assertEqual(d['shadowed-paths'], [f'{self.root}/{USR}/75-shadowed.json'])
        with self.assertRaises(fwregistry.NoSuchFirmware):
            self.client.describe('nope.json')

    def test_no_match(self):
        with self.assertRaises(fwregistry.NoMatch) as cm:
            self.client.resolve(architecture='x86_64', machine='pc', features={'secure-boot': True})
        e = cm.exception
        self.assertIn("No firmware matches x86_64 machine 'pc'", str(e))
        self.assertEqual(e.dbus_name, 'io.github.fwregistryd.FirmwareRegistry1.Error.NoMatch')
        self.assertNotIn('GDBus.Error', str(e))
        # 40 and 50 fail on the machine only, 60-x86 on the feature only, 75-shadowed and 80-missing-image on
        # both, 60-aarch64 on the architecture and the feature
        self.assertEqual(e.reasons['machine'], 4)
        self.assertEqual(e.reasons['feature-missing:secure-boot'], 4)
        self.assertEqual(e.reasons['architecture'], 1)
        self.assertEqual(e.closest, '40-x86-enrolled.json')
        self.assertEqual(e.explanation.verdict('40-x86-enrolled.json').reasons, ('machine',))
        self.assertIsInstance(e, fwregistry.Error)

    def test_invalid_request(self):
        with self.assertRaises(fwregistry.InvalidRequest) as cm:
            self.client.resolve(architecture='x86_64', machine='')
        self.assertIn("'machine' must not be empty", str(cm.exception))
        with self.assertRaises(fwregistry.InvalidRequest) as cm:
            self.client.resolve(architecture='sparc')
        self.assertIn('sparc', str(cm.exception))
        with self.assertRaises(fwregistry.InvalidRequest) as cm:
            self.client.list(include_shadowed='yes' == 'yes', interface='efi')
        self.assertIn("'efi'", str(cm.exception))
        # mistakes Python can see are Python errors
        with self.assertRaises(TypeError):
            self.client.resolve(architecture='x86_64', smm='yes')
        with self.assertRaises(TypeError) as cm:
            self.client.resolve(architecture='x86_64', machin='q35')
        self.assertIn("'machin'", str(cm.exception))

    def test_nvram_fd(self):
        varstore = os.path.join(self.root, 'vm-vars.fd')
        shutil.copy(os.path.join(self.root, 'fw', 'VARS.fd'), varstore)
        with open(varstore, 'rb') as f:
            try:
                fw = self.client.resolve(architecture='x86_64', machine='q35', nvram=f)
            except fwregistry.InvalidRequest as e:
                # a daemon without image facts does not know the key yet: refused, and said so, never ignored
                self.assertIn("Unknown key 'nvram'", str(e))
                return
        # with image facts: the first descriptor whose template has the varstore's layout (here: its size)
        self.assertEqual(fw.name, '40-x86-enrolled.json')
        self.assertEqual(fw.nvram_template_size, os.path.getsize(varstore))
        # a varstore of no template's size fits nothing, and the reason says so
        with open(varstore, 'ab') as f:
            f.write(b'\0' * 4096)
        with open(varstore, 'rb') as f, self.assertRaises(fwregistry.NoMatch) as cm:
            self.client.resolve(architecture='x86_64', machine='q35', nvram=f)
        self.assertIn('nvram-layout', cm.exception.reasons)

    def test_not_running(self):
        self.stop_daemon()
        try:
            with self.assertRaises(fwregistry.NotRunning) as cm:
                self.client.list()
            self.assertIn('fwregistryd is not running', str(cm.exception))
        finally:
            self.start_daemon()
        with self.assertRaises(fwregistry.NotRunning):
            fwregistry.Client(address='unix:path=/nonexistent/bus').list()

    def test_status(self):
        s = self.client.status()
        self.assertEqual(s.scope, 'system')
        self.assertEqual(s.count, 6)
        self.assertEqual(s.search_path, ('/usr/share/qemu/firmware', '/etc/qemu/firmware'))   # below --root
        self.assertEqual(s.generation, 0)
        self.assertTrue(self.client.instance_id)

    def test_subscribe(self):
        changes = []
        sub = self.client.subscribe(changes.append)
        self.write(f'{USR}/10-new.json', flash('CODE.fd', 'VARS.fd'))
        wait_until(lambda: changes, what='a change')
        sub.cancel()
        c = changes[0]
        self.assertEqual((c.generation, c.added, c.removed, c.modified), (1, ('10-new.json',), (), ()))
        self.assertEqual(c.instance, self.client.instance_id)
        self.assertEqual(self.client.resolve(architecture='x86_64', machine='q35', smm=False).name, '10-new.json')

    def test_async_iteration(self):
        async def first_change():
            changes = self.client.changes()
            self.remove(f'{USR}/60-aarch64.json')
            try:
                return await asyncio.wait_for(changes.__anext__(), 20)
            finally:
                await changes.aclose()
        c = asyncio.run(first_change())
        self.assertEqual((c.generation, c.removed), (1, ('60-aarch64.json',)))
        self.assertEqual(c.instance, self.client.instance_id)


# D-Bus activation of the name, on the test bus, leaves a mark instead of starting a daemon
ACTIVATION_DIR = tempfile.mkdtemp(prefix='fwregistry-py-activation-')
atexit.register(shutil.rmtree, ACTIVATION_DIR, ignore_errors=True)
ACTIVATED = os.path.join(ACTIVATION_DIR, 'activated')
with open(os.path.join(ACTIVATION_DIR, BUS_NAME + '.service'), 'w') as f:
    # (exiting with an error, the start fails at once rather than at the bus's start timeout)
    f.write(f'[D-BUS Service]\nName={BUS_NAME}\nExec=/bin/sh -c "touch {ACTIVATED}; exit 1"\n')


class TestInstance(DaemonTestCase):
    """A change is tagged with the instance of the daemon that sent it, even when it is handled after that
    daemon has gone: a restart in between, or no daemon at all (and then nothing is started)."""

    bus_config = BUS_CONFIG.replace('<auth>', f'<servicedir>{ACTIVATION_DIR}</servicedir>\n  <auth>')

    def setUp(self):
        super().setUp()
        self.client = fwregistry.Client(address=self.bus_address)

    def tearDown(self):
        self.client.close()
        super().tearDown()

    def change_while_not_looking(self):
        """Subscribes in a main context of its own, then has the daemon announce generation 1: the signal
        waits in the client, unhandled, until handle() runs that context. Returns the list the changes go to
        and the daemon's instance."""
        instance = str(self.prop('InstanceId'))
        changes = []
        self.context = GLib.MainContext.new()
        self.context.push_thread_default()
        try:
            self.addCleanup(self.client.subscribe(changes.append).cancel)
        finally:
            self.context.pop_thread_default()
        self.write(f'{USR}/10-new.json', flash('CODE.fd', 'VARS.fd'))
        deadline = time.monotonic() + 20
        while self.prop('Generation') != 1:
            self.assertLess(time.monotonic(), deadline, 'no change')
            time.sleep(0.02)
        self.assertEqual(changes, [])
        return changes, instance

    def handle(self, changes):
        deadline = time.monotonic() + 20
        while not changes:
            self.assertLess(time.monotonic(), deadline, 'the change never came')
            self.context.iteration(False) or time.sleep(0.02)

    def test_change_handled_after_a_restart(self):
        changes, old = self.change_while_not_looking()
        self.stop_daemon()
        self.start_daemon()
        new = str(self.prop('InstanceId'))
        self.assertNotEqual(new, old)
        self.handle(changes)
        self.assertEqual((changes[0].generation, changes[0].added), (1, ('10-new.json',)))
        # generation 1 of the daemon that announced it, not of the one that has the name now
        self.assertEqual(changes[0].instance, old)
        self.assertEqual(self.client.instance_id, new)

    def test_change_handled_after_the_daemon_exited(self):
        changes, old = self.change_while_not_looking()
        self.stop_daemon()
        self.handle(changes)
        self.assertFalse(os.path.exists(ACTIVATED), 'handling a change started a daemon')
        self.assertEqual(changes[0].instance, old)
        self.start_daemon()     # for tearDown


def doc_examples():
    """The Python blocks of docs/python.md, by the name in the comment on their first line."""
    with open(os.path.join(SOURCE_DIR, 'docs', 'python.md')) as f:
        text = f.read()
    blocks = re.findall(r'```python\n(.*?)```', text, re.S)
    return {re.match(r'# (\S+)', b).group(1) if b.startswith('# ') else f'block{i}': b for i, b in enumerate(blocks)}


def readline(p, timeout=30):
    """A line of the process's output, or a failure once it has said nothing for timeout seconds."""
    with selectors.DefaultSelector() as sel:
        sel.register(p.stdout, selectors.EVENT_READ)
        if not sel.select(timeout):
            raise AssertionError(f'no output within {timeout} s')
    return p.stdout.readline()


DEBIAN_ENROLLED = '/usr/share/OVMF/OVMF_VARS_4M.ms.fd'
DEBIAN_PLAIN = '/usr/share/OVMF/OVMF_VARS_4M.fd'


class TestTemplateKeys(DaemonTestCase):
    """The template keys and the certificates request key, on copies of Debian 12's real templates: the plain
    one (setup mode, no certificates) ranks first, the enrolled one (Microsoft's 2011 keys) after it."""

    tree = {
        f'{USR}/40-plain.json': flash('CODE.fd', 'VARS_4M.fd'),
        f'{USR}/50-enrolled.json': flash('CODE.fd', 'VARS_4M.ms.fd', features=['secure-boot', 'enrolled-keys']),
    }

    def setUp(self):
        if not (os.path.exists(DEBIAN_ENROLLED) and os.path.exists(DEBIAN_PLAIN)):
            self.skipTest("needs Debian 12's ovmf")
        super().setUp()
        self.client = fwregistry.Client(address=self.bus_address)

    def start_daemon(self, *extra, **kwargs):
        os.makedirs(os.path.join(self.root, 'fw'), exist_ok=True)
        for src, name in ((DEBIAN_ENROLLED, 'VARS_4M.ms.fd'), (DEBIAN_PLAIN, 'VARS_4M.fd')):
            shutil.copyfile(src, os.path.join(self.root, 'fw', name))
        super().start_daemon(*extra, **kwargs)

    def tearDown(self):
        self.client.close()
        super().tearDown()

    def test_attributes(self):
        plain, enrolled = self.client.list(architecture='x86_64')
        self.assertEqual((plain.nvram_template_secure_boot, plain.nvram_template_certificates), ('setup-mode', ()))
        self.assertEqual(enrolled.nvram_template_secure_boot, 'enforcing')
        self.assertEqual(enrolled.nvram_template_certificates,
                         ('PK:debian-pk-kek-2019', 'KEK:debian-pk-kek-2019', 'KEK:microsoft-kek-2011',
                          'db:windows-pca-2011', 'db:microsoft-uefi-ca-2011'))

    def test_resolve_certificates(self):
        fw = self.client.resolve(architecture='x86_64', certificates=['microsoft-uefi-ca-2011'])
        self.assertEqual(fw.name, '50-enrolled.json')
        self.assertEqual(self.client.resolve(architecture='x86_64').name, '40-plain.json')
        self.assertEqual([f.name for f in self.client.list(certificates=['microsoft-kek-2011'])],
                         ['50-enrolled.json'])
        with self.assertRaises(fwregistry.NoMatch) as cm:
            self.client.resolve(architecture='x86_64', certificates=['microsoft-kek-2023'])
        self.assertEqual(cm.exception.reasons, {'certificate-missing:microsoft-kek-2023': 2})
        self.assertEqual(cm.exception.explanation.verdict('50-enrolled.json').reasons,
                         ('certificate-missing:microsoft-kek-2023',))
        with self.assertRaises(fwregistry.InvalidRequest) as cm:
            self.client.resolve(architecture='x86_64', certificates=['microsoft-kek-2024'])
        self.assertIn("'microsoft-kek-2024'", str(cm.exception))
        with self.assertRaises(TypeError):
            self.client.resolve(architecture='x86_64', certificates='microsoft-kek-2023')


class TestDocExamples(DaemonTestCase):
    """Each example runs as a program, as written, with the module from the DESTDIR and the test bus as the
    system bus."""

    def run_example(self, name, *args, **kwargs):
        code = doc_examples()[name]
        env = dict(self.ctl_env(), PYTHONPATH=SITE)
        return subprocess.Popen([sys.executable, '-c', code, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=env, **kwargs)

    def test_every_block_is_tested(self):
        self.assertEqual(set(doc_examples()), {'quick.py', 'offerable.py', 'pinning-agent.py', 'varstore.py'})

    def test_varstore(self):
        store = os.path.join(SOURCE_DIR, 'tests', 'data', 'varstores', 'ovmf-4m-ms-booted.fd')
        p = self.run_example('varstore.py', store)
        out, err = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 0, err)
        self.assertIn('edk2-authenticated, Secure Boot enforcing', out)
        self.assertIn('  KEK microsoft-kek-2011', out)
        self.assertIn('0001 EFI Internal Shell', out)
        self.assertIn('needs the 2023 keys: fwregistryctl nvram update-keys', out)
        self.assertIn('kek-2011-only', out)

    def test_quick(self):
        p = self.run_example('quick.py')
        out, err = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 0, err)
        self.assertIn('40-x86-enrolled.json: /fw/CODE.secboot.fd', out)
        self.assertIn('no firmware: machine', out)

    def test_offerable(self):
        p = self.run_example('offerable.py')
        out, err = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 0, err)
        lines = out.splitlines()
        self.assertEqual(lines[0], 'UEFI, Secure Boot, Microsoft keys  (40-x86-enrolled.json)')
        self.assertIn('UEFI, Secure Boot  (50-x86-secure.json)', lines)
        self.assertIn('UEFI  (60-x86.json)', lines)
        self.assertFalse(any('80-missing-image' in l for l in lines), out)
        self.assertFalse(any('aarch64' in l for l in lines), out)

    def test_pinning_agent(self):
        p = self.run_example('pinning-agent.py')
        try:
            first = readline(p)
            self.assertIn('vm1: pinned 50-x86-secure.json', first)
            # the distribution drops the descriptor the VM was pinned to
            self.remove(f'{USR}/50-x86-secure.json')
            line = readline(p)
            self.assertIn('vm1: 50-x86-secure.json was removed in generation 1', line)
        finally:
            p.kill()
            _, err = p.communicate()
            sys.stderr.write(err)


if __name__ == '__main__':
    unittest.main(verbosity=2)
