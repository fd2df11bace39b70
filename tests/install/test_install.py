#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""meson install into a DESTDIR: every file where the pkg-config variables of dbus-1 and systemd say, and the
units pass systemd-analyze verify and rate SAFE in systemd-analyze security."""

import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest
import xml.etree.ElementTree as ET

BUILD_DIR = os.environ['FWREGISTRY_BUILD_DIR']
NAME = 'io.github.fwregistryd.FirmwareRegistry1'


def pkg_var(package, variable, define=None):
    args = ['pkg-config', f'--variable={variable}', package]
    if define:
        args.insert(1, f'--define-variable={define[0]}={define[1]}')
    p = subprocess.run(args, capture_output=True, text=True)
    return p.stdout.strip() if p.returncode == 0 and p.stdout.strip() else None


class TestInstall(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        options = json.loads(subprocess.check_output(['meson', 'introspect', '--buildoptions', BUILD_DIR]))
        opt = {o['name']: o['value'] for o in options}
        cls.prefix = opt['prefix']
        cls.datadir = os.path.join(cls.prefix, opt['datadir'])
        cls.destdir = tempfile.mkdtemp(prefix='fwregistryd-destdir-')
        subprocess.run(['meson', 'install', '-C', BUILD_DIR, '--destdir', cls.destdir, '--no-rebuild', '--quiet'],
                       check=True)
        cls.files = sorted(os.path.relpath(os.path.join(d, f), cls.destdir)
                           for d, _, fs in os.walk(cls.destdir) for f in fs)
        print('\n'.join(['installed:'] + ['  /' + f for f in cls.files]))
        p, d = cls.prefix, cls.datadir
        cls.expected = {
            'daemon': os.path.join(p, opt['libexecdir'], 'fwregistryd'),
            'client': os.path.join(p, opt['bindir'], 'fwregistryctl'),
            'policy': os.path.join(d, 'dbus-1/system.d', f'{NAME}.conf'),
            'system activation': os.path.join(pkg_var('dbus-1', 'system_bus_services_dir', ('prefix', p))
                                              or os.path.join(d, 'dbus-1/system-services'), f'{NAME}.service'),
            'session activation': os.path.join(pkg_var('dbus-1', 'session_bus_services_dir', ('prefix', p))
                                               or os.path.join(d, 'dbus-1/services'), f'{NAME}.service'),
            'manager interface': os.path.join(pkg_var('dbus-1', 'interfaces_dir', ('prefix', p))
                                              or os.path.join(d, 'dbus-1/interfaces'), f'{NAME}.Manager.xml'),
            'firmware interface': os.path.join(pkg_var('dbus-1', 'interfaces_dir', ('prefix', p))
                                               or os.path.join(d, 'dbus-1/interfaces'), f'{NAME}.Firmware.xml'),
            'system unit': os.path.join(pkg_var('systemd', 'systemdsystemunitdir', ('rootprefix', p))
                                        or os.path.join(p, 'lib/systemd/system'), 'fwregistryd.service'),
            'user unit': os.path.join(pkg_var('systemd', 'systemduserunitdir', ('prefix', p))
                                      or os.path.join(p, 'lib/systemd/user'), 'fwregistryd.service'),
            'sysusers': os.path.join(pkg_var('systemd', 'sysusersdir', ('prefix', p))
                                     or os.path.join(p, 'lib/sysusers.d'), 'fwregistryd.conf'),
            'polkit action': os.path.join(pkg_var('polkit-gobject-1', 'policydir', ('prefix', p))
                                          or os.path.join(d, 'polkit-1/actions'), f'{NAME}.policy'),
            'man 8': os.path.join(d, 'man/man8/fwregistryd.8'),
            'man 1': os.path.join(d, 'man/man1/fwregistryctl.1'),
            'man 5': os.path.join(d, f'man/man5/{NAME}.5'),
            'python module': os.path.join(p, 'lib/python3/dist-packages/fwregistry/__init__.py'),
            'bash completion': os.path.join(pkg_var('bash-completion', 'completionsdir', ('datadir', d))
                                            or os.path.join(d, 'bash-completion/completions'), 'fwregistryctl'),
            'zsh completion': os.path.join(d, 'zsh', 'vendor-completions' if p == '/usr' else 'site-functions',
                                           '_fwregistryctl'),
        }

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.destdir)

    def path(self, what):
        return self.destdir + self.expected[what]

    def test_every_file_in_place(self):
        for what, path in self.expected.items():
            self.assertTrue(os.path.isfile(self.destdir + path), f'{what}: {path} missing')
        self.assertTrue(os.access(self.path('daemon'), os.X_OK))
        self.assertTrue(os.access(self.path('client'), os.X_OK))
        unexpected = {'/' + f for f in self.files} - set(self.expected.values())
        self.assertTrue(all('/doc/fwregistryd/examples/' in f for f in unexpected), unexpected)

    def test_xml_files_parse(self):
        for what in ('policy', 'polkit action', 'manager interface', 'firmware interface'):
            ET.parse(self.path(what))
        policy = ET.parse(self.path('policy')).getroot()
        owners = {p.get('user') for p in policy.iter('policy') if any(a.get('own') == NAME for a in p.iter('allow'))}
        self.assertEqual(owners, {'fwregistry', 'root'})
        action = ET.parse(self.path('polkit action')).getroot().find('action')
        self.assertEqual(action.get('id'), f'{NAME}.reload')
        self.assertEqual(action.find('defaults/allow_active').text, 'auth_admin_keep')

    def test_activation_files(self):
        with open(self.path('system activation')) as f:
            text = f.read()
        self.assertIn(f'Name={NAME}\n', text)
        self.assertIn('SystemdService=dbus-io.github.fwregistryd.FirmwareRegistry1.service', text)
        self.assertIn('User=root', text)
        with open(self.path('session activation')) as f:
            self.assertIn(f'Exec={self.expected["daemon"]} --user', f.read())
        with open(self.path('system unit')) as f:
            unit = f.read()
        self.assertIn(f'ExecStart={self.expected["daemon"]} --system', unit)
        self.assertIn('Alias=dbus-io.github.fwregistryd.FirmwareRegistry1.service', unit)
        with open(self.path('sysusers')) as f:
            self.assertRegex(f.read(), r'(?m)^u fwregistry ')

    def test_what_a_minimal_system_needs(self):
        """Offline guards for what the system suite found on a booted Debian: polkitd answers the daemon's user
        only as an owner of the action, and a minimal system has no /bin/kill (procps)."""
        with open(self.path('sysusers')) as f:
            user = re.search(r'(?m)^u (\S+) ', f.read()).group(1)
        action = ET.parse(self.path('polkit action')).getroot().find('action')
        owners = [a.text for a in action.findall('annotate') if a.get('key') == 'org.freedesktop.policykit.owner']
        self.assertEqual(owners, [f'unix-user:{user}'])
        for what in ('system unit', 'user unit'):
            with open(self.path(what)) as f:
                commands = re.findall(r'(?m)^Exec\w+=[-@:+!]*(\S+)', f.read())
            self.assertEqual(set(commands) - {self.expected['daemon'], 'busctl'}, set(), what)

    def verified_copy(self, what):
        """The unit with its binary pointing into the DESTDIR, so that verify can check it exists."""
        with open(self.path(what)) as f:
            text = f.read().replace(self.expected['daemon'], self.path('daemon'))
        d = tempfile.mkdtemp(dir=self.destdir)
        out = os.path.join(d, 'fwregistryd.service')
        with open(out, 'w') as f:
            f.write(text)
        return out

    def test_systemd_analyze(self):
        if not shutil.which('systemd-analyze'):
            self.skipTest('systemd-analyze is not installed')
        env = dict(os.environ, MANPATH=os.path.join(self.destdir + self.datadir, 'man') + ':')
        if 'XDG_RUNTIME_DIR' not in env:        # verify --user wants one; CI has no login session
            env['XDG_RUNTIME_DIR'] = tempfile.mkdtemp(dir=self.destdir)
        for what, extra in (('system unit', []), ('user unit', ['--user'])):
            p = subprocess.run(['systemd-analyze', 'verify', *extra, self.verified_copy(what)], capture_output=True,
                               text=True, env=env)
            problems = [l for l in p.stderr.splitlines() if 'sysinit.target' not in l and 'Failed to create' not in l]
            self.assertEqual(problems, [], f'{what}: {p.stderr}')
        p = subprocess.run(['systemd-analyze', 'security', '--offline=true', self.path('system unit')],
                           capture_output=True, text=True)
        m = re.search(r'Overall exposure level for fwregistryd.service: ([0-9.]+) (\w+)', p.stdout)
        self.assertIsNotNone(m, p.stdout + p.stderr)
        print(f'systemd-analyze security: {m.group(1)} {m.group(2)}')
        self.assertLessEqual(float(m.group(1)), 0.5)
        self.assertEqual(m.group(2), 'SAFE')


if __name__ == '__main__':
    unittest.main(verbosity=2)
