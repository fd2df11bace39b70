/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* fwregistryctl's commands that answer from the catalogue: each takes it either loaded in this process (c,
 * with bus NULL) or through fwregistryd (bus, with c NULL), and prints both answers alike. */

#include <systemd/sd-bus.h>

#include "options.h"
#include "remote.h"

/* Each verb returns 0, 2 when a request matched nothing (the reasons printed), or a negative errno with a
 * message printed (-ENOMEM excepted). */
int verb_status(const Options *o, const Catalogue *c, sd_bus *bus);
int verb_list(const Options *o, const Catalogue *c, sd_bus *bus);
int verb_resolve(const Options *o, const Catalogue *c, sd_bus *bus);
int verb_explain(const Options *o, const Catalogue *c, sd_bus *bus);
int verb_describe(const Options *o, const Catalogue *c, sd_bus *bus, const char *name);
/* nvram create PATH; the other nvram commands are in verbs-varstore.c: inspect PATH, audit [PATH|DIR...]
 * (exit status 0, 1 when some store has warnings, 2 when one could not be read), migrate OLD [NEW] and
 * update-keys PATH. */
int verb_nvram_create(const Options *o, const Catalogue *c, sd_bus *bus, const char *path);
int verb_nvram_inspect(Options *o, const Catalogue *c, sd_bus *bus, const char *path);
int verb_nvram_audit(Options *o, const Catalogue *c, sd_bus *bus, char **paths);
int verb_nvram_migrate(Options *o, const Catalogue *c, sd_bus *bus, const char *source, const char *target);
int verb_nvram_update_keys(Options *o, const Catalogue *c, sd_bus *bus, const char *path);

/* Opens the varstore --nvram names for the request's nvram key, unless --output only names one still to be
 * made. Returns 0, or -errno with a message printed. */
int verb_nvram_setup(Options *o);

/* The entries list shows for o's request (a filter; masked and invalid entries when asked for), in rank
 * order, borrowed from c or from the daemon's reply that the list holds. */
typedef struct EntryList {
        const Entry **entries;
        size_t n;
        RemoteEntry *remote;            /* the daemon's entries, which entries point into */
        uint64_t generation;            /* the daemon's; 0 offline */
} EntryList;

/* Fills ret from c, or from the daemon when c is NULL. Returns 0 or a negative errno (messages printed). */
int entry_list_fetch(const Options *o, const Catalogue *c, sd_bus *bus, EntryList *ret);
void entry_list_done(EntryList *l);
/* Resolves o's request locally or through the daemon. Returns 1 with *ret set (remote holds it when it came
 * from the daemon), 2 when nothing matches (the reasons printed), or a negative errno. */
int verb_resolve_entry(const Options *o, const Catalogue *c, sd_bus *bus, RemoteEntry *remote,
                       uint64_t *generation, const Entry **ret);
