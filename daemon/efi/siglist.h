/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* EFI_SIGNATURE_LISTs, what PK, KEK, db and dbx hold: a sequence of lists, each a type GUID, ListSize,
 * HeaderSize and SignatureSize, then entries of an owner GUID and data. It splits them into entries, checking
 * every size against what is left; what an entry's data is (a certificate, a digest) is the caller's. */

#include <stddef.h>
#include <stdint.h>

#include "guid.h"
#include "problems.h"

/* Entries read from one variable; past this the rest are counted as a problem. A dbx of 2026 holds 443. */
#define EFI_SIGNATURES_MAX 16384U

typedef struct EfiSignature {
        EfiGuid type;                   /* the list's type: efi_guid_cert_x509, efi_guid_cert_sha256, ... */
        EfiGuid owner;
        const uint8_t *data;            /* borrowed from the buffer that was parsed */
        size_t size;
        size_t offset;                  /* of the entry in that buffer */
} EfiSignature;

/* Reads the signature lists in the n bytes at data (a variable's data), naming problems after what ("db").
 * A list whose sizes lie ends the reading with a problem; the entries before it are kept. Returns 0 and the
 * entries in *ret (NULL when there are none; they borrow from data) and their number in *ret_n, or
 * -ENOMEM. */
int efi_signature_lists_parse(const uint8_t *data, size_t n, const char *what, EfiProblems *problems,
                              EfiSignature **ret, size_t *ret_n);
