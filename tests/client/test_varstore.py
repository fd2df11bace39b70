#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""fwregistryctl --offline nvram inspect, audit, migrate and update-keys on real stores: Debian 12's OVMF
templates, the stores OVMF booted with (tests/data/varstores) and, where it can be fetched, the 2026.08
template with the 2023 certificates. The catalogue is a --root tree of this test's own, whose descriptors name
copies of those templates, so that what fits does not depend on the host's packages."""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__))))
from test_fwregistryctl import run  # noqa: E402

DATA = os.environ.get('FWREGISTRY_TEST_DATA') or os.path.join(os.path.dirname(__file__), '..', 'data')
BOOTED_2M = os.path.join(DATA, 'varstores', 'ovmf-2m-booted.fd')
BOOTED_4M_MS = os.path.join(DATA, 'varstores', 'ovmf-4m-ms-booted.fd')
OVMF = '/usr/share/OVMF'
OWN_GUID = '7e9a4a5f-7b55-4c59-9d59-3c3e1a1c0001'
ADDED_2023 = ['microsoft-kek-2023', 'windows-uefi-ca-2023', 'microsoft-uefi-ca-2023', 'microsoft-option-rom-ca-2023']


def sha256(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def sid_templates():
    """The directory fetch-templates unpacked sid's firmware into, or None (with the reason on stderr)."""
    p = subprocess.run(['/usr/bin/python3', os.path.join(DATA, 'fetch-templates')], capture_output=True, text=True,
                       timeout=900)
    if p.returncode != 0:
        sys.stderr.write(p.stderr)
        return None
    return p.stdout.strip()


def descriptor(code, vars_, features, machines=('pc-q35-*',)):
    return {'description': 'test', 'interface-types': ['uefi'],
            'mapping': {'device': 'flash', 'executable': {'filename': code, 'format': 'raw'},
                        'nvram-template': {'filename': vars_, 'format': 'raw'}},
            'targets': [{'architecture': 'x86_64', 'machines': list(machines)}],
            'features': list(features), 'tags': []}


class TestVarstore(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        needed = ['OVMF_CODE_4M.ms.fd', 'OVMF_VARS_4M.ms.fd', 'OVMF_CODE_4M.fd', 'OVMF_VARS_4M.fd',
                  'OVMF_CODE.fd', 'OVMF_VARS.fd']
        missing = [n for n in needed if not os.path.exists(os.path.join(OVMF, n))]
        if missing:
            raise unittest.SkipTest(f'Debian\'s ovmf is not installed ({", ".join(missing)} missing)')
        cls.root = tempfile.mkdtemp(prefix='fwregistryctl-varstore-')
        fw = os.path.join(cls.root, 'usr/share/qemu/firmware')
        images = os.path.join(cls.root, 'usr/share/OVMF')
        os.makedirs(fw)
        os.makedirs(images)
        for n in needed:
            if 'VARS' in n:
                shutil.copy(os.path.join(OVMF, n), images)
            else:       # what fits depends on the templates alone: the code is a stand-in, cheap to hash
                with open(os.path.join(images, n), 'w') as f:
                    f.write(n)
        smm = ['secure-boot', 'enrolled-keys', 'requires-smm']
        tree = {
            '40-x86-4m-enrolled.json': descriptor('/usr/share/OVMF/OVMF_CODE_4M.ms.fd',
                                                  '/usr/share/OVMF/OVMF_VARS_4M.ms.fd', smm),
            '60-x86-4m.json': descriptor('/usr/share/OVMF/OVMF_CODE_4M.fd', '/usr/share/OVMF/OVMF_VARS_4M.fd', []),
            '70-x86-2m.json': descriptor('/usr/share/OVMF/OVMF_CODE.fd', '/usr/share/OVMF/OVMF_VARS.fd', []),
        }
        sid = sid_templates()
        cls.sid = bool(sid)
        if sid:
            os.makedirs(os.path.join(cls.root, 'sid'))
            shutil.copy(os.path.join(sid, 'usr/share/OVMF/OVMF_VARS_4M.ms.fd'), os.path.join(cls.root, 'sid'))
            with open(os.path.join(cls.root, 'sid', 'OVMF_CODE_4M.ms.fd'), 'w') as f:
                f.write('code')
            tree['30-x86-4m-enrolled-2023.json'] = descriptor('/sid/OVMF_CODE_4M.ms.fd', '/sid/OVMF_VARS_4M.ms.fd',
                                                              smm)
        for name, d in tree.items():
            with open(os.path.join(fw, name), 'w') as f:
                json.dump(d, f)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.root)

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix='fwregistryctl-vm-')

    def tearDown(self):
        shutil.rmtree(self.dir)

    def ctl(self, *args, code=0):
        p = run('--offline', '--root', self.root, *args)
        if code is not None:
            self.assertEqual(p.returncode, code, p.stdout + p.stderr)
        return p

    def store(self, source, name='vm.fd'):
        return shutil.copy(source, os.path.join(self.dir, name))

    def inspect(self, path):
        return json.loads(self.ctl('nvram', 'inspect', path, '--json').stdout)

    def test_inspect(self):
        store = self.store(BOOTED_4M_MS)
        r = self.inspect(store)
        self.assertEqual((r['format'], r['size'], r['varstore-size'], r['secure-boot']),
                         ('edk2-authenticated', 540672, 0x84000, 'enforcing'))
        certs = {(c['database'], c['id']) for c in r['certificates']}
        self.assertEqual(certs, {('PK', 'debian-pk-kek-2019'), ('KEK', 'debian-pk-kek-2019'),
                                 ('KEK', 'microsoft-kek-2011'), ('db', 'windows-pca-2011'),
                                 ('db', 'microsoft-uefi-ca-2011')})
        self.assertEqual(r['hashes'], {'dbx': 1})
        self.assertEqual(r['boot-order'][:2], [0, 1])
        entries = {e['number']: e for e in r['boot-entries']}
        self.assertEqual(entries[1]['description'], 'EFI Internal Shell')
        self.assertTrue(entries[1]['device-path'].startswith('Fv('))
        self.assertIn({'name': 'PK', 'guid': '8be4df61-93ca-11d2-aa0d-00e098032b8c', 'attributes': 0x27,
                       'size': next(v['size'] for v in r['variables'] if v['name'] == 'PK')}, r['variables'])
        for w in ('kek-2011-only', 'db-2011-only', 'expired:microsoft-kek-2011'):
            self.assertIn(w, r['warnings'])
        expected_fits = ['40-x86-4m-enrolled.json', '60-x86-4m.json']
        if self.sid:
            expected_fits.insert(0, '30-x86-4m-enrolled-2023.json')
            # the first it fits holds the 2023 certificates: the store lacks them
            self.assertIn('template-drift:microsoft-kek-2023', r['warnings'])
            self.assertTrue(any(w.startswith('dbx-drift:') for w in r['warnings']), r['warnings'])
        self.assertEqual(r['fits'], expected_fits)
        text = self.ctl('nvram', 'inspect', store).stdout
        for line in ('Secure Boot: enforcing', 'Boot0001* EFI Internal Shell', 'microsoft-kek-2011  (expired)',
                     'kek-2011-only: '):
            self.assertIn(line, text)

    def test_migrate_in_place(self):
        store = self.store(BOOTED_2M)
        os.chown(store, 65534, 65534)
        os.chmod(store, 0o640)
        before = sha256(store)
        old = self.inspect(store)
        p = self.ctl('nvram', 'migrate', store, '--arch=x86_64', '--machine=q35', '--no-secure-boot', '--json')
        report = json.loads(p.stdout)
        self.assertEqual((report['firmware'], report['carried'], report['warnings']),
                         ('60-x86-4m.json', len(old['variables']), []))
        self.assertEqual(sha256(store + '.bak'), before)
        st = os.stat(store)
        self.assertEqual((st.st_size, st.st_uid, st.st_gid, st.st_mode & 0o7777), (540672, 65534, 65534, 0o640))
        new = self.inspect(store)
        self.assertEqual(new['varstore-size'], 0x84000)
        names = {(v['name'], v['guid']) for v in new['variables']}
        self.assertTrue({(v['name'], v['guid']) for v in old['variables']} <= names)
        self.assertIn(('FwrTest', OWN_GUID), names)
        self.assertEqual(new['boot-order'], old['boot-order'])
        self.assertEqual(new['boot-entries'], old['boot-entries'])
        self.assertIn('60-x86-4m.json', new['fits'])
        # a second move would lose the backup: refused, nothing touched
        after = sha256(store)
        p = self.ctl('nvram', 'migrate', store, '--arch=x86_64', '--no-secure-boot', code=1)
        self.assertIn(f"'{store}.bak' exists already", p.stderr)
        self.assertEqual(sha256(store), after)

    def test_migrate_to_new_and_dry_run(self):
        store = self.store(BOOTED_2M)
        before = sha256(store)
        p = self.ctl('nvram', 'migrate', store, '--arch=x86_64', '--no-secure-boot', '--dry-run')
        self.assertIn('Would write', p.stdout)
        self.assertEqual(sha256(store), before)
        self.assertEqual(os.listdir(self.dir), ['vm.fd'])
        new = os.path.join(self.dir, 'new.fd')
        self.ctl('nvram', 'migrate', store, new, '--arch=x86_64', '--no-secure-boot')
        self.assertEqual(sha256(store), before)
        self.assertEqual((os.stat(new).st_size, os.stat(new).st_mode & 0o777), (540672, 0o600))
        p = self.ctl('nvram', 'migrate', store, new, '--arch=x86_64', '--no-secure-boot', code=1)
        self.assertIn('never overwrites', p.stderr)
        p = self.ctl('nvram', 'migrate', store, code=1)
        self.assertIn('needs --arch', p.stderr)
        self.assertEqual(sha256(store), before)

    def test_json_round_trip(self):
        """edk2 -> QEMU's JSON store -> edk2: the same variables."""
        store = self.store(BOOTED_2M)
        json_template = os.path.join(self.root, 'usr/share/OVMF/VARS.json')
        with open(json_template, 'w') as f:
            f.write('{"version": 2, "variables": []}')
        fw = os.path.join(self.root, 'usr/share/qemu/firmware/80-x86-json.json')
        with open(fw, 'w') as f:
            json.dump(descriptor('/usr/share/OVMF/OVMF_CODE_4M.fd', '/usr/share/OVMF/VARS.json', []), f)
        try:
            as_json = os.path.join(self.dir, 'vm.json')
            self.ctl('nvram', 'migrate', store, as_json, '--arch=x86_64', '--exclude=60-x86-4m.json',
                     '--exclude=70-x86-2m.json', '--no-secure-boot')
            with open(as_json) as f:
                self.assertEqual(json.load(f)['version'], 2)
            back = os.path.join(self.dir, 'back.fd')
            self.ctl('nvram', 'migrate', as_json, back, '--arch=x86_64', '--exclude=60-x86-4m.json',
                     '--exclude=80-x86-json.json', '--no-secure-boot')
            old, new = self.inspect(store), self.inspect(back)
            self.assertEqual(old['variables'], new['variables'])
            self.assertEqual(old['boot-entries'], new['boot-entries'])
        finally:
            os.unlink(fw)
            os.unlink(json_template)

    def test_update_keys(self):
        if not self.sid:
            self.skipTest('the 2026.08 template could not be fetched')
        store = self.store(BOOTED_4M_MS)
        old = self.inspect(store)
        p = self.ctl('nvram', 'update-keys', store, '--json')
        report = json.loads(p.stdout)
        self.assertEqual(report['firmware'], '30-x86-4m-enrolled-2023.json')
        self.assertEqual(sorted(report['added-certificates']), sorted(ADDED_2023))
        self.assertEqual(report['warnings'], ['pcr7-changes'])
        new = self.inspect(store)
        self.assertNotIn('kek-2011-only', new['warnings'])
        self.assertNotIn('db-2011-only', new['warnings'])
        self.assertEqual([c for c in new['certificates'] if c['database'] == 'PK'],
                         [c for c in old['certificates'] if c['database'] == 'PK'])
        unchanged = {'KEK', 'db', 'dbx'}
        self.assertEqual([v for v in old['variables'] if v['name'] not in unchanged],
                         [v for v in new['variables'] if v['name'] not in unchanged])
        self.assertGreater(new['hashes']['dbx'], old['hashes']['dbx'])
        text = self.ctl('nvram', 'update-keys', store, '--no-backup', '--dry-run').stdout
        self.assertNotIn('certificate added', text)

    def test_refusals(self):
        # variables that do not fit the 2 MiB store: NoSpace with both counts, nothing written
        big = os.path.join(self.dir, 'big.json')
        with open(big, 'w') as f:
            json.dump({'version': 2, 'variables': [{'guid': OWN_GUID, 'name': 'Big', 'attr': 7,
                                                    'data': '00' * 70000}]}, f)
        before = sha256(big)
        p = self.ctl('nvram', 'migrate', big, '--arch=x86_64', '--exclude=60-x86-4m.json', '--no-secure-boot',
                     code=1)
        self.assertRegex(p.stderr, r'do not fit 70-x86-2m.json\'s template: \d+ bytes needed, the store has 57272')
        self.assertEqual(sha256(big), before)
        self.assertFalse(os.path.exists(big + '.bak'))
        # a store whose variables cannot all be read
        cut = self.store(BOOTED_2M, 'cut.fd')
        with open(cut, 'r+b') as f:
            f.seek(0x2a00)
            f.write(b'\x00' * 64)
        before = sha256(cut)
        p = self.ctl('nvram', 'migrate', cut, '--arch=x86_64', '--no-secure-boot', code=1)
        self.assertIn('cannot be read whole', p.stderr)
        self.assertEqual(sha256(cut), before)
        self.assertEqual(sorted(os.listdir(self.dir)), ['big.json', 'cut.fd'])

    @staticmethod
    def locked(path):
        with open('/proc/locks') as f:
            return any(f':{os.stat(path).st_ino} ' in line for line in f)

    def test_held_by_qemu(self):
        if not shutil.which('qemu-system-x86_64'):
            self.skipTest('qemu-system-x86 is not installed')
        store = self.store(BOOTED_2M)
        before = sha256(store)
        qemu = subprocess.Popen(['qemu-system-x86_64', '-S', '-accel', 'tcg', '-nodefaults', '-display', 'none',
                                 '-machine', 'q35', '-drive', f'if=pflash,unit=0,format=raw,readonly=on,'
                                 f'file={OVMF}/OVMF_CODE.fd', '-drive', f'if=pflash,unit=1,format=raw,file={store}'],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            deadline = 200
            while deadline and not self.locked(store):
                self.assertIsNone(qemu.poll(), qemu.stderr.read() if qemu.poll() is not None else '')
                deadline -= 1
                subprocess.run(['sleep', '0.05'])
            p = self.ctl('nvram', 'update-keys', store, code=1)
            self.assertIn(f'(PID {qemu.pid})', p.stderr)
            self.assertIn('qemu-system', p.stderr)
            p = self.ctl('nvram', 'migrate', store, '--arch=x86_64', '--no-secure-boot', code=1)
            self.assertIn('shut the VM down first', p.stderr)
        finally:
            qemu.kill()
            qemu.wait()
            qemu.stderr.close()
        self.assertEqual(sha256(store), before)
        self.assertEqual(os.listdir(self.dir), ['vm.fd'])

    def test_audit(self):
        d = os.path.join(self.dir, 'nvram')
        os.mkdir(d)
        shutil.copy(BOOTED_4M_MS, os.path.join(d, 'a-2011.fd'))
        shutil.copy(os.path.join(OVMF, 'OVMF_VARS_4M.fd'), os.path.join(d, 'c-setup.fd'))
        with open(os.path.join(d, 'd-blank.fd'), 'wb') as f:
            f.truncate(540672)
        if self.sid:
            shutil.copy(os.path.join(self.root, 'sid', 'OVMF_VARS_4M.ms.fd'), os.path.join(d, 'b-2023.fd'))
        p = self.ctl('nvram', 'audit', d, code=1)
        rows = {line.split()[0]: line for line in p.stdout.splitlines()[1:] if line.strip() and '/' in line}
        self.assertIn('kek-2011-only', rows[os.path.join(d, 'a-2011.fd')])
        self.assertIn('setup-mode', rows[os.path.join(d, 'c-setup.fd')])
        self.assertIn(' blank ', rows[os.path.join(d, 'd-blank.fd')])
        out = json.loads(self.ctl('nvram', 'audit', d, '--json', code=1).stdout)
        self.assertEqual([r['path'] for r in out], sorted(os.path.join(d, n) for n in os.listdir(d)))
        by = {os.path.basename(r['path']): r for r in out}
        self.assertEqual(by['d-blank.fd']['format'], 'blank')
        self.assertEqual(by['d-blank.fd']['warnings'], [])
        if self.sid:
            self.assertNotIn('kek-2011-only', by['b-2023.fd']['warnings'])
            self.assertIn('yes', rows[os.path.join(d, 'b-2023.fd')])
        # one store without warnings: exit status 0; one that cannot be read: 2
        self.ctl('nvram', 'audit', os.path.join(d, 'd-blank.fd'), code=0)
        self.ctl('nvram', 'audit', os.path.join(d, 'missing.fd'), code=2)


if __name__ == '__main__':
    unittest.main(verbosity=2)
