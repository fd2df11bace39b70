/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* fwregistryctl's side of the D-Bus API: requests turned into a{sv}, each Manager method called, errors
 * printed in the client's words; replies become catalogue entries in remote-reply.c. */

#include <systemd/sd-bus.h>

#include "remote-reply.h"
#include "resolver/resolver.h"

#define BUS_NAME "io.github.fwregistryd.FirmwareRegistry1"
#define MANAGER_PATH "/io/github/fwregistryd/FirmwareRegistry1"
#define MANAGER_INTERFACE BUS_NAME ".Manager"
#define FIRMWARE_PREFIX MANAGER_PATH "/firmware"

typedef struct RemoteVerdict {
        char *name;
        char *verdict;
        char **reasons;
} RemoteVerdict;

void remote_verdicts_free(RemoteVerdict *v, size_t n);

/* The Manager's properties; owns its strings. online is false for a status made without the daemon. */
typedef struct Status {
        bool online;
        char *version, *scope, *instance_id;
        char **search_path, **architectures, **features, **unwatched;
        uint64_t generation;
        uint32_t count, invalid_count;
} Status;

void status_done(Status *st);

/* Prints a D-Bus error in the client's words (options for request keys, a hint when the daemon is not running).
 * Returns -ENOENT for NoMatch, else r (or -EIO). */
int remote_print_error(const sd_bus_error *error, int r);

/* Appends req as the a{sv} of Resolve, for methods that take a request. Returns 0 or a negative errno. */
int remote_append_request(sd_bus_message *m, const Request *req);

/* Connects to the system or session bus. Returns 0 or -errno, with a message already printed. */
int remote_connect(bool user, sd_bus **ret);

/* remote_list() asks for pages of this many items (fewer when the daemon says a page is too large), and
 * starts again when the catalogue changed between pages. */
#define REMOTE_LIST_PAGE 1000U

/* Each returns 0, or -errno with the D-Bus error (NoMatch included) printed on stderr; -ENOENT for NoMatch. */
int remote_list(sd_bus *bus, const Request *filter, uint64_t *ret_generation, RemoteEntry **ret, size_t *ret_n);
int remote_resolve(sd_bus *bus, const Request *req, uint64_t *ret_generation, RemoteEntry *ret);
int remote_explain(sd_bus *bus, const Request *req, char **ret_selected, RemoteVerdict **ret, size_t *ret_n);
int remote_describe(sd_bus *bus, const char *name, char **ret_json);
/* Reads every Manager property; those of newer daemons are skipped, InstanceId is read when present. */
int remote_status(sd_bus *bus, Status *ret);
/* interactive: polkit may ask the user (through an agent) instead of saying no. */
int remote_reload(sd_bus *bus, bool interactive);
/* Prints one line per CatalogueChanged until interrupted. */
int remote_monitor(sd_bus *bus, bool json);
