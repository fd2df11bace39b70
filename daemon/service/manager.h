/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The daemon's state: configuration, the current catalogue and its generation, the event loop and the bus.
 * It owns everything and decides when to rebuild; the bus speaks D-Bus through the BusOps the manager hands
 * it (manager-bus.c), the core library does the work. */

#include <systemd/sd-event.h>
#include <systemd/sd-id128.h>

#include "bus/bus.h"
#include "catalogue/catalogue.h"
#include "machines.h"
#include "manager-cache.h"
#include "watch.h"

/* How many changed names one rebuild takes on; the rest follow in further rebuilds, with bus calls
 * answered in between. */
#define MANAGER_REBUILD_CHUNK 1024

/* How often directories that cannot be watched are rescanned. */
#define MANAGER_POLL_USEC_DEFAULT (5 * 1000 * 1000ULL)
/* Retrying a failed watch backs off from every poll to every this many polls. */
#define MANAGER_WATCH_RETRY_POLLS_MAX 12U

/* How long changes are collected before the catalogue is rebuilt, counted from the first one. */
#define MANAGER_DEBOUNCE_USEC_DEFAULT (50 * 1000ULL)

typedef struct Manager {
        sd_event *event;
        Bus *bus;                       /* NULL until manager_connect() */

        bool user;                      /* user instance: session bus and the XDG directory */
        char *root;
        char **search_path;             /* most general first, without the root */

        Catalogue *catalogue;           /* never NULL once loaded */
        uint64_t generation;            /* +1 for each catalogue change that was announced */
        char instance_id[SD_ID128_STRING_MAX];  /* new each start: generations count from 0 again */

        Watch *watch;
        char **search_dirs;             /* the search path with the root prefix, most general first */
        char **watched;                 /* what the watcher was last told to watch, sorted */
        char **image_dirs;              /* directories of referenced images and templates, sorted */
        char **link_targets;            /* where symlinked descriptors point (absolute, maybe not there yet) */
        char **link_entries;            /* link_entries[i]: the descriptor whose link points to link_targets[i] */
        NameSet link_dirs;              /* the directories of link_targets, to pass over other events in O(1) */
        uint64_t debounce_usec;
        sd_event_source *debounce;      /* armed while changes are being collected */
        NameSet pending_names;          /* descriptor names to look at again */
        bool pending_files;             /* referenced files to check again */
        bool pending_full;              /* something only a full rescan gets right */
        bool pending_more;              /* pending_names holds the rest of a storm, to go on with at once */
        bool pending_all_names;         /* the next step is a full rescan's first: pending_names has every name */
        char *rescan_why;               /* a full rescan in steps is under way, for this reason */
        size_t rescan_steps;
        uint64_t rescan_serial;         /* counts full rescans in steps: the running or the last one */
        bool rescan_again;              /* asked for while one ran: another rescan follows it */
        char *rescan_again_why;         /* the first reason given for it */
        size_t max_entries;             /* --max-descriptors; 0: CATALOGUE_ENTRIES_MAX */
        size_t n_entries_peak;          /* the largest catalogue since memory was last handed back */
        char **unwatched;               /* directories polled because watching them failed, sorted */
        bool no_inotify;                /* no inotify instance: everything is polled */
        uint64_t poll_usec;
        sd_event_source *poll;          /* armed while anything is polled */
        unsigned retry_polls;           /* polls between two retries of the watches (backoff) */
        unsigned polls_to_retry;
        uint64_t n_rebuilds;            /* for tests and the STATUS line */
        unsigned test_failing_rebuilds; /* $FWREGISTRYD_TEST_FAILING_REBUILDS: the next N fail with ENOMEM */

        char **qemu_dirs;               /* where QEMU binaries are asked for machine aliases; empty: none */
        uint64_t qemu_timeout_usec;
        Machines *machines;

        char *cache_dir;                /* where the cache file lives; NULL: no cache (--no-cache, --root) */
        ManagerCache *cache;
} Manager;

/* Takes the configuration; the search path is copied. Returns 0 or -ENOMEM. */
int manager_new(bool user, const char *root, char * const *search_path, Manager **ret);
Manager *manager_free(Manager *m);
static inline void manager_freep(Manager **m) {
        manager_free(*m);
}

/* The first scan, before the bus name is taken, and the watches. Returns 0 or a negative errno. */
int manager_load(Manager *m);


/* A full rescan in steps (SIGHUP, Reload(), IN_Q_OVERFLOW, directories that came or went, polls): the
 * directories are listed now, and every name there or in the catalogue is looked at again
 * MANAGER_REBUILD_CHUNK at a time, each step swapped in and announced, with bus calls answered in between.
 * When one is under way it is not started over (however many requests come meanwhile: one more rescan after
 * it answers them all). ret_serial (may be NULL) is the serial of the rescan whose end answers the caller
 * (bus_rescan_done()). Returns 0, or -ENOMEM (logged). */
int manager_rescan_request(Manager *m, const char *why, uint64_t *ret_serial);

/* What one watch event means: a name to look at again (pending_names), referenced files to check again
 * (pending_files) or a full rescan (pending_full). O(1) on average, whatever is pending already. Returns 0
 * or -ENOMEM. */
int manager_classify_event(Manager *m, const WatchEvent *e);

/* Tries the failed watches again now (Reload, SIGHUP), starting the backoff over. */
void manager_retry_watches(Manager *m);

/* Connects to the bus, serving the catalogue, and takes the name (after manager_load()). Returns 0 or a
 * negative errno, logged. */
int manager_connect(Manager *m);

/* "Serving N firmware descriptors", for sd_notify STATUS=. Returns NULL on ENOMEM. */
char *manager_status_text(const Manager *m);

static inline const char *manager_scope(const Manager *m) {
        return m->user ? "user" : "system";
}
