/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The live variables of a varstore (DESIGN section 10): an edk2 variable store, authenticated or plain, read
 * from the firmware volume at the head of a file, or QEMU's JSON varstore (json-store.c). Pure functions over
 * bytes: nothing is read past the buffer, the store is not believed past the volume, nor the volume past the
 * file; a size that lies ends the list with a problem. It reads; what the variables mean is varstore-report.c's. */

#include <stdint.h>

#include "guid.h"
#include "problems.h"
#include "varstore.h"

/* Bounds on what one store may cost, whatever its owner wrote into it:
 * - variable headers kept while walking a store (live and being-deleted ones; deleted ones cost nothing);
 *   an edk2 store of 0x84000 bytes holds at most 4,096 headers of 64 bytes or more in its 256 KiB;
 * - bytes of one variable name in UTF-16 (edk2 allows a name and its data 0x10000 bytes together);
 * - an edk2 volume read whole (the largest real ones are 0xc0000 bytes, AAVMF's);
 * - a JSON store read whole, and the data of one of its variables. */
#define EFI_VARIABLES_MAX 4096U
#define EFI_VARIABLE_NAME_MAX 1024U
#define EFI_VOLUME_MAX (16U * 1024U * 1024U)
#define EFI_JSON_STORE_MAX (16U * 1024U * 1024U)
#define EFI_JSON_DATA_MAX (1024U * 1024U)

/* The states of an edk2 variable header that count: added, and being deleted (live until its successor is
 * written). Every other state is a deleted or half-written copy. */
#define EFI_VARIABLE_ADDED 0x3fU
#define EFI_VARIABLE_IN_DELETED_TRANSITION 0x3eU

typedef struct EfiVariable {
        char *name;                     /* UTF-8; U+FFFD where the UTF-16 name was broken (and a problem) */
        EfiGuid guid;
        uint32_t attributes;
        uint8_t *data;                  /* owned; NULL when size is 0 */
        size_t size;
        uint64_t monotonic_count;       /* authenticated edk2 stores */
        uint32_t pubkey_index;          /* authenticated edk2 stores */
        uint8_t timestamp[16];          /* EFI_TIME: authenticated edk2 stores, and JSON's "time" */
        uint8_t digest[32];             /* JSON's "digest" (the certificate that may update it) */
        size_t digest_size;             /* 0 when none */
        uint64_t offset;                /* of its header in the file (edk2), or its index (JSON) */
        uint8_t state;                  /* edk2: EFI_VARIABLE_ADDED or _IN_DELETED_TRANSITION */
} EfiVariable;

typedef struct EfiVariableList {
        VarstoreFormat format;          /* edk2-authenticated, edk2 or json */
        EfiVariable *variables;         /* live ones, in the order of the file */
        size_t n;
        /* edk2: where the variable store lies in the file, and where its last variable ends */
        uint64_t store_offset, store_size, store_used;
        char **problems;                /* strv: offsets and variables that could not be read */
} EfiVariableList;

EfiVariableList *efi_variable_list_free(EfiVariableList *l);
static inline void efi_variable_list_freep(EfiVariableList **l) {
        efi_variable_list_free(*l);
}

/* Reads the edk2 variable store in the firmware volume at the start of data (n bytes of a file of file_size
 * bytes; n may be less, and is then what is known of the file). A volume or store header that is not one
 * gives an empty list with a problem. Returns 0 and the list, or -ENOMEM. */
int efi_variables_parse_edk2(const uint8_t *data, size_t n, uint64_t file_size, EfiVariableList **ret);

/* Reads QEMU's uefi-vars JSON store ({"version": 2, "variables": [...]}) through the bounded JSON reader.
 * Text that is not such a store gives an empty list with a problem; a variable that is not one is left out
 * with a problem naming its index. Returns 0 and the list, or -ENOMEM. */
int efi_variables_parse_json(const char *text, size_t n, EfiVariableList **ret);

/* The live variable called name in namespace guid, or NULL. */
const EfiVariable *efi_variable_list_find(const EfiVariableList *l, const char *name, const EfiGuid *guid);

void efi_variable_done(EfiVariable *v);

/* For the readers: of the n variables at v, in the order of the file, keeps the copy of each name and GUID that
 * counts (the last added one, else the last one being deleted), with a problem for each name added twice,
 * and frees the others. Returns 0 or -ENOMEM. */
int efi_variables_resolve_live(EfiVariable *v, size_t *n, EfiProblems *problems);
