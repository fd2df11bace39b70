/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Writing a varstore (DESIGN section 11): given variables laid out as a template's edk2 volume (its volume and
 * store headers and everything after the store kept byte for byte, the variables written compactly after the
 * store header, the rest of the store erased) or as QEMU's JSON store. Pure over bytes: it writes no file and
 * decides nothing about which variables belong in the store; that is convert.c's. */

#include <stdint.h>

#include "variables.h"

/* An edk2 variable header: its fixed part, before the name (authenticated and plain stores). */
#define EFI_AUTH_VARIABLE_HEADER_SIZE 60U
#define EFI_VARIABLE_HEADER_SIZE 32U

/* Bytes variable v takes in an edk2 store (its header, its UTF-16 name with the NUL, its data, and the padding
 * to the next 4-byte boundary), or 0 when its name cannot be written as UTF-16 of at most EFI_VARIABLE_NAME_MAX
 * bytes. */
uint64_t efi_store_variable_size(const EfiVariable *v, bool authenticated) _pure_;

typedef struct EfiStoreSpace {
        uint64_t needed;                /* bytes the variables take, the store header included */
        uint64_t available;             /* the store's size */
} EfiStoreSpace;

/* Writes the n variables at v, in that order and all with the state "added", into a copy of the template
 * (template_size bytes, an edk2 volume of either kind). Returns 0 and the new file in *ret (template_size
 * bytes), -ENOSPC when they do not fit (then *ret_space, if not NULL, says by how much), -EINVAL when the
 * template is not an edk2 volume with a sound store or a name is not text, or -ENOMEM. *ret_space is filled
 * in either case when the template was read. */
int efi_store_write_edk2(const uint8_t *template, size_t template_size, const EfiVariable *v, size_t n,
                         uint8_t **ret, EfiStoreSpace *ret_space);

/* Writes the n variables at v as QEMU's uefi-vars JSON store ({"version": 2, "variables": [...]}), names in
 * UTF-8, data and time in hex, digest when the variable has one. Returns 0 and the text (NUL-terminated) in
 * *ret and its length in *ret_size, -EINVAL when a name is not text, or -ENOMEM. */
int efi_store_write_json(const EfiVariable *v, size_t n, char **ret, size_t *ret_size);
