#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""fwregistryctl as a packager and an admin use it: validate, and --offline list/resolve/explain/describe."""

import json
import os
import pty
import re
import resource
import shlex
import shutil
import subprocess
import tempfile
import unittest
import xml.etree.ElementTree as ET

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


def without_wrapper_notes(p):
    """valgrind's own notes ("--123-- WARNING: unhandled ... syscall" for pidfd_open) are not ours."""
    if WRAPPER and isinstance(p.stderr, str):
        p.stderr = ''.join(line for line in p.stderr.splitlines(True) if not re.match(r'--\d+-- ', line))
    return p


def run(*args, timeout=30):
    return without_wrapper_notes(subprocess.run([*WRAPPER, CTL, *args], capture_output=True, text=True,
                                                timeout=timeout * (10 if WRAPPER else 1)))


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

    def test_control_characters_in_paths(self):
        """Legal JSON and legal file names, but nobody means them: shells, logs and XML mangle them."""
        d = json.loads(json.dumps(GOOD))
        d['mapping']['executable']['filename'] = '/fw/CODE\n.fd'
        d['mapping']['nvram-template']['filename'] = '/fw/VARS\u0085.fd'
        path = self.write('50-control.json', json.dumps(d, indent=2))
        p = run('validate', path)
        self.assertEqual(p.returncode, 0, p.stderr)
        # (split at newlines only: U+0085 is a line break to str.splitlines())
        self.assertEqual(p.stderr.split('\n'), [
            f"{path}:9:7: warning: mapping.executable.filename: '/fw/CODE\\x0a.fd' holds the control character "
            "\\x0a, most likely a mistake, and one that shells, logs and XML mangle or refuse",
            f"{path}:13:7: warning: mapping.nvram-template.filename: '/fw/VARS\u0085.fd' holds the control "
            "character U+0085, most likely a mistake, and one that shells, logs and XML mangle or refuse",
            '1 file checked, 1 valid, 0 invalid (0 errors, 2 warnings).', ''])
        # a tab, and DEL, in a memory mapping's file
        bios = {'description': 'bios', 'interface-types': ['bios'], 'targets': GOOD['targets'], 'features': [],
                'tags': [], 'mapping': {'device': 'memory', 'filename': '/fw/BIOS\t\x7f.bin'}}
        p = run('--json', 'validate', self.write('50-bios.json', json.dumps(bios)))
        self.assertEqual([(x['severity'], x['path'], x['message'].split(',')[0])
                          for x in json.loads(p.stdout)[0]['problems']],
                         [('warning', 'mapping.filename',
                           "'/fw/BIOS\\x09\\x7f.bin' holds the control character \\x09")])

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
        self.assertEqual(len(lines), 5)
        self.assertEqual(lines[3:], ['', '2 firmware descriptors listed.'])
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
        report = json.loads(p.stdout)
        self.assertEqual({k: report[k] for k in ('path', 'format', 'varstore-size', 'size', 'secure-boot', 'fits',
                                                 'certificates', 'variables')},
                         {'path': store, 'format': '', 'varstore-size': 0, 'size': 5, 'secure-boot': '',
                          'fits': ['50-secure.json', '60-plain.json'], 'certificates': [], 'variables': []})
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
        self.assertIn('nvram inspect needs PATH', p.stderr)

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


class TestTemplateKeys(unittest.TestCase):
    """The keys in Debian 12's real templates, offline: --certificate, the two template keys in --json, list
    --wide and describe."""

    def setUp(self):
        if not all(os.path.exists(os.path.join(DEBIAN_DIR, n)) for n in DEBIAN_NAMES):
            self.skipTest('ovmf is not installed')

    def ctl(self, *args):
        return run('--offline', f'--search-path={DEBIAN_DIR}', *args)

    def test_resolve_and_explain(self):
        p = self.ctl('resolve', '-a', 'x86_64', '--certificate=microsoft-kek-2011', '--json')
        self.assertEqual(p.returncode, 0, p.stderr)
        out = json.loads(p.stdout)
        self.assertEqual(out['name'], '40-edk2-x86_64-secure-enrolled.json')
        self.assertEqual(out['nvram-template-secure-boot'], 'enforcing')
        self.assertIn('KEK:microsoft-kek-2011', out['nvram-template-certificates'])
        self.assertIn('db:microsoft-uefi-ca-2011', out['nvram-template-certificates'])
        # Debian 12 has no template with Microsoft's 2023 KEK
        p = self.ctl('resolve', '-a', 'x86_64', '--certificate=microsoft-kek-2023', '--certificate=windows-pca-2011')
        self.assertEqual(p.returncode, 2)
        self.assertIn('certificate=microsoft-kek-2023 certificate=windows-pca-2011:', p.stderr)
        self.assertIn('closest: 40-edk2-x86_64-secure-enrolled.json (certificate-missing:microsoft-kek-2023)',
                      p.stderr)
        out = json.loads(self.ctl('--json', 'explain', '-a', 'x86_64', '--certificate=microsoft-kek-2023').stdout)
        verdicts = {(v['name'], v['verdict']): v['reasons'] for v in out['verdicts']}
        self.assertEqual(verdicts[('40-edk2-x86_64-secure-enrolled.json', 'rejected')],
                         ['certificate-missing:microsoft-kek-2023'])
        # the plain template is in setup mode: no certificates at all
        self.assertEqual(verdicts[('60-edk2-x86_64.json', 'rejected')], ['certificate-missing:microsoft-kek-2023'])
        # a filter too
        out = json.loads(self.ctl('--json', 'list', '--certificate=windows-pca-2011').stdout)
        self.assertEqual([f['name'] for f in out['firmwares']],
                         ['40-edk2-aarch64-secure-enrolled.json', '40-edk2-x86_64-secure-enrolled.json'])

    def test_bad_certificate(self):
        for value in ('microsoft-kek-2024', 'sha256:ABC', 'sha256:' + 'A' * 64, ''):
            p = self.ctl('resolve', '-a', 'x86_64', f'--certificate={value}')
            self.assertEqual(p.returncode, 1, value)
            self.assertIn(f"Unknown certificate '{value}'", p.stderr)
        p = self.ctl('resolve', '-a', 'x86_64', '--certificate=sha256:' + 'a' * 64)
        self.assertEqual(p.returncode, 2)
        self.assertIn('certificate-missing:sha256:' + 'a' * 64, p.stderr)

    def test_shown(self):
        p = self.ctl('list', '--wide')
        self.assertEqual(p.returncode, 0, p.stderr)
        header, *rows = p.stdout.splitlines()
        self.assertTrue(header.rstrip().endswith('SECURE-BOOT  CERTIFICATES'), header)
        enrolled = next(r for r in rows if r.split()[1:2] == ['40-edk2-x86_64-secure-enrolled.json'])
        self.assertIn('enforcing    PK 1, KEK 2 (2011 only), db 2 (2011 only)', enrolled)
        plain = next(r for r in rows if r.split()[1:2] == ['60-edk2-x86_64.json'])
        self.assertTrue(plain.rstrip().endswith('setup-mode   -'), plain)
        p = self.ctl('resolve', '-a', 'x86_64', '--certificate=debian-pk-kek-2019')
        self.assertIn('    secure boot: enforcing\n   certificates: PK:debian-pk-kek-2019\n', p.stdout)
        out = json.loads(self.ctl('describe', '50-edk2-x86_64-secure.json').stdout)
        self.assertEqual((out['nvram-template-secure-boot'], out['nvram-template-certificates']), ('setup-mode', []))


def run_in(cwd, *args, env=None, **kw):
    return without_wrapper_notes(subprocess.run([*WRAPPER, CTL, *args], capture_output=True, text=True, cwd=cwd,
                                                env=env, timeout=30 * (10 if WRAPPER else 1), **kw))


def on_terminal(*args, env):
    """Runs fwregistryctl with stdout on a pseudo-terminal; returns (exit status, what reached the terminal)."""
    master, slave = pty.openpty()
    p = subprocess.Popen([*WRAPPER, CTL, *args], stdin=subprocess.DEVNULL, stdout=slave, stderr=subprocess.PIPE,
                         env=env)
    os.close(slave)
    out = b''
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:         # EIO: every writer is gone
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    p.wait(timeout=30)
    return p.returncode, out.decode().replace('\r\n', '\n')


class TestTool(unittest.TestCase):
    """What makes it a systemd-style tool: status by default, JSON modes, legends, the pager, arguments."""

    @classmethod
    def setUpClass(cls):
        TestOffline.setUpClass.__func__(cls)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.root)

    def ctl(self, *args, **kw):
        return run_in(None, '--offline', '--root', self.root, *args, **kw)

    def test_no_verb_is_status(self):
        p = self.ctl()
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, self.ctl('status').stdout)
        fields = dict(l.strip().split(': ', 1) for l in p.stdout.splitlines() if ': ' in l)
        self.assertEqual(fields['Version'], '0.1')
        self.assertEqual(fields['Descriptors'], '2 valid, 1 invalid')
        self.assertEqual(fields['Search path'], '/usr/share/qemu/firmware')
        self.assertIn('/etc/qemu/firmware', p.stdout)
        out = json.loads(self.ctl('--json=short', 'status').stdout)
        self.assertEqual((out['count'], out['invalid-count'], out['architectures']), (2, 1, ['x86_64']))

    def test_json_modes(self):
        pretty = self.ctl('--json', 'list').stdout
        self.assertEqual(pretty, self.ctl('--json=pretty', 'list').stdout)
        short = self.ctl('--json=short', 'list').stdout
        self.assertEqual(short.count('\n'), 1)
        self.assertNotIn(' ', short.replace('test firmware', ''))
        self.assertEqual(json.loads(short), json.loads(pretty))
        self.assertTrue(self.ctl('--json=off', 'list').stdout.startswith('RANK'))
        d = self.ctl('--json=short', 'describe', '50-secure.json').stdout
        self.assertEqual(d.count('\n'), 1)
        self.assertEqual(json.loads(d)['name'], '50-secure.json')

    def test_legends(self):
        self.assertTrue(self.ctl('list', '--include-invalid').stdout.endswith('\n3 firmware descriptors listed.\n'))
        self.assertTrue(self.ctl('list', '--no-secure-boot').stdout.endswith('\n1 firmware descriptor listed.\n'))
        self.assertTrue(self.ctl('list', '--arch=aarch64').stdout.endswith('\n0 firmware descriptors listed.\n'))
        p = self.ctl('list', '--no-legend')
        self.assertEqual(len(p.stdout.splitlines()), 2)
        self.assertTrue(p.stdout.startswith('0     50-secure.json'))
        out = self.ctl('explain', '-a', 'x86_64').stdout
        self.assertTrue(out.endswith('\n4 descriptors explained, one selected.\n'), out)

    def test_include_shadowed(self):
        root = tempfile.mkdtemp(prefix='fwregistryctl-shadow-')
        self.addCleanup(shutil.rmtree, root)
        for d in ('usr/share/qemu/firmware', 'etc/qemu/firmware'):
            os.makedirs(os.path.join(root, d))
            with open(os.path.join(root, d, '50-x.json'), 'w') as f:
                f.write(json.dumps(GOOD))
        p = run_in(None, '--offline', '--root', root, 'list', '--include-shadowed')
        lines = p.stdout.splitlines()
        self.assertEqual([l.split()[1:3] for l in lines[1:3]], [['50-x.json', 'files-missing'],
                                                                ['50-x.json', 'shadowed']])
        out = json.loads(run_in(None, '--offline', '--root', root, '--json', 'list', '--include-shadowed').stdout)
        self.assertEqual(out['firmwares'][1]['path'], f'{root}/usr/share/qemu/firmware/50-x.json')
        self.assertEqual(out['firmwares'][1]['problems'], [f"shadowed by '{root}/etc/qemu/firmware/50-x.json'"])

    def test_bad_arguments(self):
        for args, message in (
                (['frobnicate'], "Unknown command 'frobnicate' (expected status, list, describe, resolve, explain, "
                                 "monitor, reload, validate or nvram)"),
                (['resolve', 'x86_64', 'q35'], "Unexpected arguments 'x86_64' 'q35': resolve takes options only "
                                               "(--arch=ARCH --machine=TYPE ...)"),
                (['list', 'extra'], "Unexpected argument 'extra': list takes options only"),
                (['describe', 'a', 'b'], "Unexpected argument 'b': describe takes NAME"),
                (['describe'], 'describe needs NAME'),
                (['nvram', 'frob', 'x'], "Unknown nvram command 'frob' (expected create, inspect, audit, migrate or "
                                          "update-keys)"),
                (['nvram', 'create'], 'nvram create needs PATH'),
                (['nvram', 'migrate', 'a', 'b', 'c'], "Unexpected argument 'c': nvram migrate takes OLD [NEW]"),
                (['list', '--keys=keep'], '--keys, --dry-run and --no-backup apply to nvram migrate and update-keys '
                                          'only'),
                (['--frob', 'list'], "Unknown option '--frob' (see --help for the options)"),
                (['resolve', '--arhc=x86_64'],
                 "Unknown option '--arhc=x86_64' (did you mean --arch? see --help for the options)"),
                (['-z', 'list'], "Unknown option '-z' (see --help for the options)"),
                (['list', '--arch'], "Option '--arch' needs a value (see --help)"),
                (['--json=yaml', 'list'], "Unknown --json mode 'yaml' (expected pretty, short or off)"),
                (['resolve', '-a', 'x86_64', '--output=xml'],
                 "Unknown --output format 'xml' (expected text, qemu or libvirt)"),
                (['resolve', '--device=rom', '-a', 'x86_64'],
                 "Unknown device 'rom' (expected flash, memory, kernel or igvm)"),
                (['resolve', '-a', 'x86_64', '--machine='], '--machine must not be empty'),
                (['resolve', '-a', 'x86_64', '--executable='], '--executable must not be empty'),
                (['list', '--output=qemu'], '--output applies to resolve only'),
                (['explain', '-a', 'x86_64', '--include-masked'], 'apply to list only'),
                (['monitor'], "'monitor' needs the daemon: drop --offline")):
            p = self.ctl(*args)
            self.assertEqual(p.returncode, 1, args)
            self.assertEqual(len(p.stderr.splitlines()), 1, p.stderr)
            self.assertIn(message, p.stderr, args)
            self.assertEqual(p.stdout, '')

    def pager_env(self, **extra):
        out = os.path.join(self.root, 'paged')
        if os.path.exists(out):
            os.unlink(out)
        env = {k: v for k, v in os.environ.items() if k not in ('SYSTEMD_PAGER', 'SYSTEMD_LESS')}
        env.update(PAGER=f'(echo "LESS=$LESS"; cat) > {out}', **extra)
        return env, out

    def test_pager_off_a_terminal(self):
        env, out = self.pager_env()
        p = self.ctl('list', env=env)
        self.assertTrue(p.stdout.startswith('RANK'))
        self.assertFalse(os.path.exists(out), 'a pager ran although stdout is a pipe')

    def test_pager_on_a_terminal(self):
        env, out = self.pager_env()
        status, tty = on_terminal('--offline', '--root', self.root, 'list', env=env)
        self.assertEqual(status, 0)
        self.assertEqual(tty, '')
        with open(out) as f:
            paged = f.read()
        self.assertTrue(paged.startswith('LESS=FRSXMK\nRANK  NAME'), paged)
        self.assertIn('2 firmware descriptors listed.', paged)
        # SYSTEMD_PAGER wins over PAGER, SYSTEMD_LESS over the default options
        env, out = self.pager_env(SYSTEMD_PAGER=f'(echo "LESS=$LESS"; cat) > {out}.systemd', SYSTEMD_LESS='R')
        on_terminal('--offline', '--root', self.root, 'list', env=env)
        with open(out + '.systemd') as f:
            self.assertTrue(f.read().startswith('LESS=R\n'))
        self.assertFalse(os.path.exists(out))
        # --no-pager, and a pager of "cat", print straight to the terminal
        for args, extra in ((['--no-pager'], {}), ([], {'SYSTEMD_PAGER': 'cat'})):
            env, out = self.pager_env(**extra)
            status, tty = on_terminal('--offline', '--root', self.root, *args, 'list', env=env)
            self.assertTrue(tty.startswith('RANK  NAME'), tty)
            self.assertFalse(os.path.exists(out))

    def test_relative_nvram_path(self):
        cwd = tempfile.mkdtemp(prefix='fwregistryctl-cwd-')
        self.addCleanup(shutil.rmtree, cwd)
        p = run_in(cwd, '--offline', '--root', self.root, 'resolve', '-a', 'x86_64', '-m', 'q35', '--no-smm',
                   '--output=qemu', '--nvram', 'vm 1/vars.fd')
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(f"'if=pflash,unit=1,format=raw,file={cwd}/vm 1/vars.fd'", p.stdout)


class TestLaunch(unittest.TestCase):
    """--output=qemu and libvirt, and nvram create, on a tree with one descriptor of each kind."""

    @classmethod
    def setUpClass(cls):
        cls.root = tempfile.mkdtemp(prefix='fwregistryctl-launch-')
        usr = os.path.join(cls.root, 'usr/share/qemu/firmware')
        os.makedirs(usr)
        cls.images = os.path.join(cls.root, 'images')
        os.makedirs(cls.images)
        for name, content in (('CODE.fd', b'code'), ('VARS.fd', b'vars' * 1000), ('BIOS.bin', b'bios'),
                              ('ALL.qcow2', b'combined')):
            with open(os.path.join(cls.images, name), 'wb') as f:
                f.write(content)
        secure = json.loads(json.dumps(GOOD))
        secure['mapping']['executable']['filename'] = f'{cls.images}/CODE.fd'
        secure['mapping']['nvram-template']['filename'] = f'{cls.images}/VARS.fd'
        combined = json.loads(json.dumps(GOOD))
        combined['features'] = []
        combined['mapping'] = {'device': 'flash', 'mode': 'combined',
                               'executable': {'filename': f'{cls.images}/ALL.qcow2', 'format': 'qcow2'}}
        stateless = json.loads(json.dumps(combined))
        stateless['mapping'] = {'device': 'flash', 'mode': 'stateless',
                                'executable': {'filename': f'{cls.images}/CODE.fd', 'format': 'raw'}}
        bios = {'description': 'bios', 'interface-types': ['bios'],
                'mapping': {'device': 'memory', 'filename': f'{cls.images}/BIOS.bin'},
                'targets': [{'architecture': 'x86_64', 'machines': ['pc-i440fx-*', 'pc-q35-*']}],
                'features': [], 'tags': []}
        for name, d in (('10-secure.json', secure), ('20-combined.json', combined),
                        ('30-stateless.json', stateless), ('40-bios.json', bios)):
            with open(os.path.join(usr, name), 'w') as f:
                json.dump(d, f)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.root)

    def ctl(self, *args):
        # the images are named by absolute host paths: --root only moves the descriptors here
        return run_in(None, '--offline', '--search-path', f'{self.root}/usr/share/qemu/firmware', *args)

    def qemu(self, *args):
        p = self.ctl('resolve', '-a', 'x86_64', *args, '--output=qemu')
        self.assertEqual(p.returncode, 0, p.stderr)
        return shlex.split(p.stdout)

    def test_qemu_arguments(self):
        i = self.images
        self.assertEqual(self.qemu('-m', 'q35', '--nvram', '/vm/a,b.fd'), [
            '-machine', 'q35,smm=on', '-global', 'driver=cfi.pflash01,property=secure,value=on',
            '-drive', f'if=pflash,unit=0,format=raw,readonly=on,file={i}/CODE.fd',
            '-drive', 'if=pflash,unit=1,format=raw,file=/vm/a,,b.fd'])
        self.assertEqual(self.qemu('--exclude=10-secure.json', '--nvram', '/vm/all.qcow2'), [
            '-drive', 'if=pflash,unit=0,format=qcow2,file=/vm/all.qcow2'])
        self.assertEqual(self.qemu('-m', 'pc-q35-9.2', '--mode=stateless'), [
            '-machine', 'pc-q35-9.2', '-drive', f'if=pflash,unit=0,format=raw,readonly=on,file={i}/CODE.fd'])
        self.assertEqual(self.qemu('--interface=bios'), ['-bios', f'{i}/BIOS.bin'])

    def test_qemu_needs_the_varstore(self):
        p = self.ctl('resolve', '-a', 'x86_64', '--output=qemu')
        self.assertEqual(p.returncode, 1)
        self.assertIn("10-secure.json keeps variables in a per-VM file: give its path with --nvram=PATH", p.stderr)
        p = self.ctl('resolve', '-a', 'x86_64', '-m', 'pc', '--output=qemu', '--nvram=/x')
        self.assertEqual(p.returncode, 2)       # no match stays 2

    def test_shell_quoting(self):
        argv = self.qemu('-m', 'q35', '--nvram', "/vm/it's here.fd")
        self.assertEqual(argv[-1], "if=pflash,unit=1,format=raw,file=/vm/it's here.fd")
        p = subprocess.run(['sh', '-c', f'printf "%s\\n" {self.ctl("resolve", "-a", "x86_64", "-m", "q35", "--output=qemu", "--nvram", "/vm/$(x) *").stdout}'],
                           capture_output=True, text=True)
        self.assertEqual(p.stdout.splitlines()[-1], 'if=pflash,unit=1,format=raw,file=/vm/$(x) *')

    def test_libvirt(self):
        p = self.ctl('resolve', '-a', 'x86_64', '--output=libvirt', '--nvram', '/var/lib/vm & co.fd')
        self.assertEqual(p.returncode, 0, p.stderr)
        os_ = ET.fromstring(f'<os>{p.stdout}</os>')
        loader, nvram = list(os_)
        self.assertEqual(loader.tag, 'loader')
        # raw is libvirt's default: no format attributes, which libvirt before 9.2.0 refuses
        self.assertEqual(loader.attrib, {'readonly': 'yes', 'secure': 'yes', 'type': 'pflash'})
        self.assertEqual(loader.text, f'{self.images}/CODE.fd')
        self.assertEqual(nvram.attrib, {'template': f'{self.images}/VARS.fd'})
        self.assertEqual(nvram.text, '/var/lib/vm & co.fd')
        p = self.ctl('resolve', '-a', 'x86_64', '--output=libvirt')
        self.assertEqual(ET.fromstring(f'<os>{p.stdout}</os>')[1].text, None)
        p = self.ctl('resolve', '-a', 'x86_64', '--interface=bios', '--output=libvirt')
        self.assertEqual(p.stdout, f"<loader type='rom'>{self.images}/BIOS.bin</loader>\n")

    def test_libvirt_qcow2(self):
        """A qcow2 image needs its format named, and the libvirt release that reads it said."""
        p = self.ctl('resolve', '-a', 'x86_64', '--exclude=10-secure.json', '--output=libvirt',
                     '--nvram', '/vm/all')
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, "<!-- format='qcow2' needs libvirt 9.2.0 or later -->\n"
                                   "<loader readonly='no' secure='no' type='pflash' format='qcow2'>"
                                   "/vm/all</loader>\n")
        tree = self.tree_of({'mapping': {'device': 'flash',
                                         'executable': {'filename': 'CODE.qcow2', 'format': 'qcow2'},
                                         'nvram-template': {'filename': 'VARS.qcow2', 'format': 'qcow2'}}})
        p = run_in(None, '--offline', '--search-path', tree, 'resolve', '-a', 'x86_64', '--output=libvirt',
                   '--nvram', '/vm/vars.qcow2')
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.splitlines()[0],
                         "<!-- format='qcow2' needs libvirt 9.2.0 or later, templateFormat 10.10.0 or later -->")
        os_ = ET.fromstring(f'<os>{p.stdout}</os>')
        self.assertEqual(os_[0].get('format'), 'qcow2')
        self.assertEqual(os_[1].attrib, {'template': f'{tree}/img/VARS.qcow2', 'templateFormat': 'qcow2',
                                         'format': 'qcow2'})

    def tree_of(self, descriptor, images=True):
        """A search directory of its own with one descriptor (GOOD with these members) whose file names are
        made absolute below it, and (unless images is False) their images."""
        top = tempfile.mkdtemp(prefix='fwregistryctl-tree-')
        self.addCleanup(shutil.rmtree, top)
        os.makedirs(os.path.join(top, 'img'))
        d = dict(json.loads(json.dumps(GOOD)), **descriptor)
        m = d['mapping']
        for f in [m[k] for k in ('executable', 'nvram-template') if k in m]:
            f['filename'] = os.path.join(top, 'img', f['filename'])
            if images:
                with open(f['filename'], 'wb') as out:
                    out.write(b'image')
        with open(os.path.join(top, '50-x.json'), 'w') as f:
            json.dump(d, f)
        return top

    def test_libvirt_control_characters(self):
        """A path reads back from the XML exactly as it was: tab, newline and carriage return are written as
        character references (a parser makes spaces of them in an attribute); other control characters,
        which XML cannot hold, are refused before anything is printed."""
        flash = {'device': 'flash', 'executable': {'filename': 'CODE\t.fd', 'format': 'raw'},
                 'nvram-template': {'filename': 'VARS\r\n.fd', 'format': 'raw'}}
        tree = self.tree_of({'mapping': flash})
        nvram = "/vm/a\nb\r\tc & 'd'.fd"
        p = run_in(None, '--offline', '--search-path', tree, 'resolve', '-a', 'x86_64', '--output=libvirt',
                   '--nvram', nvram)
        self.assertEqual(p.returncode, 0, p.stderr)
        loader, nvram_ = ET.fromstring(f'<os>{p.stdout}</os>')
        self.assertEqual(nvram_.get('template'), f'{tree}/img/VARS\r\n.fd')
        self.assertEqual(loader.text, f'{tree}/img/CODE\t.fd')
        self.assertEqual(nvram_.text, nvram)
        self.assertEqual(len(p.stdout.splitlines()), 2, p.stdout)     # an element a line
        # a control character XML has no way to write, or bytes that are not UTF-8: refused, nothing printed
        not_utf8 = os.fsdecode(b'/vm/\xff.fd')
        for template, args, shown in (
                ('VARS\x01.fd', [],
                 "The nvram template '{tree}/img/VARS\\x01.fd' holds the control character \\x01"),
                ('VARS.fd', ['--nvram', '/vm/\x02.fd'],
                 "The varstore '/vm/\\x02.fd' holds the control character \\x02"),
                ('VARS.fd', ['--nvram', not_utf8], "The varstore '/vm/\\xff.fd' is not valid UTF-8")):
            flash['nvram-template']['filename'] = template
            tree = self.tree_of({'mapping': json.loads(json.dumps(flash))})
            p = run_in(None, '--offline', '--search-path', tree, 'resolve', '-a', 'x86_64', '--output=libvirt',
                       *args)
            self.assertEqual((p.returncode, p.stdout), (1, ''))
            self.assertEqual(p.stderr, f'fwregistryctl: {shown.format(tree=tree)}, which XML cannot carry: '
                                       'libvirt cannot be given this path\n')

    def virsh_define(self, os_elements, arch='x86_64', machine='q35'):
        """virsh define --validate of a minimal domain around the <os> elements, on libvirt's test driver."""
        smm = "<smm state='on'/>" if "secure='yes'" in os_elements else ''
        domain = (f"<domain type='qemu'><name>fwregistry-test</name><memory unit='MiB'>512</memory>"
                  f"<os><type arch='{arch}' machine='{machine}'>hvm</type>\n{os_elements}</os>"
                  f"<features>{smm}</features></domain>\n")
        path = os.path.join(tempfile.mkdtemp(prefix='fwregistryctl-virsh-'), 'domain.xml')
        self.addCleanup(shutil.rmtree, os.path.dirname(path))
        with open(path, 'w') as f:
            f.write(domain)
        return subprocess.run(['virsh', '-q', '-c', 'test:///default', 'define', '--validate', path],
                              capture_output=True, text=True, timeout=60)

    def test_libvirt_output_defines_with_virsh(self):
        """What --output=libvirt prints, in a minimal q35 domain, is a domain the installed libvirt takes (Debian
        12's libvirt 9.0.0 refused the format attributes with "Extra element os in interleave")."""
        if not shutil.which('virsh'):
            self.skipTest('virsh is not installed (apt-get install libvirt-clients)')
        cases = [('the secure split build', ['--nvram', '/var/lib/vm & co.fd']),
                 ('the split build, varstore path left to libvirt', []),
                 ('stateless', ['--mode=stateless']),
                 ('memory', ['--interface=bios'])]
        for what, args in cases:
            p = self.ctl('resolve', '-a', 'x86_64', '-m', 'q35', *args, '--output=libvirt')
            self.assertEqual(p.returncode, 0, p.stderr)
            v = self.virsh_define(p.stdout)
            self.assertEqual(v.returncode, 0, f'{what}:\n{p.stdout}{v.stderr}')
        # the case on this machine's own descriptors, where Debian's OVMF is installed
        p = run_in(None, '--offline', 'resolve', '--arch', 'x86_64', '--machine', 'q35', '--secure-boot',
                   '--output=libvirt', '--nvram', '/var/lib/libvirt/qemu/nvram/vm_VARS.fd')
        if p.returncode == 0:
            v = self.virsh_define(p.stdout)
            self.assertEqual(v.returncode, 0, p.stdout + v.stderr)
        # qcow2 needs libvirt 9.2.0, as the comment says: older ones refuse it, newer ones take it
        version = tuple(int(x) for x in subprocess.run(['virsh', '--version'], capture_output=True, text=True,
                                                       check=True).stdout.split('.')[:2])
        p = self.ctl('resolve', '-a', 'x86_64', '--exclude=10-secure.json', '--output=libvirt',
                     '--nvram', '/vm/all')
        self.assertIn('needs libvirt 9.2.0 or later', p.stdout)
        self.assertEqual(self.virsh_define(p.stdout).returncode == 0, version >= (9, 2), p.stdout)

    def test_nvram_create(self):
        d = tempfile.mkdtemp(prefix='fwregistryctl-vm-')
        self.addCleanup(shutil.rmtree, d)
        old = os.umask(0)
        try:
            p = run_in(d, '--offline', '--search-path', f'{self.root}/usr/share/qemu/firmware', 'nvram', 'create',
                       'vm.fd', '-a', 'x86_64', '-m', 'q35')
        finally:
            os.umask(old)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stderr, rf"^Created '{d}/vm.fd' from 10-secure.json \((reflink|copy)\)\.\n$")
        st = os.stat(os.path.join(d, 'vm.fd'))
        self.assertEqual(st.st_mode & 0o777, 0o600)
        with open(os.path.join(d, 'vm.fd'), 'rb') as f, open(os.path.join(self.images, 'VARS.fd'), 'rb') as t:
            self.assertEqual(f.read(), t.read())
        # never over an existing file, nor through a symlink
        with open(os.path.join(d, 'vm.fd'), 'wb') as f:
            f.write(b'the VM\'s variables')
        os.symlink(os.path.join(d, 'target'), os.path.join(d, 'link.fd'))
        for name in ('vm.fd', 'link.fd'):
            p = run_in(d, '--offline', '--search-path', f'{self.root}/usr/share/qemu/firmware', 'nvram', 'create',
                       name, '-a', 'x86_64')
            self.assertEqual(p.returncode, 1)
            self.assertEqual(p.stderr, f"fwregistryctl: '{d}/{name}' exists already: nvram create never overwrites "
                                       "a varstore\n")
        with open(os.path.join(d, 'vm.fd'), 'rb') as f:
            self.assertEqual(f.read(), b'the VM\'s variables')
        self.assertFalse(os.path.exists(os.path.join(d, 'target')))
        # combined flash: the VM's copy is of the image itself; stateless and memory keep nothing
        p = self.ctl('nvram', 'create', os.path.join(d, 'all.qcow2'), '-a', 'x86_64', '--exclude=10-secure.json')
        self.assertEqual(p.returncode, 0, p.stderr)
        p = self.ctl('nvram', 'create', os.path.join(d, 'none.fd'), '-a', 'x86_64', '--interface=bios')
        self.assertEqual(p.returncode, 1)
        self.assertIn('40-bios.json keeps no variables in a file of the VM\'s', p.stderr)
        self.assertFalse(os.path.exists(os.path.join(d, 'none.fd')))


class TestNvramCreate(unittest.TestCase):
    """nvram create copies only a regular file, and the VM's varstore is complete or absent: the copy is made
    where nobody sees it, checked, synced, then linked to its name, and its directory synced."""

    def setUp(self):
        self.top = tempfile.mkdtemp(prefix='fwregistryctl-nvram-')
        self.addCleanup(shutil.rmtree, self.top)
        for d in ('descriptors', 'img', 'vm'):
            os.makedirs(os.path.join(self.top, d))
        self.template = os.path.join(self.top, 'img', 'VARS.fd')
        with open(os.path.join(self.top, 'img', 'CODE.fd'), 'wb') as f:
            f.write(b'code')
        with open(self.template, 'wb') as f:
            f.write(os.urandom(4096) * 16)
        self.describe(self.template)
        self.target = os.path.join(self.top, 'vm', 'vm.fd')

    def describe(self, template):
        d = json.loads(json.dumps(GOOD))
        d['features'] = []
        d['mapping']['executable']['filename'] = os.path.join(self.top, 'img', 'CODE.fd')
        d['mapping']['nvram-template']['filename'] = template
        with open(os.path.join(self.top, 'descriptors', '50-x.json'), 'w') as f:
            json.dump(d, f)

    def args(self, *extra):
        return ['--offline', '--search-path', os.path.join(self.top, 'descriptors'), 'nvram', 'create',
                self.target, '-a', 'x86_64', *extra]

    def create(self, *extra):
        # a file size limit: a client that copies without end dies of SIGXFSZ instead of filling the disk
        def limit():
            resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))
        return without_wrapper_notes(subprocess.run([*WRAPPER, CTL, *self.args(*extra)], capture_output=True,
                                                    text=True, timeout=10 * (10 if WRAPPER else 1),
                                                    preexec_fn=limit))

    def test_only_a_regular_template(self):
        """A FIFO (it would hang the open) and a device such as /dev/zero (it never ends) are refused; the
        catalogue's file check is off here, as when the template is swapped after it."""
        fifo = os.path.join(self.top, 'img', 'FIFO.fd')
        os.mkfifo(fifo)
        for template, kind in ((fifo, 'a FIFO'), ('/dev/zero', 'a character device')):
            self.describe(template)
            p = self.create('--no-check-files')
            self.assertEqual((p.returncode, p.stderr),
                             (1, f"fwregistryctl: The template '{template}' is {kind}, not a regular file: nothing "
                                 "was created\n"))
            self.assertEqual(os.listdir(os.path.join(self.top, 'vm')), [])

    def strace(self, *options):
        """nvram create under strace; returns the process and the traced calls, one a line."""
        if not shutil.which('strace'):
            self.skipTest('strace is not installed')
        log = os.path.join(self.top, 'strace.log')
        # LeakSanitizer cannot work under ptrace; the tests without strace look for leaks
        env = dict(os.environ, ASAN_OPTIONS=':'.join(filter(None, [os.environ.get('ASAN_OPTIONS'),
                                                                   'detect_leaks=0'])))
        p = subprocess.run(['strace', '-o', log, *options, CTL, *self.args()], capture_output=True, text=True,
                           timeout=60, env=env)
        with open(log) as f:
            return p, f.read().splitlines()

    def assert_copy(self):
        with open(self.target, 'rb') as f, open(self.template, 'rb') as t:
            self.assertTrue(f.read() == t.read(), 'the copy differs from the template')
        self.assertEqual(os.listdir(os.path.join(self.top, 'vm')), ['vm.fd'])

    def test_complete_or_absent(self):
        p, calls = self.strace('-e', 'trace=open,openat,creat,link,linkat,rename,renameat,renameat2,unlink,'
                               'unlinkat,fsync,fdatasync')
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assert_copy()
        # the template, opened last for the copy (the catalogue read it before, for its facts)
        template = [c for c in calls if f'"{self.template}"' in c][-1]
        self.assertIn('O_NONBLOCK', template)
        # the name is never opened, created or removed: it is linked to a finished copy
        self.assertFalse([c for c in calls if self.target in c or ('"vm.fd"' in c and not c.startswith(
                          ('linkat(', 'renameat2(')))], calls)
        named = [i for i, c in enumerate(calls) if '"vm.fd"' in c and c.endswith('= 0')]
        self.assertEqual(len(named), 1, calls)
        self.assertRegex(calls[named[0] - 1], r'^f(data)?sync\(', 'the copy is not synced before it is named')
        self.assertRegex(calls[named[0] + 1], r'^fsync\(', 'the directory is not synced after the name')

    def test_without_o_tmpfile(self):
        """On a file system without O_TMPFILE (and without RENAME_NOREPLACE) the copy gets a random name first,
        and nothing of it is left beside the varstore."""
        vm = os.path.join(self.top, 'vm')
        for injected in ([], ['-e', 'inject=renameat2:error=EINVAL']):
            p, calls = self.strace('-P', vm, '-e', 'trace=openat,renameat2,linkat,unlinkat',
                                   '-e', 'inject=openat:error=EOPNOTSUPP:when=2', *injected)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertTrue([c for c in calls if 'O_TMPFILE' in c and '(INJECTED)' in c], calls)
            self.assert_copy()
            os.unlink(self.target)

    def test_short_copy_refused(self):
        """A copy that comes out shorter than the template (here: the copy calls are told the template ended)
        is no varstore: refused, and nothing created."""
        p, calls = self.strace('-e', 'trace=ioctl,copy_file_range,read', '-e', 'inject=ioctl:error=EOPNOTSUPP',
                               '-e', 'inject=copy_file_range:retval=0')
        self.assertEqual((p.returncode, p.stderr),
                         (1, f"fwregistryctl: Copied 0 bytes of '{self.template}', which had 65536 when opened (did "
                             "it change?): nothing was created\n"))
        self.assertEqual(os.listdir(os.path.join(self.top, 'vm')), [])


COMPLETION = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'client', 'completion')


def complete(line, cwd=None):
    """What bash completion offers at the end of line, by sourcing the completion and calling it as bash
    does (COMP_WORDBREAKS splits at '=')."""
    script = f'''
source {shlex.quote(os.path.join(COMPLETION, 'fwregistryctl.bash'))}
line={shlex.quote(line)}
COMP_LINE=$line COMP_POINT=${{#line}}
read -ra COMP_WORDS <<< "${{line//=/ = }}"
[[ $line == *" " ]] && COMP_WORDS+=("")
COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
_fwregistryctl
printf '%s\\n' "${{COMPREPLY[@]}}"
'''
    env = dict(os.environ, PATH=os.path.dirname(CTL) + ':' + os.environ['PATH'])
    p = subprocess.run(['bash', '--norc', '-c', script], capture_output=True, text=True, env=env, cwd=cwd)
    assert p.returncode == 0, p.stderr
    return [l for l in p.stdout.splitlines() if l]


class TestCompletion(unittest.TestCase):
    def test_verbs_and_options(self):
        self.assertEqual(complete('fwregistryctl '), ['status', 'list', 'describe', 'resolve', 'explain', 'monitor',
                                                      'reload', 'validate', 'nvram'])
        self.assertEqual(complete('fwregistryctl re'), ['resolve', 'reload'])
        self.assertIn('--no-ask-password', complete('fwregistryctl reload --no-'))
        self.assertEqual(complete('fwregistryctl nvram '), ['create', 'inspect', 'audit', 'migrate', 'update-keys'])
        self.assertEqual(complete('fwregistryctl resolve --out'), ['--output'])

    def test_values_from_the_contract(self):
        self.assertEqual(complete('fwregistryctl resolve --arch '), ['aarch64', 'arm', 'i386', 'loongarch64',
                                                                     'riscv64', 'x86_64'])
        self.assertEqual(complete('fwregistryctl resolve --arch=x'), ['x86_64'])
        self.assertEqual(complete('fwregistryctl resolve -a x86_64 --output='), ['text', 'qemu', 'libvirt'])
        self.assertEqual(complete('fwregistryctl list --json='), ['pretty', 'short', 'off'])
        self.assertEqual(complete('fwregistryctl resolve --mode '), ['split', 'combined', 'stateless'])
        self.assertIn('secure-boot', complete('fwregistryctl resolve --no-feature='))
        # and they are the values fwregistryctl itself accepts
        for option, values in (('--arch', 'aarch64, arm, i386, loongarch64, riscv64 or x86_64'),
                               ('--device', 'flash, memory, kernel or igvm'), ('--mode', 'split, combined or stateless'),
                               ('--interface', 'uefi, bios, openfirmware or uboot')):
            p = run_in(None, '--offline', 'resolve', '-a', 'x86_64', f'{option}=bogus')
            expected = p.stderr.split('(expected ')[1].split(')')[0].replace(' or ', ', ').split(', ')
            self.assertEqual(sorted(complete(f'fwregistryctl resolve {option} ')), sorted(expected), option)

    def test_certificates(self):
        self.assertEqual(complete('fwregistryctl resolve --certificate=microsoft-k'),
                         ['microsoft-kek-2011', 'microsoft-kek-2023'])
        # every id fwregistryctl knows, and no other
        p = run_in(None, '--offline', 'resolve', '-a', 'x86_64', '--certificate=bogus')
        known = p.stderr.split('or one of ')[1].split(')')[0].split(', ')
        self.assertEqual(sorted(complete('fwregistryctl resolve --certificate ')), sorted(known))

    def test_names_from_the_catalogue(self):
        root = tempfile.mkdtemp(prefix='fwregistryctl-complete-')
        self.addCleanup(shutil.rmtree, root)
        os.makedirs(os.path.join(root, 'usr/share/qemu/firmware'))
        for name in ('50-one.json', '60-two.json'):
            with open(os.path.join(root, 'usr/share/qemu/firmware', name), 'w') as f:
                json.dump(GOOD, f)
        self.assertEqual(complete(f'fwregistryctl --offline --root={root} describe '), ['50-one.json', '60-two.json'])
        self.assertEqual(complete(f'fwregistryctl --offline --root={root} describe 6'), ['60-two.json'])
        self.assertEqual(complete(f'fwregistryctl --offline --root={root} resolve --exclude '),
                         ['50-one.json', '60-two.json'])

    def test_every_option_is_completed(self):
        help_text = run_in(None, '--help').stdout
        options = set(re.findall(r'(--[a-z][a-z-]+)', help_text))
        with open(os.path.join(COMPLETION, 'fwregistryctl.bash')) as f:
            bash = f.read()
        with open(os.path.join(COMPLETION, '_fwregistryctl')) as f:
            zsh = f.read()
        for option in options:
            self.assertRegex(bash, rf'{option}\b', f'bash: {option}')
            self.assertRegex(zsh, rf"'[^']*{option}\b", f'zsh: {option}')
        verbs = re.findall(r'^  ([a-z]+) ', help_text, re.M)
        for verb in verbs:
            self.assertIn(verb, bash)
            self.assertIn(f"'{verb}:", zsh)
        p = subprocess.run(['zsh', '-n', os.path.join(COMPLETION, '_fwregistryctl')], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)


if __name__ == '__main__':
    unittest.main(verbosity=2)
