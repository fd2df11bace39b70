/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* fwregistryd's replies turned back into catalogue entries, so that the daemon's answers print exactly like
 * --offline ones. It only reads messages; making calls is remote.c's business. */

#include <systemd/sd-bus.h>

#include "catalogue/catalogue.h"

/* An entry decoded from a result dictionary; owns everything it points to. */
typedef struct RemoteEntry {
        Entry entry;
        char *name;
} RemoteEntry;

void remote_entry_done(RemoteEntry *e);
void remote_entries_free(RemoteEntry *entries, size_t n);

/* Reads one result dictionary a{sv} into ret; *generation gets the "generation" key when there is one. Keys
 * of newer daemons are skipped. Returns 0, -EBADMSG when name or path is missing, or another -errno. */
int remote_read_entry(sd_bus_message *m, uint64_t *generation, RemoteEntry *ret);

/* Reads one List reply (generation and items) onto the end of *entries, *n of them so far; *ret_items says
 * how many this reply had. Returns 0 or a negative errno (-EBADMSG, -ENXIO for a malformed reply); what was
 * read stays in *entries. */
int remote_read_list_page(sd_bus_message *reply, uint64_t *ret_generation, RemoteEntry **entries, size_t *n,
                          size_t *ret_items);

/* Calls read() for each key of the a{sv} at m, positioned inside the key's variant. Returns 0, or the first
 * negative errno of read() or of sd-bus. */
typedef int (*RemoteDictRead)(sd_bus_message *m, const char *key, void *userdata);
int remote_read_dict(sd_bus_message *m, RemoteDictRead read, void *userdata);

/* A value of a dictionary stored in a field of a struct. */
typedef struct RemoteField {
        const char *key;
        char type;              /* 's' (an empty string as NULL), 'a' (as); 't', 'u', 'b' as sd-bus reads them */
        size_t offset;          /* of the field in the struct */
} RemoteField;

/* Reads key's value into the field of base that table names for it. Returns 1 when it did, 0 when table has
 * no such key (nothing read), or a negative errno. */
int remote_read_field(sd_bus_message *m, const char *key, const RemoteField *table, size_t n, void *base);
