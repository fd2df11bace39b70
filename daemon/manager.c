/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include "bus.h"
#include "log.h"
#include "manager.h"

int manager_new(bool user, const char *root, char * const *search_path, Manager **ret) {
        _cleanup_(manager_freep) Manager *m = NULL;
        int r;

        m = calloc(1, sizeof(Manager));
        if (!m)
                return -ENOMEM;
        m->user = user;
        m->search_path = strv_copy(search_path);
        if (!m->search_path)
                return -ENOMEM;
        if (!isempty(root) && !streq(root, "/")) {
                m->root = strdup(root);
                if (!m->root)
                        return -ENOMEM;
        }
        r = sd_event_default(&m->event);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(m);
        return 0;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;
        if (m->bus)
                bus_polkit_cancel_all(m);
        sd_bus_flush_close_unref(m->bus);
        sd_event_unref(m->event);
        catalogue_free(m->catalogue);
        strv_free(m->search_path);
        free(m->root);
        free(m);
        return NULL;
}

/* Reports what went wrong with single files and directories once per build, at the level it deserves. */
static void log_catalogue_problems(const Catalogue *c, const Catalogue *previous) {
        STRV_FOREACH(p, c->dir_problems)
                log_warning("Failed to read firmware directory %s, skipping.", *p);

        for (size_t i = 0; i < c->n_entries; i++) {
                const Entry *e = &c->entries[i];
                const Entry *old = previous ? catalogue_find(previous, e->name) : NULL;

                /* an unchanged descriptor was reported when it was first read */
                if (!e->descriptor || (old && old->descriptor == e->descriptor))
                        continue;
                for (size_t j = 0; j < e->descriptor->n_problems; j++) {
                        const Problem *p = &e->descriptor->problems[j];

                        if (p->severity == PROBLEM_ERROR)
                                log_warning("%s: %s%s%s, ignoring descriptor.", e->path, p->path,
                                            isempty(p->path) ? "" : ": ", p->message);
                        else
                                log_notice("%s: %s%swarning: %s", e->path, p->path, isempty(p->path) ? "" : ": ",
                                           p->message);
                }
        }
}

int manager_load(Manager *m) {
        uint64_t start = now_nsec();
        int r;

        r = catalogue_build(m->search_path, m->root, NULL, &m->catalogue);
        if (r < 0)
                return log_error_errno(r, "Failed to build the firmware catalogue: %m");
        log_catalogue_problems(m->catalogue, NULL);
        log_info("Loaded %zu firmware descriptors (%zu invalid, %zu masked) in %.1f ms.", m->catalogue->n_valid,
                 m->catalogue->n_invalid, m->catalogue->n_masked, (double) (now_nsec() - start) / 1e6);
        return 0;
}

int manager_rescan(Manager *m, const char *why) {
        _cleanup_(catalogue_freep) Catalogue *c = NULL;
        _cleanup_(strv_freep) char **added = NULL, **removed = NULL, **modified = NULL;
        int r;

        r = catalogue_build(m->search_path, m->root, m->catalogue, &c);
        if (r < 0)
                return log_error_errno(r, "Failed to rebuild the firmware catalogue, keeping the old one: %m");
        r = catalogue_diff(m->catalogue, c, &added, &removed, &modified);
        if (r < 0)
                return log_oom();

        log_catalogue_problems(c, m->catalogue);
        catalogue_free(m->catalogue);
        m->catalogue = TAKE_PTR(c);

        if (!added && !removed && !modified) {
                log_debug("Rescanned (%s): nothing changed.", why);
                return 0;
        }

        m->generation++;
        log_info("Firmware catalogue changed (%s): %zu added, %zu removed, %zu modified; generation %" PRIu64 ".",
                 why, strv_length(added), strv_length(removed), strv_length(modified), m->generation);
        r = bus_emit_changes(m, added, removed, modified);
        if (r < 0)
                log_warning_errno(r, "Failed to announce the catalogue change: %m");
        return 1;
}

char *manager_status_text(const Manager *m) {
        return strdup_printf("Serving %zu firmware descriptors (%zu invalid, %zu masked), generation %" PRIu64,
                             m->catalogue->n_valid, m->catalogue->n_invalid, m->catalogue->n_masked,
                             m->generation);
}
