#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Templates carry their keys, against the real daemon: nvram-template-secure-boot and
nvram-template-certificates in results, List entries, properties and Describe; the certificates request key
with certificate-missing:<id>; and Debian 12's enrolled template beside the same file of Debian's ovmf-generic
2026.08 (fetched by tests/data/fetch-templates), of which only the second holds Microsoft's 2023 KEK."""

import copy
import json
import os
import subprocess
import tempfile
import unittest

import dbus

from fwtest import (BUS_NAME, DAEMON, ERROR_NO_MATCH, FIRMWARE_IFACE, INVALID_ARGS, MANAGER_IFACE, MANAGER_PATH,
                    SOURCE_DIR, WRAPPER, DaemonTestCase, firmware_path, wait_until)

FETCH_TEMPLATES = os.path.join(SOURCE_DIR, 'tests', 'data', 'fetch-templates')
DEBIAN_DESCRIPTOR = '/usr/share/qemu/firmware/40-edk2-x86_64-secure-enrolled.json'
DEBIAN_TEMPLATE = '/usr/share/OVMF/OVMF_VARS_4M.ms.fd'
OLD = '40-edk2-x86_64-secure-enrolled.json'
NEW = '45-edk2-x86_64-secure-enrolled-2026.json'
KEK_2023 = 'microsoft-kek-2023'
SID = None


def setUpModule():
    """The sid tree, fetched once for the module (a download on the first run; exit 77: unavailable)."""
    global SID
    if not os.path.exists(DEBIAN_DESCRIPTOR) or not os.path.exists(DEBIAN_TEMPLATE):
        return
    p = subprocess.run([FETCH_TEMPLATES], capture_output=True, text=True, timeout=800)
    if p.returncode == 77:
        print(p.stderr.strip())
        return
    if p.returncode != 0:
        raise AssertionError(f'fetch-templates failed with status {p.returncode}: {p.stderr}')
    SID = p.stdout.strip()


class TestCertificateKey(DaemonTestCase):
    """The standard tree, whose images hold no variables: the keys are there, empty, and bad ids are refused."""

    def test_keys_without_variables(self):
        _, result = self.resolve(architecture='x86_64')
        self.assertEqual(result['nvram-template-secure-boot'], '')
        self.assertEqual(result['nvram-template-certificates'], dbus.Array([], signature='s'))
        self.assertEqual(result['nvram-template-certificates'].signature, 's')
        path = firmware_path('60-x86.json')
        self.assertEqual(self.prop('NvramTemplateSecureBoot', path, FIRMWARE_IFACE), '')
        self.assertEqual(list(self.prop('NvramTemplateCertificates', path, FIRMWARE_IFACE)), [])
        described = json.loads(str(self.manager.Describe('60-x86.json')))
        self.assertEqual((described['nvram-template-secure-boot'], described['nvram-template-certificates']),
                         ('', []))
        _, items = self.list()
        self.assertTrue(all('nvram-template-certificates' in d for _, d in items))
        # no template holds anything: every candidate lacks it
        message = self.assert_dbus_error(ERROR_NO_MATCH, self.resolve, architecture='x86_64', certificates=[KEK_2023])
        self.assertIn(f'uefi certificate={KEK_2023}: ', message)
        self.assertIn(f'certificate-missing:{KEK_2023}', message)

    def test_bad_ids(self):
        for bad in ('microsoft-kek-2024', 'sha256:' + 'A' * 64, 'sha256:' + 'a' * 63, 'KEK:' + KEK_2023):
            message = self.assert_dbus_error(INVALID_ARGS, self.resolve, architecture='x86_64',
                                             certificates=[KEK_2023, bad])
            self.assertIn(f"Unknown certificate '{bad}' in key 'certificates'", message)
            self.assert_dbus_error(INVALID_ARGS, self.explain, architecture='x86_64', certificates=[bad])
            self.assert_dbus_error(INVALID_ARGS, self.list, certificates=[bad])
        self.assert_dbus_error(INVALID_ARGS, self.resolve, architecture='x86_64', certificates=[''],
                               contains="'certificates'")
        self.assert_dbus_error(INVALID_ARGS, self.resolve, architecture='x86_64', certificates=KEK_2023,
                               contains="Key 'certificates' takes a value of type 'as', got 's'")
        # a valid digest of no known certificate is asked for like any other
        digest = 'sha256:' + 'a' * 64
        _, verdicts = self.explain(architecture='x86_64', certificates=[digest])
        self.assertEqual(verdicts[('60-x86.json', 'rejected')], [f'certificate-missing:{digest}'])


class TestDebianTemplates(DaemonTestCase):
    """Debian 12's enrolled descriptor, and the same descriptor pointing at sid's 2026.08 files, in a search
    directory of their own: the real files, no --root."""

    tree = {}

    @classmethod
    def setUpClass(cls):
        if not SID:
            raise unittest.SkipTest("needs Debian 12's ovmf and sid's templates (tests/data/fetch-templates)")
        super().setUpClass()

    def start_daemon(self, *extra):
        self.dir = tempfile.mkdtemp(prefix='descriptors-', dir=self.root)
        with open(DEBIAN_DESCRIPTOR) as f:
            old = json.load(f)
        new = copy.deepcopy(old)
        new['description'] = "the same from Debian's ovmf-generic 2026.08"
        for key in ('executable', 'nvram-template'):
            new['mapping'][key]['filename'] = SID + old['mapping'][key]['filename']
        for name, content in ((OLD, old), (NEW, new)):
            with open(os.path.join(self.dir, name), 'w') as f:
                json.dump(content, f, indent=2)
        self.new_template = new['mapping']['nvram-template']['filename']
        self.log_path = os.path.join(self.root, 'daemon.log')
        self.log = open(self.log_path, 'a')
        self.daemon = subprocess.Popen([*WRAPPER, DAEMON, '--system', f'--search-path={self.dir}', *extra],
                                       stdout=self.log, stderr=subprocess.STDOUT,
                                       env=dict(os.environ, FWREGISTRYD_LOG_LEVEL='debug'))
        wait_until(lambda: self.daemon.poll() is not None or self.bus.name_has_owner(BUS_NAME), what='fwregistryd')
        self.assertIsNone(self.daemon.poll(), 'fwregistryd exited during start-up')
        self.manager = dbus.Interface(self.bus.get_object(BUS_NAME, MANAGER_PATH), MANAGER_IFACE)

    def test_resolve_and_explain(self):
        # without the key, rank decides: Debian 12's
        self.assertEqual(self.resolve(architecture='x86_64', machine='q35')[1]['name'], OLD)
        path, result = self.resolve(architecture='x86_64', machine='q35', certificates=[KEK_2023])
        print(f'\nResolve(certificates=["{KEK_2023}"]): {path}')
        for key in ('name', 'nvram-template', 'nvram-template-secure-boot', 'nvram-template-certificates'):
            print(f'  {key}: {result[key] if key != "nvram-template-certificates" else list(map(str, result[key]))}')
        self.assertEqual(str(path), firmware_path(NEW))
        self.assertEqual(result['name'], NEW)
        self.assertEqual(result['nvram-template-secure-boot'], 'enforcing')
        self.assertIn(f'KEK:{KEK_2023}', result['nvram-template-certificates'])
        self.assertIn('KEK:microsoft-kek-2011', result['nvram-template-certificates'])

        selected, verdicts = self.explain(architecture='x86_64', machine='q35', certificates=[KEK_2023])
        print(f'Explain(certificates=["{KEK_2023}"]): selected {selected}')
        for (name, verdict), reasons in verdicts.items():
            print(f'  {name} {verdict} {reasons}')
        self.assertEqual(selected, firmware_path(NEW))
        self.assertEqual([r for r in verdicts[(OLD, 'rejected')] if not r.startswith('machine-alias:')],
                         [f'certificate-missing:{KEK_2023}'])
        self.assertIn((NEW, 'selected'), verdicts)

        # the certificates both hold
        for both in ('microsoft-kek-2011', 'debian-pk-kek-2019'):
            self.assertEqual(self.resolve(architecture='x86_64', certificates=[both])[1]['name'], OLD)
        message = self.assert_dbus_error(ERROR_NO_MATCH, self.resolve, architecture='x86_64', exclude=[NEW],
                                         certificates=[KEK_2023, 'windows-uefi-ca-2023'])
        print(f'NoMatch: {message}')
        self.assertIn(f'uefi certificate={KEK_2023} certificate=windows-uefi-ca-2023: 2 rejected '
                      f'(1 certificate-missing:{KEK_2023}, 1 certificate-missing:windows-uefi-ca-2023, 1 excluded)',
                      message)
        self.assertIn(f'closest: {OLD} (certificate-missing:{KEK_2023}, certificate-missing:windows-uefi-ca-2023)',
                      message)

    def test_keys_everywhere(self):
        old = self.prop('NvramTemplateCertificates', firmware_path(OLD), FIRMWARE_IFACE)
        new = self.prop('NvramTemplateCertificates', firmware_path(NEW), FIRMWARE_IFACE)
        self.assertEqual(list(map(str, old)), ['PK:debian-pk-kek-2019', 'KEK:debian-pk-kek-2019',
                                               'KEK:microsoft-kek-2011', 'db:windows-pca-2011',
                                               'db:microsoft-uefi-ca-2011'])
        for id_ in (KEK_2023, 'windows-uefi-ca-2023', 'microsoft-uefi-ca-2023', 'microsoft-option-rom-ca-2023'):
            self.assertNotIn(id_, ' '.join(old))
        for entry in ('KEK:microsoft-kek-2023', 'db:windows-uefi-ca-2023', 'db:microsoft-uefi-ca-2023',
                      'db:microsoft-option-rom-ca-2023'):
            self.assertIn(entry, new)
        for name in (OLD, NEW):
            self.assertEqual(self.prop('NvramTemplateSecureBoot', firmware_path(name), FIRMWARE_IFACE), 'enforcing')
        described = json.loads(str(self.manager.Describe(NEW)))
        self.assertEqual(described['nvram-template-certificates'], list(map(str, new)))
        _, items = self.list(certificates=[KEK_2023])
        self.assertEqual([str(d['name']) for _, d in items], [NEW])
        _, items = self.list(certificates=['windows-pca-2011'])
        self.assertEqual([str(d['name']) for _, d in items], [OLD, NEW])

    def test_ctl_and_offline(self):
        args = ['resolve', '-a', 'x86_64', '-m', 'q35', f'--certificate={KEK_2023}', '--json']
        online = json.loads(self.ctl(*args).stdout)
        offline = json.loads(self.ctl('--offline', f'--search-path={self.dir}', *args).stdout)
        self.assertEqual(online['name'], NEW)
        self.assertEqual(offline, online)
        wide = self.ctl('list', '--wide', '--no-pager').stdout
        print(f'\nfwregistryctl list --wide:\n{wide}')
        rows = {line.split()[1]: line for line in wide.splitlines()[1:] if line.strip() and line[0].isdigit()}
        self.assertIn('enforcing    PK 1, KEK 2 (2011 only), db 2 (2011 only)', rows[OLD])
        self.assertIn('enforcing    PK 1, KEK 3, db 5', rows[NEW])
        self.assertEqual(self.ctl('--offline', f'--search-path={self.dir}', 'list', '--wide', '--no-pager').stdout,
                         wide)
        explain = self.ctl('explain', '-a', 'x86_64', f'--certificate={KEK_2023}', '--no-pager').stdout
        print(f'fwregistryctl explain --certificate={KEK_2023}:\n{explain}')
        self.assertRegex(explain, rf'{OLD} +rejected +certificate-missing:{KEK_2023}\n')
        p = self.ctl('resolve', '-a', 'x86_64', '--certificate=microsoft-kek-2024', check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("Unknown certificate 'microsoft-kek-2024'", p.stderr)


if __name__ == '__main__':
    unittest.main(verbosity=2)
