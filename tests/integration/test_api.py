#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The Manager and Firmware interfaces of a live fwregistryd on a private system bus."""

import json
import os
import subprocess
import unittest
import xml.etree.ElementTree as ET

import dbus

from fwtest import (BUS_NAME, ETC, USR, ERROR_NO_MATCH, ERROR_NO_SUCH_FIRMWARE, FIRMWARE_IFACE, FIRMWARE_PREFIX,
                    INVALID_ARGS, MANAGER_IFACE, MANAGER_PATH, SOURCE_DIR, DaemonTestCase, firmware_path,
                    wait_until)

RESULT_KEYS = {'name', 'path', 'rank', 'generation', 'description', 'interface-types', 'device', 'mode',
               'executable', 'executable-format', 'nvram-template', 'nvram-template-format',
               'uefi-vars-template', 'features', 'requires-smm', 'targets', 'tags', 'valid', 'problems', 'files-ok',
               'state', 'executable-size', 'nvram-template-size', 'executable-sha256', 'nvram-template-sha256',
               'varstore-format', 'varstore-size', 'nvram-template-secure-boot', 'nvram-template-certificates'}
VALID_NAMES = ['40-x86-enrolled.json', '50-x86-secure.json', '60-aarch64.json', '60-x86.json',
               '75-shadowed.json', '80-missing-image.json']


class TestResolve(DaemonTestCase):
    def test_default_is_enrolled(self):
        path, result = self.resolve(architecture='x86_64', machine='pc-q35-9.2')
        self.assertEqual(path, firmware_path('40-x86-enrolled.json'))
        self.assertEqual(set(result.keys()), RESULT_KEYS)
        self.assertEqual(result['name'], '40-x86-enrolled.json')
        self.assertEqual(result['path'], f'{self.root}/usr/share/qemu/firmware/40-x86-enrolled.json')
        self.assertEqual(result['rank'], 0)
        self.assertEqual(result['generation'], 0)
        self.assertEqual(result['device'], 'flash')
        self.assertEqual(result['mode'], 'split')
        self.assertEqual(result['executable'], '/fw/CODE.secboot.fd')
        self.assertEqual(result['executable-format'], 'raw')
        self.assertEqual(result['nvram-template'], '/fw/VARS.ms.fd')
        self.assertEqual(result['nvram-template-format'], 'raw')
        self.assertEqual(result['uefi-vars-template'], '')
        self.assertTrue(result['requires-smm'])
        self.assertEqual(list(result['targets']), [('x86_64', ['pc-q35-*'])])
        self.assertTrue(result['valid'])
        self.assertTrue(result['files-ok'])
        self.assertEqual(list(result['problems']), [])

    def test_feature_and_smm_rules(self):
        def name(**req):
            return str(self.resolve(architecture='x86_64', machine='q35', **req)[1]['name'])

        self.assertEqual(name(features=dbus.Dictionary({'enrolled-keys': False}, signature='sb')),
                         '50-x86-secure.json')
        self.assertEqual(name(features=dbus.Dictionary({'secure-boot': False}, signature='sb')), '60-x86.json')
        self.assertEqual(name(smm=False), '60-x86.json')
        self.assertEqual(name(features=dbus.Dictionary({'verbose-static': True}, signature='sb')),
                         '75-shadowed.json')       # the admin's copy, which has the feature
        self.assertEqual(name(exclude=dbus.Array(['40-x86-enrolled.json'], signature='s')), '50-x86-secure.json')
        self.assertEqual(name(executable='/fw/CODE.fd'), '60-x86.json')
        self.assertEqual(name(formats=dbus.Array(['raw'], signature='s')), '40-x86-enrolled.json')

    def test_no_match(self):
        message = self.assert_dbus_error(ERROR_NO_MATCH, self.resolve, architecture='x86_64', machine='pc',
                                         features=dbus.Dictionary({'secure-boot': True}, signature='sb'))
        self.assertTrue(message.startswith("No firmware matches x86_64 machine 'pc' uefi +secure-boot: "), message)
        self.assertIn('1 invalid, 1 masked, 1 shadowed', message)
        self.assertIn('closest: 40-x86-enrolled.json (machine)', message)
        # check-files: the descriptor with a missing image only matches when files are not checked
        self.assert_dbus_error(ERROR_NO_MATCH, self.resolve, architecture='x86_64',
                               exclude=dbus.Array(VALID_NAMES[:2] + VALID_NAMES[3:5], signature='s'))
        path, result = self.manager.Resolve(dbus.Dictionary({
            'architecture': 'x86_64', 'check-files': False,
            'exclude': dbus.Array(VALID_NAMES[:2] + VALID_NAMES[3:5], signature='s')}, signature='sv'))
        self.assertEqual(result['name'], '80-missing-image.json')
        self.assertFalse(result['files-ok'])


class TestInvalidArgs(DaemonTestCase):
    def check(self, request, contains):
        self.assert_dbus_error(INVALID_ARGS, self.manager.Resolve, dbus.Dictionary(request, signature='sv'),
                               contains=contains)

    def test_bad_requests(self):
        self.check({'archtecture': 'x86_64'}, "Unknown key 'archtecture'")
        self.check({'architecture': dbus.Int32(1)}, "Key 'architecture' takes a value of type 's', got 'i'")
        self.check({'architecture': 'sparc'}, "Unknown architecture 'sparc'")
        self.check({'architecture': 'x86_64', 'interface': 'efi'}, "Unknown interface 'efi'")
        self.check({'architecture': 'x86_64', 'device': 'rom'}, "Unknown device 'rom'")
        self.check({'architecture': 'x86_64', 'mode': 'dual'}, "Unknown mode 'dual'")
        self.check({'architecture': 'x86_64', 'formats': dbus.Array(['vmdk'], signature='s')},
                   "Unknown format 'vmdk'")
        self.check({'architecture': 'x86_64', 'features': dbus.Dictionary({'secure-boot': 1}, signature='si')},
                   "Key 'features' takes a value of type 'a{sb}', got 'a{si}'")
        self.check({'architecture': 'x86_64', 'smm': 'no'}, "Key 'smm' takes a value of type 'b', got 's'")
        self.check({'architecture': 'x86_64', 'machine': ''}, "Key 'machine' must not be empty")
        self.check({'architecture': 'x86_64', 'executable': 'OVMF.fd'}, "Key 'executable' must be an absolute path")
        self.check({'architecture': 'x86_64', 'include-invalid': True}, "(only List takes it)")
        self.check({'machine': 'q35'}, "Missing key 'architecture'")
        self.check({'architecture': 'x86_64', 'exclude': dbus.Array(['x'] * 1025, signature='s')},
                   "Key 'exclude' has more than 1024 elements")
        self.check({'architecture': 'x86_64', 'machine': 'x' * 5000}, "Key 'machine' is longer than 4096 bytes")
        # a key given twice can only be built by hand
        out = subprocess.run(['busctl', 'call', '--system', BUS_NAME, MANAGER_PATH, MANAGER_IFACE, 'Resolve',
                              'a{sv}', '2', 'architecture', 's', 'x86_64', 'architecture', 's', 'aarch64'],
                             capture_output=True, text=True)
        self.assertIn("Key 'architecture' given twice", out.stderr)
        # wrong signature of the whole call
        self.assert_dbus_error(INVALID_ARGS, self.bus.call_blocking, BUS_NAME, MANAGER_PATH, MANAGER_IFACE,
                               'Resolve', 's', ['x86_64'])
        self.assert_dbus_error(INVALID_ARGS, self.bus.call_blocking, BUS_NAME, MANAGER_PATH, MANAGER_IFACE,
                               'Describe', 'u', [3])
        # and the daemon keeps serving
        self.assertEqual(self.resolve(architecture='x86_64')[1]['name'], '40-x86-enrolled.json')


class TestListDescribeExplain(DaemonTestCase):
    def test_list(self):
        generation, items = self.list()
        self.assertEqual(generation, 0)
        self.assertEqual([d['name'] for _, d in items], VALID_NAMES)
        self.assertEqual([p for p, _ in items], [firmware_path(n) for n in VALID_NAMES])
        self.assertEqual([d['rank'] for _, d in items], [0, 1, 2, 3, 5, 6])
        for _, d in items:
            self.assertEqual(set(d.keys()), RESULT_KEYS)

        _, items = self.list(architecture='aarch64')
        self.assertEqual([d['name'] for _, d in items], ['60-aarch64.json'])
        _, items = self.list(**{'include-invalid': True, 'include-masked': True})
        names = [d['name'] for _, d in items]
        self.assertIn('70-masked.json', names)
        self.assertIn('90-invalid.json', names)
        invalid = dict(items[names.index('90-invalid.json')][1])
        self.assertFalse(invalid['valid'])
        self.assertTrue(invalid['problems'][0].startswith('invalid JSON at line 1'))
        _, items = self.list(**{'include-shadowed': True})
        shadowed = [d for p, d in items if p == '/']
        self.assertEqual(len(shadowed), 1)
        self.assertEqual(shadowed[0]['path'], f'{self.root}/usr/share/qemu/firmware/75-shadowed.json')

    def test_describe(self):
        text = self.manager.Describe('75-shadowed.json')
        d = json.loads(text)
        self.assertEqual(d['description'], 'the admin copy')
        self.assertEqual(d['shadowed-paths'], [f'{self.root}/usr/share/qemu/firmware/75-shadowed.json'])
        self.assertEqual(d['scope'], 'system')
        self.assertFalse(d['masked'])
        by_path = json.loads(self.manager.Describe(firmware_path('75-shadowed.json')))
        self.assertEqual(by_path, d)
        self.assertTrue(json.loads(self.manager.Describe('70-masked.json'))['masked'])
        self.assert_dbus_error(ERROR_NO_SUCH_FIRMWARE, self.manager.Describe, 'nope.json', contains="'nope.json'")
        self.assert_dbus_error(ERROR_NO_SUCH_FIRMWARE, self.manager.Describe, FIRMWARE_PREFIX + '/_31nope')
        self.assert_dbus_error(INVALID_ARGS, self.manager.Describe, FIRMWARE_PREFIX + '/not//valid',
                               contains='Invalid object path')
        # a descriptor file, by the path List gives: only the file that won
        self.assertEqual(json.loads(self.manager.Describe(os.path.join(self.root, ETC, '75-shadowed.json'))), d)
        self.assert_dbus_error(ERROR_NO_SUCH_FIRMWARE, self.manager.Describe, os.path.join(self.root, USR, '75-shadowed.json'),
                               contains='No firmware descriptor file')
        self.assert_dbus_error(ERROR_NO_SUCH_FIRMWARE, self.manager.Describe, '/not//valid',
                               contains="No firmware descriptor file '/not//valid' in the catalogue")
        self.assert_dbus_error(INVALID_ARGS, self.manager.Describe, '')

    def test_explain(self):
        selected, v = self.explain(architecture='x86_64', machine='pc-q35-9.2',
                                   features=dbus.Dictionary({'secure-boot': True}, signature='sb'))
        self.assertEqual(selected, firmware_path('40-x86-enrolled.json'))
        root = self.root
        self.assertEqual(v, {
            ('40-x86-enrolled.json', 'selected'): [],
            ('50-x86-secure.json', 'eligible'): [],
            ('60-aarch64.json', 'rejected'): ['architecture', 'feature-missing:secure-boot'],
            ('60-x86.json', 'rejected'): ['feature-missing:secure-boot'],
            ('70-masked.json', 'masked'): [f'masked-by:{root}/etc/qemu/firmware/70-masked.json'],
            ('75-shadowed.json', 'rejected'): ['feature-missing:secure-boot'],
            ('75-shadowed.json', 'shadowed'): [f'shadowed-by:{root}/etc/qemu/firmware/75-shadowed.json'],
            ('80-missing-image.json', 'rejected'): ['feature-missing:secure-boot',
                                                    'executable-missing:/fw/GONE.fd'],
            ('90-invalid.json', 'invalid'): ['parse-error:invalid JSON at line 1, column 33 (byte 32): '
                                             'premature EOF'],
        })
        selected, v = self.explain(architecture='riscv64')
        self.assertEqual(selected, '/')


class TestProperties(DaemonTestCase):
    def test_manager_properties(self):
        self.assertEqual(self.prop('Scope'), 'system')
        self.assertTrue(str(self.prop('Version')))
        self.assertEqual(list(self.prop('SearchPath')), ['/usr/share/qemu/firmware', '/etc/qemu/firmware'])
        self.assertEqual(self.prop('Generation'), 0)
        self.assertEqual(self.prop('Count'), len(VALID_NAMES))
        self.assertEqual(self.prop('InvalidCount'), 1)
        self.assertEqual(list(self.prop('Architectures')), ['aarch64', 'x86_64'])
        self.assertEqual(list(self.prop('Features')), ['acpi-s3', 'enrolled-keys', 'requires-smm', 'secure-boot',
                                                       'verbose-static'])

    def test_firmware_objects(self):
        path = firmware_path('75-shadowed.json')
        self.assertEqual(self.prop('Name', path, FIRMWARE_IFACE), '75-shadowed.json')
        self.assertEqual(self.prop('Description', path, FIRMWARE_IFACE), 'the admin copy')
        self.assertEqual(list(self.prop('ShadowedPaths', path, FIRMWARE_IFACE)),
                         [f'{self.root}/usr/share/qemu/firmware/75-shadowed.json'])
        self.assertTrue(self.prop('Masked', firmware_path('70-masked.json'), FIRMWARE_IFACE))
        self.assertFalse(self.prop('FilesOk', firmware_path('80-missing-image.json'), FIRMWARE_IFACE))
        with self.assertRaises(dbus.exceptions.DBusException):
            self.prop('Name', firmware_path('nope.json'), FIRMWARE_IFACE)

    def test_object_manager_agrees_with_list(self):
        objects = self.bus.get_object(BUS_NAME, MANAGER_PATH).GetManagedObjects(
            dbus_interface='org.freedesktop.DBus.ObjectManager')
        firmware = {str(p): ifaces[FIRMWARE_IFACE] for p, ifaces in objects.items() if FIRMWARE_IFACE in ifaces}
        _, items = self.list(**{'include-invalid': True, 'include-masked': True})
        self.assertEqual(sorted(firmware), sorted(p for p, _ in items))
        keys = {'Name': 'name', 'Path': 'path', 'Rank': 'rank', 'Description': 'description',
                'Executable': 'executable', 'Features': 'features', 'Valid': 'valid', 'FilesOk': 'files-ok',
                'Targets': 'targets', 'Problems': 'problems'}
        for p, d in items:
            for prop, key in keys.items():
                self.assertEqual(firmware[p][prop], d[key], f'{p} {prop}')

    def test_introspection_matches_xml(self):
        for iface, path in ((MANAGER_IFACE, MANAGER_PATH), (FIRMWARE_IFACE, firmware_path('60-x86.json'))):
            live = self.bus.get_object(BUS_NAME, path).Introspect(dbus_interface='org.freedesktop.DBus.Introspectable')
            with open(os.path.join(SOURCE_DIR, 'introspection', iface + '.xml')) as f:
                published = f.read()
            self.assertEqual(canonical(live, iface), canonical(published, iface), iface)
            self.assertTrue(documented(published, iface), f'{iface}: a member has no doc comment')

    def test_busctl_examples(self):
        # the commands the README shows
        out = subprocess.run(['busctl', '--system', 'tree', BUS_NAME], capture_output=True, text=True, check=True)
        for name in VALID_NAMES + ['70-masked.json', '90-invalid.json']:
            self.assertIn(firmware_path(name), out.stdout)
        out = subprocess.run(['busctl', '--system', 'call', BUS_NAME, MANAGER_PATH, MANAGER_IFACE, 'Resolve',
                              'a{sv}', '2', 'architecture', 's', 'x86_64', 'machine', 's', 'q35'],
                             capture_output=True, text=True, check=True)
        self.assertTrue(out.stdout.startswith(f'oa{{sv}} "{firmware_path("40-x86-enrolled.json")}"'), out.stdout)
        out = subprocess.run(['busctl', '--system', 'get-property', BUS_NAME, MANAGER_PATH, MANAGER_IFACE, 'Count'],
                             capture_output=True, text=True, check=True)
        self.assertEqual(out.stdout.strip(), f'u {len(VALID_NAMES)}')


def canonical(xml_text, iface):
    """The interface element as a comparable structure: comments and whitespace dropped."""
    node = ET.fromstring(xml_text)
    for i in node.iter('interface'):
        if i.get('name') == iface:
            return [(c.tag, dict(c.attrib), [(a.tag, dict(a.attrib)) for a in c]) for c in i]
    raise AssertionError(f'{iface} not found')


def documented(xml_text, iface):
    """Every method, property and signal is preceded by a comment naming it."""
    parser = ET.XMLParser(target=ET.TreeBuilder(insert_comments=True))
    node = ET.fromstring(xml_text, parser=parser)
    for i in node.iter('interface'):
        if i.get('name') != iface:
            continue
        previous = None
        for c in i:
            if c.tag in ('method', 'property', 'signal'):
                if previous is None or previous.tag is not ET.Comment or c.get('name') + ':' not in previous.text:
                    return False
                for arg in c.findall('arg'):
                    if c.tag != 'property' and '@' + arg.get('name') + ':' not in previous.text:
                        return False
            previous = c
    return True


if __name__ == '__main__':
    unittest.main(verbosity=2)
