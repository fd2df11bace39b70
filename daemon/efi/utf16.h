/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* UTF-16LE text as UEFI stores it (variable names, load option descriptions, file paths) to UTF-8 that
 * D-Bus accepts. It converts; it does not judge whether a name is a good one. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Converts the n bytes at p (an odd last byte is ignored), up to the first NUL unit, to UTF-8. An unpaired
 * surrogate, a noncharacter or a control character becomes U+FFFD and is counted in *ret_replaced (may be
 * NULL); at most max_out bytes of UTF-8 are written, and the rest is cut and counted too. Returns 0 and a
 * new string in *ret, or -ENOMEM. */
int utf16le_to_utf8(const uint8_t *p, size_t n, size_t max_out, char **ret, size_t *ret_replaced);

/* Whether the n bytes at p end in a NUL unit and hold no other. */
bool utf16le_is_terminated(const uint8_t *p, size_t n);
