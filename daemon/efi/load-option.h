/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Load options, what Boot#### variables hold (EFI_LOAD_OPTION): Attributes, FilePathListLength, a
 * NUL-terminated UTF-16 Description, the device path list and optional data. It reads one option into what a
 * report shows; the order of boot is BootOrder's, read by the report. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "problems.h"

/* Bytes of UTF-8 kept of a description. */
#define EFI_LOAD_OPTION_DESCRIPTION_MAX 1024U

#define EFI_LOAD_OPTION_ACTIVE 0x00000001U

typedef struct EfiLoadOption {
        uint32_t attributes;
        char *description;              /* UTF-8 */
        char *device_path;              /* text form (device-path.h) */
        size_t optional_data_size;
} EfiLoadOption;

/* Reads the load option in the n bytes at p, naming problems after what ("Boot0001"). What could be read is
 * kept: a device path list longer than the data is read as far as the data goes, with a problem. Returns 0
 * and the option in *ret, or -ENOMEM. */
int efi_load_option_parse(const uint8_t *p, size_t n, const char *what, EfiProblems *problems,
                          EfiLoadOption *ret);

static inline bool efi_load_option_is_active(const EfiLoadOption *o) {
        return o->attributes & EFI_LOAD_OPTION_ACTIVE;
}

void efi_load_option_done(EfiLoadOption *o);
