/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* One X.509 certificate from a signature list, read with OpenSSL into what a report shows: subject and issuer
 * (RFC 2253), serial, validity, the SHA-256 of its DER and its id. It describes; it verifies no signature and
 * trusts no chain. */

#include <stdint.h>

#include "guid.h"
#include "known-certificates.h"

/* A certificate larger than this is not handed to OpenSSL (real ones are under 2 KiB). */
#define EFI_CERTIFICATE_SIZE_MAX (64U * 1024U)

typedef struct EfiCertificate {
        char *subject;                  /* RFC 2253, escaped to ASCII */
        char *issuer;
        char *serial;                   /* upper-case hex, as openssl prints it */
        uint64_t not_before;            /* seconds since the epoch; 0 for a time before it */
        uint64_t not_after;
        uint8_t sha256[32];             /* of the DER, without anything that followed it in the entry */
        char id[CERTIFICATE_ID_MAX];    /* the known id, or sha256:<hex> */
        const KnownCertificate *known;  /* or NULL */
        EfiGuid owner;                  /* the signature entry's owner */
} EfiCertificate;

/* Reads the DER certificate in the n bytes at der. Returns 0 and the certificate in *ret; -EBADMSG with the
 * reason in *ret_error (when not NULL) for something OpenSSL does not read as X.509 or that is larger than
 * EFI_CERTIFICATE_SIZE_MAX; or -ENOMEM. */
int efi_certificate_parse(const uint8_t *der, size_t n, EfiCertificate *ret, char **ret_error);

void efi_certificate_done(EfiCertificate *c);
