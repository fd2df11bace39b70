/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdio.h>

#include "guid.h"

/* The bytes as they lie in a file, from the text form a-b-c-d-e. */
#define GUID(a, b, c, d0, d1, e0, e1, e2, e3, e4, e5) { {                                      \
        (a) & 0xff, (a) >> 8 & 0xff, (a) >> 16 & 0xff, (a) >> 24 & 0xff,                        \
        (b) & 0xff, (b) >> 8 & 0xff, (c) & 0xff, (c) >> 8 & 0xff,                               \
        d0, d1, e0, e1, e2, e3, e4, e5 } }

const EfiGuid efi_guid_global =
        GUID(0x8be4df61, 0x93ca, 0x11d2, 0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c);
const EfiGuid efi_guid_image_security =
        GUID(0xd719b2cb, 0x3d3a, 0x4596, 0xa3, 0xbc, 0xda, 0xd0, 0x0e, 0x67, 0x65, 0x6f);
const EfiGuid efi_guid_secure_boot_enable =
        GUID(0xf0a30bc7, 0xaf08, 0x4556, 0x99, 0xc4, 0x00, 0x10, 0x09, 0xc9, 0x3a, 0x44);
const EfiGuid efi_guid_cert_x509 =
        GUID(0xa5c059a1, 0x94e4, 0x4aa7, 0x87, 0xb5, 0xab, 0x15, 0x5c, 0x2b, 0xf0, 0x72);
const EfiGuid efi_guid_cert_sha256 =
        GUID(0xc1c41626, 0x504c, 0x4092, 0xac, 0xa9, 0x41, 0xf9, 0x36, 0x93, 0x43, 0x28);
const EfiGuid efi_guid_store_authenticated =
        GUID(0xaaf32c78, 0x947b, 0x439a, 0xa1, 0x80, 0x2e, 0x14, 0x4e, 0xc3, 0x77, 0x92);
const EfiGuid efi_guid_store_plain =
        GUID(0xddcf3616, 0x3275, 0x4164, 0x98, 0xb6, 0xfe, 0x85, 0x70, 0x7f, 0xfe, 0x7d);

/* Where each byte of the file form goes in the text form: the first three fields are little endian. */
static const uint8_t text_order[16] = { 3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15 };

char *efi_guid_to_string(const EfiGuid *g, char buf[static EFI_GUID_STRING_MAX]) {
        static const char hex[] = "0123456789abcdef";
        char *p = buf;

        for (size_t i = 0; i < 16; i++) {
                uint8_t b = g->bytes[text_order[i]];

                if (i == 4 || i == 6 || i == 8 || i == 10)
                        *p++ = '-';
                *p++ = hex[b >> 4];
                *p++ = hex[b & 15];
        }
        *p = 0;
        return buf;
}

static int unhex(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

int efi_guid_from_string(const char *s, EfiGuid *ret) {
        EfiGuid g;

        if (!s || strlen(s) != EFI_GUID_STRING_MAX - 1)
                return -EINVAL;
        for (size_t i = 0, k = 0; i < 16; i++) {
                int hi, lo;

                if (i == 4 || i == 6 || i == 8 || i == 10) {
                        if (s[k++] != '-')
                                return -EINVAL;
                }
                hi = unhex(s[k++]);
                lo = unhex(s[k++]);
                if (hi < 0 || lo < 0)
                        return -EINVAL;
                g.bytes[text_order[i]] = (uint8_t) (hi << 4 | lo);
        }
        *ret = g;
        return 0;
}
