#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""fwregistryctl as a packager and an admin use it: validate, and --offline list/resolve/explain/describe."""

import json
import os
import shlex
import shutil
import subprocess
import tempfile
import unittest

CTL = os.environ.get('FWREGISTRYCTL') or os.path.join(os.environ['FWREGISTRY_BUILD_DIR'], 'client', 'fwregistryctl')
# set by the test command to run the client under valgrind
WRAPPER = shlex.split(os.environ.get('FWREGISTRY_WRAPPER', ''))
DEBIAN_DIR = '/usr/share/qemu/firmware'
DEBIAN_NAMES = ['40-edk2-aarch64-secure-enrolled.json', '40-edk2-x86_64-secure-enrolled.json',
                '50-edk2-aarch64-secure.json', '50-edk2-x86_64-secure.json',
                '60-edk2-aarch64.json', '60-edk2-x86_64.json']

GOOD = {
    'description': 'test firmware',
    'interface-types': ['uefi'],
    'mapping': {
        'device': 'flash',
        'executable': {'filename': '/fw/CODE.fd', 'format': 'raw'},
        'nvram-template': {'filename': '/fw/VARS.fd', 'format': 'raw'},
    },
    'targets': [{'architecture': 'x86_64', 'machines': ['pc-q35-*']}],
    'features': ['secure-boot', 'requires-smm'],
    'tags': [],
}


def run(*args, timeout=30):
    return subprocess.run([*WRAPPER, CTL, *args], capture_output=True, text=True, timeout=timeout * (10 if WRAPPER else 1))


class TestValidate(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix='fwregistryctl-test-')

    def tearDown(self):
        shutil.rmtree(self.dir)

    def write(self, name, content, mode='w'):
        path = os.path.join(self.dir, name)
        with open(path, mode) as f:
            f.write(content)
        return path

    def test_debian_descriptors_valid(self):
        files = [os.path.join(DEBIAN_DIR, n) for n in DEBIAN_NAMES]
        if not all(os.path.exists(f) for f in files):
            self.skipTest('ovmf and qemu-efi-aarch64 are not installed')
        p = run('validate', *files)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(p.stdout, '')
        self.assertIn('6 files checked, 6 valid, 0 invalid', p.stderr)

    def test_three_mistakes(self):
        d = json.loads(json.dumps(GOOD))
        d['mapping']['executable']['format'] = 'vmdk'
        d['targets'][0]['architecture'] = 'sparc'
        del d['mapping']['nvram-template']
        path = self.write('50-foo.json', json.dumps(d))
        p = run('validate', path)
        self.assertNotEqual(p.returncode, 0)
        lines = p.stdout.splitlines()
        self.assertEqual(len(lines), 3, p.stdout)
        self.assertIn(f"{path}: mapping.executable.format: unknown format 'vmdk' (expected raw or qcow2)", lines)
        self.assertIn(f'{path}: mapping.nvram-template: missing member', lines)
        self.assertIn(f"{path}: targets[0].architecture: unknown architecture 'sparc' "
                      "(expected aarch64, arm, i386, loongarch64, riscv64 or x86_64)", lines)

    def test_json_output(self):
        good = self.write('60-good.json', json.dumps(GOOD))
        d = dict(GOOD)
        del d['tags']
        d['interface-types'] = ['uefi', 'efi']
        bad = self.write('50-bad.json', json.dumps(d))
        p = run('--json', 'validate', good, bad)
        self.assertEqual(p.returncode, 1)
        out = json.loads(p.stdout)
        self.assertEqual([f['file'] for f in out], [good, bad])
        self.assertEqual(out[0], {'file': good, 'valid': True, 'problems': []})
        self.assertFalse(out[1]['valid'])
        self.assertIn({'severity': 'error', 'path': 'interface-types[1]',
                       'message': "unknown interface type 'efi' (expected bios, openfirmware, uboot or uefi)"},
                      out[1]['problems'])
        self.assertIn({'severity': 'warning', 'path': 'tags',
                       'message': 'missing member (the schema requires it)'}, out[1]['problems'])

    def test_warnings_do_not_fail(self):
        d = dict(GOOD, features=['secure-boot', 'requires-smm', 'brand-new-feature'])
        path = self.write('50-new.json', json.dumps(d))
        p = run('validate', path)
        self.assertEqual(p.returncode, 0, p.stdout)
        self.assertEqual(p.stdout, f"{path}: features[2]: warning: unknown feature 'brand-new-feature', "
                                   "kept for matching\n")

    def assert_one_problem(self, path, expected):
        p = run('validate', path)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn(expected, p.stdout)
        return p.stdout

    def test_hostile_files(self):
        self.assert_one_problem(self.write('truncated.json', json.dumps(GOOD)[:60]), 'invalid JSON at line 1')
        self.assert_one_problem(self.write('nul.json', '{"description": "a\0b"}'),
                                'contains a NUL byte at offset 18')
        self.assert_one_problem(self.write('utf8.json', b'{"description": "\xff\xfe"}', 'wb'),
                                'invalid bytes in UTF8 string')
        self.assert_one_problem(self.write('deep.json', '[' * 100000 + ']' * 100000),
                                'nested deeper than 32 levels')
        self.assert_one_problem(self.write('array.json', '[1, 2]'),
                                'expected an object at the top level, got an array')
        fifo = os.path.join(self.dir, '50-x.json')
        os.mkfifo(fifo)
        self.assert_one_problem(fifo, 'a FIFO, only regular files are read')
        big = os.path.join(self.dir, 'big.json')
        with open(big, 'wb') as f:
            f.truncate(100 * 1024 * 1024)
        self.assert_one_problem(big, 'larger than 1048576 bytes (104857600 bytes), not read')
        self.assert_one_problem(self.write('empty.json', ''), 'empty file')
        self.assert_one_problem('/nonexistent/50-x.json', 'cannot access: No such file or directory')

    def test_wrong_types_everywhere(self):
        for key in GOOD:
            d = dict(GOOD)
            d[key] = 42
            out = self.assert_one_problem(self.write(f'{key}.json', json.dumps(d)), f'{key}: expected ')
            self.assertIn('got a number', out)

    def test_usage_errors(self):
        p = run('validate')
        self.assertEqual(p.returncode, 1)
        self.assertIn('validate needs at least one file', p.stderr)
        p = run('--offline', 'resolve', '--arch', 'sparc')
        self.assertEqual(p.returncode, 1)
        self.assertIn("Unknown architecture 'sparc'", p.stderr)
        p = run('--offline', 'resolve')
        self.assertIn('needs an architecture', p.stderr)
        p = run('--root', '/tmp', 'validate', '/dev/null')
        self.assertEqual(p.returncode, 1)
        self.assertIn('--root, --search-path and --extra-dir do not apply', p.stderr)
        p = run('frobnicate')
        self.assertIn("Unknown command 'frobnicate'", p.stderr)


class TestOffline(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = tempfile.mkdtemp(prefix='fwregistryctl-root-')
        usr = os.path.join(cls.root, 'usr/share/qemu/firmware')
        etc = os.path.join(cls.root, 'etc/qemu/firmware')
        fw = os.path.join(cls.root, 'fw')
        for d in (usr, etc, fw):
            os.makedirs(d)
        for name in ('CODE.fd', 'VARS.fd'):
            with open(os.path.join(fw, name), 'w') as f:
                f.write('image')
        plain = dict(GOOD, features=[])
        plain['targets'] = [{'architecture': 'x86_64', 'machines': ['pc-q35-*', 'pc-i440fx-*']}]
        for d, name, content in ((usr, '50-secure.json', GOOD), (usr, '60-plain.json', plain),
                                 (usr, '70-masked.json', plain), (etc, '70-masked.json', None),
                                 (usr, '80-broken.json', '{')):
            with open(os.path.join(d, name), 'w') as f:
                f.write('' if content is None else content if isinstance(content, str) else json.dumps(content))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.root)

    def ctl(self, *args):
        p = run('--offline', '--root', self.root, *args)
        return p

    def test_list(self):
        p = self.ctl('list')
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stdout.splitlines()
        self.assertTrue(lines[0].startswith('RANK  NAME'))
        self.assertEqual(len(lines), 3)
        self.assertIn('50-secure.json', lines[1])
        p = self.ctl('--json', 'list', '--include-invalid', '--include-masked')
        out = json.loads(p.stdout)
        names = [f['name'] for f in out['firmwares']]
        self.assertEqual(names, ['50-secure.json', '60-plain.json', '70-masked.json', '80-broken.json'])
        first = out['firmwares'][0]
        self.assertEqual(first['rank'], 0)
        self.assertTrue(first['valid'])
        self.assertTrue(first['files-ok'])
        self.assertTrue(first['requires-smm'])
        self.assertEqual(first['executable'], '/fw/CODE.fd')
        self.assertEqual(first['targets'], [{'architecture': 'x86_64', 'machines': ['pc-q35-*']}])
        self.assertFalse(out['firmwares'][3]['valid'])

    def test_facts_and_state(self):
        p = self.ctl('--json', 'list', '--include-invalid', '--include-masked')
        states = {f['name']: f['state'] for f in json.loads(p.stdout)['firmwares']}
        self.assertEqual(states, {'50-secure.json': 'ok', '60-plain.json': 'ok', '70-masked.json': 'masked',
                                  '80-broken.json': 'invalid'})
        first = json.loads(p.stdout)['firmwares'][0]
        image_sha = '6105d6cc76af400325e94d588ce511be5bfdbb73b437dc51eca43917d7a43e3d'    # sha256 of 'image'
        self.assertEqual((first['executable-size'], first['executable-sha256']), (5, image_sha))
        self.assertEqual((first['nvram-template-size'], first['nvram-template-sha256']), (5, image_sha))
        self.assertEqual((first['varstore-format'], first['varstore-size']), ('', 0))
        p = self.ctl('list', '--wide')
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(image_sha, p.stdout)
        self.assertTrue(p.stdout.startswith('RANK  NAME'))

    def test_nvram(self):
        store = os.path.join(self.root, 'vm-vars.fd')
        with open(store, 'w') as f:
            f.write('image')        # the same size as the templates, and neither is an edk2 volume: it fits
        p = self.ctl('nvram', 'inspect', store, '--json')
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout), {'path': store, 'varstore-format': '', 'varstore-size': 0,
                                                'size': 5, 'fits': ['50-secure.json', '60-plain.json']})
        p = self.ctl('resolve', '--arch', 'x86_64', '--no-secure-boot', f'--nvram={store}', '--json')
        self.assertEqual(json.loads(p.stdout)['name'], '60-plain.json')
        with open(store, 'w') as f:
            f.write('a different size')
        p = self.ctl('resolve', '--arch', 'x86_64', f'--nvram={store}')
        self.assertEqual(p.returncode, 2)
        self.assertIn("nvram=(unknown layout, 16 bytes)", p.stderr)
        self.assertIn('2 nvram-layout', p.stderr)
        fifo = os.path.join(self.root, 'fifo')
        os.mkfifo(fifo)
        p = self.ctl('resolve', '--arch', 'x86_64', f'--nvram={fifo}')
        self.assertEqual(p.returncode, 1)
        self.assertIn('not a regular file', p.stderr)
        p = self.ctl('nvram', 'inspect')
        self.assertIn('Usage: nvram inspect PATH', p.stderr)

    def test_resolve(self):
        p = self.ctl('resolve', '--arch', 'x86_64', '--machine', 'q35', '--json')
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout)['name'], '50-secure.json')
        p = self.ctl('resolve', '-a', 'x86_64', '-m', 'q35', '--no-smm')
        self.assertIn('name: 60-plain.json', p.stdout)
        p = self.ctl('resolve', '-a', 'x86_64', '-m', 'pc', '--secure-boot')
        self.assertEqual(p.returncode, 2)
        self.assertIn("No firmware matches x86_64 machine 'pc' uefi +secure-boot", p.stderr)
        self.assertIn('closest: 50-secure.json (machine)', p.stderr)

    def test_explain(self):
        p = self.ctl('--json', 'explain', '-a', 'x86_64', '-m', 'pc-q35-10.0', '--no-secure-boot')
        out = json.loads(p.stdout)
        self.assertEqual(out['selected'], '60-plain.json')
        verdicts = {(v['name'], v['verdict']): v['reasons'] for v in out['verdicts']}
        self.assertEqual(verdicts[('50-secure.json', 'rejected')], ['feature-forbidden:secure-boot'])
        self.assertEqual(verdicts[('60-plain.json', 'selected')], [])
        self.assertEqual(verdicts[('70-masked.json', 'masked')],
                         [f'masked-by:{self.root}/etc/qemu/firmware/70-masked.json'])
        self.assertTrue(verdicts[('80-broken.json', 'invalid')][0].startswith('parse-error:invalid JSON'))

    def test_describe(self):
        p = self.ctl('describe', '50-secure.json')
        out = json.loads(p.stdout)
        self.assertEqual(out['mapping'], GOOD['mapping'])
        self.assertEqual(out['features'], GOOD['features'])
        self.assertEqual(out['rank'], 0)
        self.assertEqual(out['scope'], 'system')
        self.assertFalse(out['masked'])
        p = self.ctl('describe', '70-masked.json')
        out = json.loads(p.stdout)
        self.assertTrue(out['masked'])
        self.assertEqual(out['shadowed-paths'], [f'{self.root}/usr/share/qemu/firmware/70-masked.json'])
        by_path = json.loads(self.ctl('describe', '/io/github/fwregistryd/FirmwareRegistry1/firmware/'
                                      '_350_2dsecure_2ejson').stdout)
        self.assertEqual(by_path['name'], '50-secure.json')
        p = self.ctl('describe', 'nope.json')
        self.assertEqual(p.returncode, 1)
        self.assertIn("No descriptor called 'nope.json'", p.stderr)


if __name__ == '__main__':
    unittest.main(verbosity=2)
