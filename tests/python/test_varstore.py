#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The Python module's varstore calls against the real daemon: inspect_varstore() and convert_varstore(), with
their typed answers and errors."""

import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'integration'))
sys.path.insert(0, os.path.join(HERE, '..', '..', 'python'))
import fwregistry  # noqa: E402
import test_varstore_bus  # noqa: E402  (the module: its own tests are not collected here)


class TestVarstoreCalls(test_varstore_bus.TestVarstoreMethods):
    test_inspect = test_convert = test_refusals = None     # they run in the integration suite

    def setUp(self):
        super().setUp()
        self.client = fwregistry.Client(address=self.bus_address)

    def tearDown(self):
        self.client.close()
        super().tearDown()

    def test_inspect_varstore(self):
        store = self.client.inspect_varstore(test_varstore_bus.BOOTED_4M_MS)
        self.assertIsInstance(store, fwregistry.Varstore)
        self.assertEqual((store.format, store.varstore_size, store.secure_boot),
                         ('edk2-authenticated', 0x84000, 'enforcing'))
        self.assertEqual(store.fits, ('40-x86-4m-enrolled.json', '60-x86-4m.json'))
        self.assertTrue(store.has_certificate('microsoft-kek-2011'))
        self.assertFalse(store.has_certificate('microsoft-kek-2023'))
        self.assertIn('kek-2011-only', store.warnings)
        self.assertTrue(all(isinstance(c, fwregistry.Certificate) for c in store.certificates))
        self.assertEqual(store.boot_entries[1].description, 'EFI Internal Shell')
        with open(test_varstore_bus.BOOTED_2M, 'rb') as f:         # an open file does as well
            self.assertEqual(self.client.inspect_varstore(f).fits, ('70-x86-2m.json',))
        with self.assertRaises(fwregistry.InvalidRequest):
            self.client.inspect_varstore(os.open(self.root, os.O_RDONLY | os.O_DIRECTORY))

    def test_convert_varstore(self):
        target = os.path.join(self.root, 'new.fd')
        with open(test_varstore_bus.BOOTED_2M, 'rb') as source, open(target, 'w+b') as out:
            done = self.client.convert_varstore(source, out, architecture='x86_64', features={'secure-boot': False})
        self.assertIsInstance(done, fwregistry.Conversion)
        self.assertEqual((done.firmware, done.warnings), ('60-x86-4m.json', ()))
        self.assertEqual(self.client.inspect_varstore(target).varstore_size, 0x84000)
        with open(test_varstore_bus.BOOTED_2M, 'rb') as source, open(target, 'r+b') as out:
            with self.assertRaises(fwregistry.InvalidRequest):      # not empty
                self.client.convert_varstore(source, out, architecture='x86_64')
        with self.assertRaises(TypeError):
            self.client.convert_varstore(0, 1, architecture='x86_64', nvram=0)


if __name__ == '__main__':
    unittest.main(verbosity=2)
