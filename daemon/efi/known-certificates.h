/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The certificates the registry knows by name (DESIGN section 10): Microsoft's 2011 Secure Boot CAs and their
 * 2023 successors, and the distributions' own PK/KEK keys, each taken from the real certificate in Debian's
 * templates (a unit test finds each one there). A certificate not in the table is called sha256:<hex>. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct KnownCertificate {
        const char *id;                 /* "microsoft-kek-2023" */
        const char *sha256;             /* of the DER, lower-case hex */
        const char *subject;            /* RFC 2253 */
        uint64_t not_after;             /* seconds since the epoch */
        const char *succeeds;           /* the id of the certificate it replaces, or NULL */
} KnownCertificate;

extern const KnownCertificate known_certificates[];
extern const size_t n_known_certificates;

#define CERTIFICATE_ID_MAX 72U          /* "sha256:" and 64 hex digits, and the NUL */

/* Returns the entry whose DER has this SHA-256, or NULL. */
const KnownCertificate *known_certificate_by_sha256(const uint8_t sha256[static 32]);
/* Returns the entry with this id, or NULL. */
const KnownCertificate *known_certificate_by_id(const char *id);

/* Whether s names a certificate as requests do: a known id, or sha256: and 64 lower-case hex digits. */
bool certificate_id_is_valid(const char *s);

/* Writes the id of the certificate with this SHA-256 into buf: its known id, or sha256:<hex>. Returns buf. */
char *certificate_id(const uint8_t sha256[static 32], char buf[static CERTIFICATE_ID_MAX]);
