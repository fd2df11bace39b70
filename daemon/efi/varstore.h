/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Varstore layouts (DESIGN section 9): what the head of an nvram template or of a VM's varstore says about
 * the file, and whether a varstore fits a template. It reads at most VARSTORE_HEAD_MAX bytes through a file
 * descriptor it is given, never opens a path, and trusts nothing in the head past what the file size allows. */

#include <stdint.h>

#include "util/util.h"

/* How much of a file is read to tell its layout. */
#define VARSTORE_HEAD_MAX (64U * 1024U)

/* A qcow2 header claiming more than this is not believed: no varstore comes near it. */
#define VARSTORE_QCOW2_SIZE_MAX (UINT64_C(1) << 40)

typedef enum VarstoreFormat {
        VARSTORE_UNKNOWN,               /* "": none of the below */
        VARSTORE_EDK2_AUTHENTICATED,    /* an edk2 firmware volume with an authenticated variable store */
        VARSTORE_EDK2,                  /* the same with plain variables */
        VARSTORE_BLANK,                 /* the head is all zero bytes: edk2 formats it at first boot */
        VARSTORE_JSON,                  /* QEMU's uefi-vars JSON varstore */
        VARSTORE_QCOW2,                 /* a qcow2 image; the volume inside is not read */
        _VARSTORE_FORMAT_MAX,
        _VARSTORE_FORMAT_INVALID = -EINVAL,
} VarstoreFormat;

/* "edk2-authenticated", "edk2", "blank", "json", "qcow2", and "" for unknown. */
const char *varstore_format_to_string(VarstoreFormat f) _pure_;
VarstoreFormat varstore_format_from_string(const char *s) _pure_;

typedef struct Varstore {
        VarstoreFormat format;
        uint64_t file_size;             /* what stat said */
        uint64_t size;                  /* what the fit rule compares: the file size, or qcow2's virtual size */
        uint64_t volume_size;           /* edk2 only: the firmware volume length; 0 otherwise (varstore-size) */
} Varstore;

static inline bool varstore_is_edk2(const Varstore *v) {
        return v->format == VARSTORE_EDK2_AUTHENTICATED || v->format == VARSTORE_EDK2;
}

/* Tells the layout from head (n bytes, the first min(file_size, VARSTORE_HEAD_MAX) bytes of a file of
 * file_size bytes; a shorter head is read as a file truncated there). Pure and total: every input gives a
 * layout, unknown at worst. Returns the layout. */
Varstore varstore_parse(const uint8_t *head, size_t n, uint64_t file_size);

/* Reads the head of an open regular file with pread() (the file offset is left alone) and parses it.
 * Returns 0, -EBADFD when fd is not a regular file, or the negative errno of fstat()/pread(). */
int varstore_read_fd(int fd, Varstore *ret);

/* Reads up to n bytes at offset with pread(), again after a short read or EINTR, until the file ends. Returns
 * the number of bytes read, or the negative errno of pread(). */
ssize_t varstore_pread(int fd, void *buf, size_t n, uint64_t offset);

/* The fit rule: the same size (virtual size for qcow2) and, where both are edk2 volumes, the same format
 * and volume length. Returns whether store fits template. */
bool varstore_fits(const Varstore *store, const Varstore *template) _pure_;

/* "edk2-authenticated volume 0x20000, 131072 bytes", "blank, 67108864 bytes", "qcow2, virtual size 540672
 * bytes", "unknown layout, 12 bytes": for messages and tables. Returns NULL on ENOMEM. */
char *varstore_to_string(const Varstore *v);
