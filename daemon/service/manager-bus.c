/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* What the manager shows of itself: the BusOps through which the bus reads its state and asks for a rescan,
 * and the STATUS= line for the service manager. */

#include "util/log.h"
#include "manager.h"

static const Catalogue *get_catalogue(void *userdata) {
        Manager *m = userdata;
        return m->catalogue;
}

static uint64_t get_generation(void *userdata) {
        Manager *m = userdata;
        return m->generation;
}

static char **get_search_path(void *userdata) {
        Manager *m = userdata;
        return m->search_path;
}

static char **get_unwatched(void *userdata) {
        Manager *m = userdata;
        return m->unwatched;
}

static const QemuMachines *get_machines(void *userdata) {
        Manager *m = userdata;
        return machines_current(m->machines);
}

static const char *get_instance_id(void *userdata) {
        Manager *m = userdata;
        return m->instance_id;
}

/* Reload(): failed watches are tried again too, as after SIGHUP. */
static int reload(void *userdata, const char *why, uint64_t *ret_serial) {
        Manager *m = userdata;

        manager_retry_watches(m);
        return manager_rescan_request(m, why, ret_serial);
}

static const BusOps manager_bus_ops = {
        .catalogue = get_catalogue,
        .generation = get_generation,
        .search_path = get_search_path,
        .unwatched = get_unwatched,
        .machines = get_machines,
        .instance_id = get_instance_id,
        .reload = reload,
};

int manager_connect(Manager *m) {
        return bus_new(m->event, m->user, &manager_bus_ops, m, &m->bus);
}

char *manager_status_text(const Manager *m) {
        _cleanup_(freep) char *base = strdup_printf(
                "Serving %zu firmware %s (%zu invalid, %zu masked), generation %" PRIu64, m->catalogue->n_valid,
                plural(m->catalogue->n_valid, "descriptor", "descriptors"), m->catalogue->n_invalid,
                m->catalogue->n_masked, m->generation);

        if (!base)
                return NULL;
        if (m->catalogue->n_left_out > 0) {     /* past the cap: say so where an administrator looks */
                char *more = strdup_printf("%s; %zu descriptor %s left out over the limit of %zu", base,
                                           m->catalogue->n_left_out,
                                           plural(m->catalogue->n_left_out, "file", "files"),
                                           m->catalogue->max_entries);
                free(base);
                base = more;
                if (!base)
                        return NULL;
        }
        if (m->no_inotify)
                return strdup_printf("%s; no inotify instance, polling everything every %.1f s", base,
                                     m->poll_usec / 1e6);
        if (m->unwatched)
                return strdup_printf("%s; %zu %s cannot be watched, polling every %.1f s", base,
                                     strv_length(m->unwatched),
                                     plural(strv_length(m->unwatched), "directory", "directories"),
                                     m->poll_usec / 1e6);
        return TAKE_PTR(base);
}
