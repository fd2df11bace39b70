/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What nvram inspect and nvram audit show of one varstore (DESIGN section 10), in one shape whether the daemon
 * read it (InspectVarstore's report, decoded by remote-varstore.c) or this process did (--offline, from the
 * core library's report): so both print alike. It holds and prints; it reads no file. */

#include <stdint.h>

#include "efi/varstore-report.h"
#include "options.h"
#include "resolver/render.h"

typedef struct InspectCertificate {
        char *database, *id, *subject, *issuer, *serial, *sha256, *owner;
        uint64_t not_before, not_after;
} InspectCertificate;

typedef struct InspectHashes {
        char *database;
        uint32_t count;
} InspectHashes;

typedef struct InspectBootEntry {
        uint16_t number;
        char *description, *device_path;
        bool active;
} InspectBootEntry;

typedef struct InspectVariable {
        char *name, *guid;
        uint32_t attributes;
        uint64_t size;
} InspectVariable;

typedef struct Inspection {
        char *path;                     /* as the user named it */
        char *format;                   /* section 9's layout name, "" for unknown */
        uint64_t size, varstore_size;
        char *secure_boot;              /* "" when there were no variables to read */
        InspectCertificate *certificates;
        size_t n_certificates;
        InspectHashes *hashes;
        size_t n_hashes;
        uint16_t *boot_order;
        size_t n_boot_order;
        InspectBootEntry *boot_entries;
        size_t n_boot_entries;
        InspectVariable *variables;
        size_t n_variables;
        char **fits;                    /* firmware names, rank order */
        char **warnings, **problems;
} Inspection;

void inspection_done(Inspection *i);

/* Fills ret from a report read in this process and the names of the firmware it fits. Returns 0 or -ENOMEM. */
int inspection_from_report(const VarstoreReport *r, char * const *fits, Inspection *ret);

/* nvram inspect: the whole report, as text or as o's JSON. Returns 0 or -ENOMEM. */
int inspection_print(const Options *o, const Inspection *i);

/* nvram audit: one row a store. */
typedef struct Table Table;
Table *inspection_audit_table(void);
int inspection_audit_row(Table *t, const Inspection *i);
/* The JSON of one store, for audit's array: path and the report's keys. Returns 0 or yajl's error. */
int inspection_gen(yajl_gen g, const Inspection *i);
