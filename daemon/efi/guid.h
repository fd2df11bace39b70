/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* EFI GUIDs as they lie in a file (the first three fields little endian), their text form (lower-case
 * 8-4-4-4-12, as DESIGN section 10 writes them everywhere), and the GUIDs the varstore reader knows. */

#include <stdbool.h>
#include <stdint.h>

#include "util/util.h"

typedef struct EfiGuid {
        uint8_t bytes[16];
} EfiGuid;

#define EFI_GUID_STRING_MAX 37U         /* 36 characters and the NUL */

static inline bool efi_guid_equal(const EfiGuid *a, const EfiGuid *b) {
        return memcmp(a->bytes, b->bytes, sizeof(a->bytes)) == 0;
}

/* Writes g in text form into buf. Returns buf. */
char *efi_guid_to_string(const EfiGuid *g, char buf[static EFI_GUID_STRING_MAX]);

/* Reads the text form (either case). Returns 0, or -EINVAL when s is anything else. */
int efi_guid_from_string(const char *s, EfiGuid *ret);

/* The namespace of PK, KEK, BootOrder, Boot####... (EFI_GLOBAL_VARIABLE) */
extern const EfiGuid efi_guid_global;
/* The namespace of db and dbx (EFI_IMAGE_SECURITY_DATABASE_GUID) */
extern const EfiGuid efi_guid_image_security;
/* edk2's SecureBootEnable */
extern const EfiGuid efi_guid_secure_boot_enable;
/* Signature list types: X.509 certificates (DER) and SHA-256 digests */
extern const EfiGuid efi_guid_cert_x509;
extern const EfiGuid efi_guid_cert_sha256;
/* Variable store formats after an edk2 volume header: authenticated and plain */
extern const EfiGuid efi_guid_store_authenticated;
extern const EfiGuid efi_guid_store_plain;
