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
        self.assertEqual(p.stderr, '6 files checked, 6 valid, 0 invalid (0 errors, 0 warnings).\n')

    def test_debian_names_an_image_it_does_not_ship(self):
        """Debian 12's qemu-efi-aarch64 names AAVMF_CODE.secboot.fd, which it does not install."""
        files = [os.path.join(DEBIAN_DIR, n) for n in DEBIAN_NAMES]
        missing = '/usr/share/AAVMF/AAVMF_CODE.secboot.fd'
        if not all(os.path.exists(f) for f in files) or os.path.exists(missing):
            self.skipTest("needs Debian 12's ovmf and qemu-efi-aarch64")
        p = run('validate', '--check-files', *files)
        self.assertEqual(p.returncode, 1, p.stderr)
        lines = p.stderr.splitlines()
        self.assertEqual(lines, [f"{DEBIAN_DIR}/50-edk2-aarch64-secure.json:9:13: error: mapping.executable.filename: "
                                 f"'{missing}' does not exist",
                                 '6 files checked, 5 valid, 1 invalid (1 error, 0 warnings).'])

    def tree(self, images=('CODE.fd', 'VARS.fd')):
        """A build tree (what a package would install): descriptors and, unless left out, their images."""
        root = os.path.join(self.dir, 'tree')
        fw = os.path.join(root, 'usr/share/qemu/firmware')
        os.makedirs(fw)
        os.makedirs(os.path.join(root, 'fw'))
        for name in images:
            with open(os.path.join(root, 'fw', name), 'w') as f:
                f.write('image')
        with open(os.path.join(fw, '50-good.json'), 'w') as f:
            json.dump(GOOD, f, indent=2)
        return root, os.path.join(fw, '50-good.json')

    def test_check_files_in_a_build_tree(self):
        root, path = self.tree()
        p = run('validate', '--check-files', '--root', root)
        self.assertEqual(p.returncode, 0, p.stderr)
        # (valgrind warns about openat2(), which it does not know, on stderr too)
        self.assertEqual([l for l in p.stderr.splitlines() if not l.startswith('--')],
                         ['1 file checked, 1 valid, 0 invalid (0 errors, 0 warnings).'])
        # the same, file by file
        p = run('validate', '--check-files', '--root', root, path)
        self.assertEqual(p.returncode, 0, p.stderr)
        # an image the package does not ship
        os.unlink(os.path.join(root, 'fw/VARS.fd'))
        p = run('validate', '--check-files', '--root', root)
        self.assertEqual(p.returncode, 1)
        self.assertIn(f"{path}:13:7: error: mapping.nvram-template.filename: '/fw/VARS.fd' does not exist below "
                      f"'{root}'", p.stderr)
        self.assertTrue(p.stderr.endswith('1 file checked, 0 valid, 1 invalid (1 error, 0 warnings).\n'), p.stderr)
        # an absolute link in the tree is the tree's file, not the host's
        os.symlink('/fw/CODE.fd', os.path.join(root, 'fw/VARS.fd'))
        self.assertEqual(run('validate', '--check-files', '--root', root).returncode, 0)
        # without --check-files, images are not looked at
        self.assertEqual(run('validate', path).returncode, 0)

    def test_stdin_and_byte_order_mark(self):
        p = subprocess.run([*WRAPPER, CTL, 'validate', '-'], input=b'\xef\xbb\xbf' + json.dumps(GOOD).encode(),
                           capture_output=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stderr.decode(), '<stdin>: warning: starts with a UTF-8 byte-order mark, ignored (other '
                         'readers of descriptors may refuse it)\n'
                         '1 file checked, 1 valid, 0 invalid (0 errors, 1 warning).\n')
        p = subprocess.run([*WRAPPER, CTL, 'validate', '-'], input=b'', capture_output=True)
        self.assertEqual(p.returncode, 1)
        self.assertIn(b'<stdin>: error: empty file', p.stderr)

    def test_did_you_mean(self):
        d = json.loads(json.dumps(GOOD))
        d['interface-types'] = ['efi']
        d['mapping']['executable']['fromat'] = d['mapping']['executable'].pop('format')
        d['mapping']['nvram-template']['format'] = 'rwa'
        d['features'] = ['secure-bot', 'requires-smm']
        d['tagz'] = d.pop('tags')
        path = self.write('50-typos.json', json.dumps(d, indent=2))
        p = run('validate', path)
        notes = [l.split(': note: ')[1] for l in p.stderr.splitlines() if ': note: ' in l]
        self.assertEqual(sorted(notes), sorted(["did you mean 'uefi'?", "did you mean 'format'?",
                                                "did you mean 'raw'?", "did you mean 'secure-boot'?",
                                                "did you mean 'tags'?"]))
        self.assertIn(f"{path}:4:5: error: interface-types[0]: unknown interface type 'efi' (expected bios, "
                      "openfirmware, uboot or uefi)\n"
                      f"{path}:4:5: note: did you mean 'uefi'?\n", p.stderr)
        # a missing member is shown where the object that lacks it is
        self.assertIn(f'{path}:8:5: error: mapping.executable.format: missing member', p.stderr)
        # nothing is suggested for what is not close
        d = dict(GOOD, features=['totally-different'])
        p = run('validate', self.write('50-far.json', json.dumps(d)))
        self.assertNotIn('note:', p.stderr)

    def test_machine_globs(self):
        d = json.loads(json.dumps(GOOD))
        d['targets'] = [{'architecture': 'x86_64', 'machines': ['q35', 'pc-i440fx-[89*']},
                        {'architecture': 'aarch64', 'machines': ['virt', 'virt-[89].*']}]
        path = self.write('50-globs.json', json.dumps(d))
        p = run('--json', 'validate', path)
        self.assertEqual(p.returncode, 1)
        problems = json.loads(p.stdout)[0]['problems']
        self.assertEqual([(x['severity'], x['path']) for x in problems],
                         [('warning', 'targets[0].machines[0]'), ('error', 'targets[0].machines[1]'),
                          ('warning', 'targets[1].machines[0]')])
        self.assertIn("'q35' is a machine alias: list the versioned types it stands for instead, such as 'pc-q35-*'",
                      problems[0]['message'])
        self.assertEqual(problems[1]['message'], "unbalanced '[' in machine glob 'pc-i440fx-[89*' (fnmatch() would "
                         "take it literally)")
        self.assertIn("such as 'virt-*'", problems[2]['message'])
        with open(path) as f:
            column = f.read().index('"q35"') + 1
        self.assertEqual((problems[0]['line'], problems[0]['column']), (1, column))

    def test_three_mistakes(self):
        d = json.loads(json.dumps(GOOD))
        d['mapping']['executable']['format'] = 'vmdk'
        d['targets'][0]['architecture'] = 'sparc'
        del d['mapping']['nvram-template']
        path = self.write('50-foo.json', json.dumps(d))
        p = run('validate', path)
        self.assertNotEqual(p.returncode, 0)
        # like a compiler: diagnostics with line and column on stderr, the summary last
        self.assertEqual(p.stdout, '')
        lines = p.stderr.splitlines()
        self.assertEqual(len(lines), 4, p.stderr)
        text = json.dumps(d)
        self.assertEqual([text.index(k) + 1 for k in ('"format": "vmdk"', '"mapping"', '"architecture"')],
                         [136, 63, 169])
        self.assertIn(f"{path}:1:136: error: mapping.executable.format: unknown format 'vmdk' (expected raw or "
                      "qcow2)", lines)
        self.assertIn(f'{path}:1:63: error: mapping.nvram-template: missing member', lines)
        self.assertIn(f"{path}:1:169: error: targets[0].architecture: unknown architecture 'sparc' "
                      "(expected aarch64, arm, i386, loongarch64, riscv64 or x86_64)", lines)
        self.assertEqual(lines[-1], '1 file checked, 0 valid, 1 invalid (3 errors, 0 warnings).')

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
                       'message': "unknown interface type 'efi' (expected bios, openfirmware, uboot or uefi)",
                       'line': 1, 'column': json.dumps(d).index('"efi"') + 1, 'suggestion': 'uefi'},
                      out[1]['problems'])
        self.assertIn({'severity': 'warning', 'path': 'tags',
                       'message': 'missing member (the schema requires it)'}, out[1]['problems'])

    def test_warnings_do_not_fail(self):
        d = dict(GOOD, features=['secure-boot', 'requires-smm', 'brand-new-feature'])
        path = self.write('50-new.json', json.dumps(d))
        p = run('validate', path)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stderr, f"{path}:1:330: warning: features[2]: unknown feature 'brand-new-feature', "
                                   "kept for matching\n1 file checked, 1 valid, 0 invalid (0 errors, 1 warning).\n")

    def assert_one_problem(self, path, expected):
        p = run('validate', path)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn(expected, p.stderr)
        return p.stderr

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
        self.assertIn("validate needs at least one file, '-' for stdin, or --root=DIR", p.stderr)
        p = run('--offline', 'resolve', '--arch', 'sparc')
        self.assertEqual(p.returncode, 1)
        self.assertIn("Unknown architecture 'sparc'", p.stderr)
        p = run('--offline', 'resolve')
        self.assertIn('needs an architecture', p.stderr)
        p = run('--extra-dir', '/tmp', 'validate', '/dev/null')
        self.assertEqual(p.returncode, 1)
        self.assertIn('--search-path and --extra-dir do not apply', p.stderr)
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
