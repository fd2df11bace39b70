/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* How fwregistryctl speaks: one-line error messages, JSON pretty or short, the pieces its tables and field
 * lists are made of. It formats; what to print is each command's business. */

#include <stdio.h>

#include "catalogue/catalogue.h"
#include "options.h"
#include "resolver/render.h"

/* Prints "fwregistryctl: <message>" on stderr. Returns -EINVAL, for "return output_fail(...)". */
int output_fail(const char *fmt, ...) _printf_(1, 2);

/* A generator for o's --json mode. Returns NULL on ENOMEM. */
yajl_gen output_json_gen(const Options *o);
/* Prints the document g holds, as output_json() does, when r (what filling it returned) is 0. Returns 0, or
 * -ENOMEM when r is not 0. */
int output_json_end(const Options *o, yajl_gen g, int r);
/* Prints s (compacted for --json=short) on stdout, ending in a newline, and frees it; NULL prints nothing. */
void output_json(const Options *o, char *s);

/* "6 firmware descriptors listed.", after a blank line, as systemd's tools end their tables; nothing with
 * --no-legend. */
void output_legend(const Options *o, size_t n, const char *singular, const char *plural, const char *what);
/* "<key>: <value>" with the keys right-aligned; nothing for an empty value. */
void output_field(const char *key, const char *value);
/* Like output_field() with one line per element; nothing for an empty list. */
void output_lines(const char *key, char * const *l);

/* Each returns a new string, or NULL on ENOMEM. */
/* l's elements with sep between them; "" for an empty list. */
char *output_join(char * const *l, const char *sep);
/* "x86_64:pc-q35-*,pc-i440fx-* aarch64:virt-*". */
char *output_targets(const Descriptor *d);
/* "flash/split", "memory", "-" for none. */
char *output_device(const Descriptor *d);
/* The template's layout in a table cell: "edk2-authenticated/0x84000", "blank", "-" for none. */
char *output_varstore(const Entry *e);
/* The template's certificates in a table cell: "PK 1, KEK 1 (2011 only), db 2 (2011 only)" (a database with a
 * known certificate but none of its successors is marked, as a store's kek-2011-only warning), "-" for none. */
char *output_certificates(const Entry *e);
/* The template's Secure Boot state in a table cell: "enforcing", "disabled", "setup-mode", "-" for none. */
const char *output_secure_boot(const Entry *e);
