/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the bus files share: the Bus object and what its owner lent it, and how each part registers itself.
 * Only bus*.c include this. */

#include "bus-entry.h"
#include "resolver/resolver.h"
#include "resolver/varstore-fit.h"
#include "util/offload.h"

typedef struct PolkitQuery PolkitQuery;

/* A Reload() call, answered when the rescan it started (or the one after a rescan already running) ends. */
typedef struct ReloadWaiter {
        sd_bus_message *request;
        uint64_t serial;
} ReloadWaiter;

/* Reload() calls that wait for their rescan, at most: each is an authorized caller, and one rescan answers
 * them all. */
#define BUS_RELOADS_WAITING_MAX 64U

struct Bus {
        sd_bus *bus;
        sd_event *event;
        bool user;                      /* on the session bus, serving a user's catalogue */
        const BusOps *ops;
        void *userdata;                 /* the owner's, for ops */
        sd_event_source *exit_source;   /* answers pending Reload calls before sd-bus closes at exit */

        PathMemo paths;                 /* object paths Resolve answered with */
        PolkitQuery *polkit_queries;    /* Reload calls waiting for polkit */
        unsigned n_polkit_queries;
        ReloadWaiter reloads[BUS_RELOADS_WAITING_MAX];  /* waiting for their rescan to end */
        size_t n_reloads;
        uint64_t rescans_ended;         /* the serial of the last rescan that ended, and how */
        int rescan_error;
        TemplateReportCache templates;  /* the template InspectVarstore compared with last */
        Offload *io;                    /* callers' files read off the loop (bus-io.c); NULL at exit */
};

static inline const Catalogue *bus_catalogue(const Bus *b) {
        return b->ops->catalogue(b->userdata);
}

static inline uint64_t bus_generation(const Bus *b) {
        return b->ops->generation(b->userdata);
}

static inline const char *bus_scope(const Bus *b) {
        return b->user ? "user" : "system";
}

/* The NoMatch error for req, with the resolver's summary (cut at BUS_ERROR_TEXT_MAX). Returns a negative errno,
 * with error set (bus-manager.c). */
int bus_reply_no_match(Bus *b, const Request *req, sd_bus_error *error);

/* A Resolve-style request: strictly decoded, with an architecture, judged with the machine aliases in use.
 * Returns 0, or a negative errno with error set (bus-manager.c). */
int bus_read_resolve_request(Bus *b, sd_bus_message *msg, Request *req, int *nvram_fd, sd_bus_error *error);

/* Answers every Reload() still waiting for its rescan with an error, at exit (bus-manager.c). */
void bus_reload_cancel_all(Bus *b);

/* Registers the Manager interface on BUS_MANAGER_PATH (bus-manager.c). Returns 0 or a negative errno,
 * logged. */
int bus_manager_add(Bus *b);

/* Registers the Firmware objects, their enumerator and the ObjectManager (bus-firmware.c). Returns 0 or a
 * negative errno, logged. */
int bus_firmware_add(Bus *b);
