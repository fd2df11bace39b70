/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <limits.h>
#include <malloc.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>

#include "util/chase.h"
#include "util/log.h"
#include "manager-watch.h"


int manager_new(bool user, const char *root, char * const *search_path, Manager **ret) {
        _cleanup_(manager_freep) Manager *m = NULL;
        int r;

        m = calloc(1, sizeof(Manager));
        if (!m)
                return -ENOMEM;
        m->user = user;
        m->debounce_usec = MANAGER_DEBOUNCE_USEC_DEFAULT;
        m->qemu_timeout_usec = QEMU_TIMEOUT_USEC_DEFAULT;
        m->poll_usec = MANAGER_POLL_USEC_DEFAULT;
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
        sd_id128_t id;
        r = sd_id128_randomize(&id);
        if (r < 0)
                return r;
        sd_id128_to_string(id, m->instance_id);
        STRV_FOREACH(d, m->search_path)
                if (strv_consume(&m->search_dirs, path_prefix_root(m->root, *d)) < 0)
                        return -ENOMEM;

        *ret = TAKE_PTR(m);
        return 0;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;
        watch_free(m->watch);
        manager_cache_free(m->cache);   /* before what it writes about */
        free(m->cache_dir);
        machines_free(m->machines);
        strv_free(m->qemu_dirs);
        sd_event_source_disable_unref(m->debounce);
        sd_event_source_disable_unref(m->poll);
        strv_free(m->unwatched);
        strv_free(m->search_dirs);
        strv_free(m->watched);
        strv_free(m->image_dirs);
        strv_free(m->link_targets);
        strv_free(m->link_entries);
        name_set_done(&m->pending_names);
        name_set_done(&m->link_dirs);
        free(m->rescan_why);
        free(m->rescan_again_why);
        bus_free(m->bus);
        sd_event_unref(m->event);
        catalogue_free(m->catalogue);
        strv_free(m->search_path);
        free(m->root);
        free(m);
        return NULL;
}

/* Reports what is wrong with one entry's descriptor, unless the previous catalogue's entry of that name
 * has the same descriptor: it was reported when it was first read. */
static void log_entry_problems(const Entry *e, const Catalogue *previous) {
        const Entry *old = previous ? catalogue_find(previous, e->name) : NULL;

        if (!e->descriptor || (old && descriptor_same(old->descriptor, e->descriptor)))
                return;
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

/* Reports what went wrong with single files and directories once per build, at the level it deserves: of
 * the entries, those of the names in changed (a strv of names, or all of them when changed is NULL). An
 * entry whose descriptor changed is in the diff, so the names added and modified are all there is to
 * look at, whatever the size of the catalogue. */
static void log_catalogue_problems(const Catalogue *c, const Catalogue *previous, char * const *changed[2]) {
        STRV_FOREACH(p, c->dir_problems)
                if (!previous || !strv_contains(previous->dir_problems, *p))
                        log_warning("Firmware directory problem: %s", *p);

        if (!changed) {
                for (size_t i = 0; i < c->n_entries; i++)
                        log_entry_problems(&c->entries[i], previous);
                return;
        }
        for (int k = 0; k < 2; k++)
                STRV_FOREACH(n, changed[k]) {
                        const Entry *e = catalogue_find(c, *n);
                        if (e)
                                log_entry_problems(e, previous);
                }
}

/* ---- rebuilding ---------------------------------------------------------------------------------------- */

/* "+10-new.json, -60-old.json, ~50-changed.json", the first few of them and how many more: enough to tell
 * what happened without flooding the log on an upgrade. NULL when nothing changed or on ENOMEM. */
static char *change_names(char **added, char **removed, char **modified) {
        char **lists[] = { added, removed, modified };
        const char marks[] = "+-~";
        size_t shown = 0, total = strv_length(added) + strv_length(removed) + strv_length(modified);
        StrBuf b = {};

        for (int k = 0; k < 3; k++)
                STRV_FOREACH(n, lists[k])
                        if (shown < 5)
                                strbuf_printf(&b, "%s%c%s", shown++ > 0 ? ", " : "", marks[k], *n);
        if (total > shown)
                strbuf_printf(&b, " and %zu more", total - shown);
        return total > 0 ? strbuf_steal(&b) : (strbuf_done(&b), NULL);
}

/* Says when the entry of one name became masked or stopped being so: an administrator's act worth a line.
 * e or old (the previous catalogue's) may be NULL. */
static void log_mask(const Entry *e, const Entry *old) {
        bool was = old && old->state == ENTRY_MASKED, is = e && e->state == ENTRY_MASKED;

        if (is && !was) {
                if (e->shadowed)
                        log_info("'%s' masks '%s'.", e->path, e->shadowed[0]);
                else
                        log_info("'%s' masks '%s', which does not exist.", e->path, e->name);
        } else if (was && !is)
                log_info("'%s' is no longer masked.", old->name);
}

/* The same for every name in changed (added, removed, modified; a change of state is in the diff), or at
 * the first load (changed NULL) for every entry. */
static void log_masks(const Catalogue *c, const Catalogue *previous, char * const *changed[3]) {
        if (!changed) {
                for (size_t i = 0; i < c->n_entries; i++)
                        log_mask(&c->entries[i], previous ? catalogue_find(previous, c->entries[i].name) : NULL);
                return;
        }
        for (int k = 0; k < 3; k++)
                STRV_FOREACH(n, changed[k])
                        log_mask(catalogue_find(c, *n), catalogue_find(previous, *n));
}

/* Says when files start or stop being left out past the cap: once, not at every step of a storm. */
static void log_left_out(const Catalogue *c, const Catalogue *previous) {
        size_t before = previous ? previous->n_left_out : 0;

        if (c->n_left_out > 0 && before == 0)
                log_warning("Serving at most %zu firmware descriptors (and %u KiB of their names): %zu more "
                            "descriptor %s left out, from '%s' on.", c->max_entries,
                            CATALOGUE_LABEL_BYTES_MAX / 1024U, c->n_left_out,
                            plural(c->n_left_out, "file is", "files are"), c->left_out[0]);
        else if (c->n_left_out == 0 && before > 0)
                log_info("No descriptor file is left out any more.");
}

/* Swaps in a new catalogue and announces what changed. Takes ownership of c. Returns 1 if anything changed. */
static int manager_apply(Manager *m, Catalogue *c, const char *why) {
        _cleanup_(catalogue_freep) Catalogue *new = c;
        _cleanup_(strv_freep) char **added = NULL, **removed = NULL, **modified = NULL;
        int r;

        r = catalogue_diff(m->catalogue, new, &added, &removed, &modified);
        if (r < 0)
                return log_oom();

        /* what to say about entries follows from the diff: O(changes), not O(catalogue), for each step */
        log_catalogue_problems(new, m->catalogue, (char * const *[]) { added, modified });
        log_masks(new, m->catalogue, (char * const *[]) { added, removed, modified });
        log_left_out(new, m->catalogue);
        /* a storm shrinks the catalogue in parts: compare with the largest it was since the last trim */
        if (new->n_entries > m->n_entries_peak)
                m->n_entries_peak = new->n_entries;
        bool shrunk = m->n_entries_peak >= 1024 && new->n_entries < m->n_entries_peak / 2;
        if (shrunk)
                m->n_entries_peak = new->n_entries;
        catalogue_free(m->catalogue);
        m->catalogue = TAKE_PTR(new);
        if (shrunk)
                memory_trim();
        m->n_rebuilds++;
        manager_cache_changed(m);
        /* entries that did not change name the same images and link targets as before */
        (void) manager_update_watches(m, false, added || removed || modified);

        if (!added && !removed && !modified) {
                log_debug("Rescanned (%s): nothing changed.", why);
                return 0;
        }

        m->generation++;
        _cleanup_(freep) char *names = change_names(added, removed, modified);
        log_info("Firmware catalogue changed (%s): %zu added, %zu removed, %zu modified%s%s; generation %" PRIu64 ".",
                 why, strv_length(added), strv_length(removed), strv_length(modified), names ? ": " : "",
                 strempty(names), m->generation);
        r = bus_emit_changes(m->bus, added, removed, modified);
        if (r < 0)
                log_warning_errno(r, "Failed to announce the catalogue change: %m");
        _cleanup_(freep) char *status = manager_status_text(m);
        if (status)
                (void) sd_notifyf(false, "STATUS=%s", status);
        return 1;
}

/* Events seen while loading: newly set-up watches (mask 0) are covered by the load itself, anything else
 * is a real change that happened meanwhile and is handled as usual. */
static void take_startup_events(Manager *m) {
        WatchEvent *events = NULL;
        size_t n = 0;
        int r;

        r = watch_take_events(m->watch, &events, &n);
        for (size_t i = 0; r >= 0 && i < n; i++)
                if (events[i].mask != 0)
                        r = manager_classify_event(m, &events[i]);
        watch_events_free(events, n);
        if (r < 0)
                m->pending_full = true;
        manager_arm_debounce(m);
}

static void on_machines_changed(Machines *ms, void *userdata) {
        Manager *m = userdata;
        (void) bus_emit_machines_changed(m->bus);
        manager_cache_changed(m);
}

int manager_load(Manager *m) {
        uint64_t start = now_nsec();
        Catalogue *c = NULL;
        int r;

        /* an earlier run's answers first: what did not change is neither run nor hashed again */
        r = manager_cache_open(m);
        if (r < 0)
                return log_oom();
        r = machines_new(m->event, m->qemu_dirs ?: (char *[]) { NULL }, m->qemu_timeout_usec,
                         manager_cache_known(m), on_machines_changed, m, &m->machines);
        if (r < 0)
                return log_error_errno(r, "Failed to ask QEMU for machine types: %m");

        r = watch_new(m->event, manager_on_watch_events, m, &m->watch);
        if (r < 0)
                return log_error_errno(r, "Failed to start watching directories: %m");
        /* the search directories are watched before they are read, so nothing falls between the two */
        r = manager_update_watches(m, true, true);
        if (r >= 0)
                r = catalogue_build_seeded(m->search_path, m->root, NULL, manager_cache_images(m), m->max_entries,
                                           &m->catalogue);
        if (r < 0)
                return log_error_errno(r, "Failed to build the firmware catalogue: %m");

        /* now that the catalogue says which images and link targets matter, watch them, then check those
         * files again: anything that changed before their watches were in place is seen */
        r = manager_update_watches(m, true, true);
        if (r > 0) {
                r = catalogue_update(m->catalogue, m->link_entries ?: (char *[]) { NULL }, true, &c);
                if (r < 0)
                        return log_error_errno(r, "Failed to build the firmware catalogue: %m");
                catalogue_free(m->catalogue);
                m->catalogue = c;
        }
        take_startup_events(m);
        manager_check_watches(m);
        manager_cache_loaded(m);

        log_catalogue_problems(m->catalogue, NULL, NULL);
        log_masks(m->catalogue, NULL, NULL);
        log_left_out(m->catalogue, NULL);
        log_info("Loaded %zu firmware %s (%zu invalid, %zu masked) in %.1f ms, watching %zu %s.",
                 m->catalogue->n_valid, plural(m->catalogue->n_valid, "descriptor", "descriptors"),
                 m->catalogue->n_invalid, m->catalogue->n_masked, (double) (now_nsec() - start) / 1e6,
                 strv_length(m->watched), plural(strv_length(m->watched), "directory", "directories"));
        return 0;
}

/* ---- reacting to changes ------------------------------------------------------------------------------- */

/* Of many names, the first MANAGER_REBUILD_CHUNK are rebuilt now and the rest stay in the pending set;
 * manager_arm_debounce() then schedules the next part at the bus's priority, so that calls are answered between
 * parts. Returns the names for now. */
static char **take_pending_chunk(Manager *m) {
        bool more = m->pending_names.n > MANAGER_REBUILD_CHUNK;
        char **names = name_set_take(&m->pending_names, MANAGER_REBUILD_CHUNK);

        if (more && !names) {           /* cannot split them: a full rescan, next, covers them */
                name_set_done(&m->pending_names);
                m->pending_full = true;
        }
        m->pending_more = more;
        return names;
}

/* Adds sorted names to the pending set. Returns 0 or -ENOMEM. */
static int pend_names(Manager *m, char * const *names, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (name_set_add(&m->pending_names, names[i]) < 0)
                        return -ENOMEM;
        return 0;
}

static int rescan_start(Manager *m, const char *why) {
        _cleanup_(strv_freep) char **listed = NULL;
        _cleanup_(freep) char *w = strdup(why);
        int r;

        machines_refresh(m->machines);  /* a QEMU upgrade the watch missed is seen on request too */
        /* listing directories is cheap; reading 100,000 files is not: the names go through the same steps
         * as a storm's, so calls are answered in between, and every name keeps its entry until its own
         * step looks at it again */
        r = catalogue_list_names(m->search_path, m->root, &listed);
        if (r >= 0)
                r = pend_names(m, listed, strv_length(listed));
        for (size_t i = 0; r >= 0 && i < m->catalogue->n_entries; i++)
                r = name_set_add(&m->pending_names, m->catalogue->entries[i].name) < 0 ? -ENOMEM : 0;
        if (r >= 0)
                r = pend_names(m, m->catalogue->left_out, m->catalogue->n_left_out);
        if (r < 0 || !w)
                return log_error_errno(ENOMEM, "Failed to start a rescan: %m");

        m->rescan_serial++;
        free(m->rescan_why);
        m->rescan_why = TAKE_PTR(w);
        m->rescan_steps = 0;
        m->pending_files = m->pending_all_names = true;
        m->pending_more = true;
        /* how the catalogue is rebuilt: the tests read this to tell a full rescan from a targeted update */
        log_debug("Rebuild %" PRIu64 ": full rescan (%s) of %zu names in steps of %u.", m->n_rebuilds + 1, why,
                  m->pending_names.n, MANAGER_REBUILD_CHUNK);
        /* at once, not at the end of a window that changes already started */
        m->debounce = sd_event_source_disable_unref(m->debounce);
        manager_arm_debounce(m);
        return 0;
}

int manager_rescan_request(Manager *m, const char *why, uint64_t *ret_serial) {
        int r;

        if (m->rescan_why) {
                /* never started over: a caller repeating Reload, or a poll shorter than the rescan, would
                 * keep it from ever ending */
                if (!m->rescan_again_why)
                        m->rescan_again_why = strdup(why);     /* without it, a generic reason is logged */
                m->rescan_again = true;
                if (ret_serial)
                        *ret_serial = m->rescan_serial + 1;
                return 0;
        }
        r = rescan_start(m, why);
        if (r < 0)
                return r;
        if (ret_serial)
                *ret_serial = m->rescan_serial;
        return 0;
}

/* A full rescan ended: whoever waits for it is answered, and the one asked for meanwhile starts. */
static void rescan_done(Manager *m, int error) {
        _cleanup_(freep) char *again_why = TAKE_PTR(m->rescan_again_why);

        free(m->rescan_why), m->rescan_why = NULL;
        bus_rescan_done(m->bus, m->rescan_serial, error);
        if (error < 0 || !m->rescan_again)
                return;         /* after a failure, the full rescan that follows answers the rest */
        m->rescan_again = false;
        if (rescan_start(m, again_why ?: "asked for during a rescan") < 0) {
                m->pending_full = true;         /* tried again after a window: it answers the rest */
                manager_arm_debounce(m);
        }
}

/* One step: the next chunk of pending names (or the referenced files) looked at again. */
static int rebuild_step(Manager *m) {
        _cleanup_(strv_freep) char **names = take_pending_chunk(m);
        bool files = m->pending_files, all = m->pending_all_names;
        uint64_t start = now_nsec();
        Catalogue *c = NULL;
        int r;

        m->pending_files = m->pending_all_names = false;
        r = catalogue_update(m->catalogue, names ?: (char *[]) { NULL },
                             (files ? CATALOGUE_UPDATE_FILES : 0) | (all ? CATALOGUE_UPDATE_NAMES : 0), &c);
        if (r < 0)
                return log_error_errno(r, "Failed to update the firmware catalogue, keeping the old one: %m");
        log_debug("Updated the catalogue in %.1f ms, %" PRIu64 " images hashed.",
                  (double) (now_nsec() - start) / 1e6, c->n_hashed);
        log_debug("Rebuild %" PRIu64 ": update of %zu names%s, %zu parsed, %zu reused.", m->n_rebuilds + 1,
                  strv_length(names), files ? " and the referenced files" : "", c->n_parsed, c->n_reused);
        return manager_apply(m, c, m->rescan_why ?: files && !names ? "firmware images changed" :
                                                                       "descriptors changed");
}

static int on_debounce(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        int r;

        m->debounce = sd_event_source_disable_unref(m->debounce);

        if (m->test_failing_rebuilds > 0) {
                m->test_failing_rebuilds--;
                name_set_done(&m->pending_names);       /* lost: the full rescan below covers them */
                m->pending_files = m->pending_full = m->pending_more = false;
                r = log_error_errno(ENOMEM, "Failed to rebuild the firmware catalogue, keeping the old one "
                                    "(as the test environment asked): %m");
        } else if (m->pending_full && !m->rescan_why) {
                m->pending_full = false;
                r = rescan_start(m, "directories changed");
                if (r >= 0)
                        return 0;
        } else {
                if (m->pending_full) {  /* during a rescan: one more follows it and sees what this one missed */
                        m->pending_full = false;
                        (void) manager_rescan_request(m, "directories changed", NULL);
                }
                r = rebuild_step(m);
                if (r >= 0 && m->rescan_why) {
                        m->rescan_steps++;
                        if (!m->pending_more) {
                                log_debug("Full rescan (%s) done in %zu steps.", m->rescan_why, m->rescan_steps);
                                rescan_done(m, 0);
                        }
                }
        }
        if (r >= 0 && m->pending_more)
                manager_arm_debounce(m);
        if (r < 0) {
                /* what was collected must not be lost (nothing else would bring it back): a full rescan
                 * after another window covers it, and whatever comes meanwhile. Not when the timer could
                 * not be armed in the first place (s is NULL then): the next change tries again. */
                m->pending_full = true;
                m->pending_more = false;        /* after a window, not at once */
                m->rescan_again = false;        /* that full rescan answers who waits for this one */
                if (m->rescan_why)
                        rescan_done(m, r);
                if (s)
                        manager_arm_debounce(m);
        }
        return 0;
}

#define DEBOUNCE_ACCURACY_USEC (1 * 1000ULL)

void manager_arm_debounce(Manager *m) {
        int r;

        if (m->debounce || (!m->pending_full && !m->pending_files && name_set_isempty(&m->pending_names)))
                return;
        /* collect for one window from the first change, then rebuild once */
        /* with sd-event's default accuracy of 250 ms, a 50 ms window would end anywhere up to 300 ms */
        /* the rest of a storm's names goes on at once but at the bus's priority: sd-event takes turns
         * between the two, so neither a storm holds up calls nor a flood of calls the storm */
        r = sd_event_add_time_relative(m->event, &m->debounce, CLOCK_MONOTONIC,
                                       m->pending_more ? 0 : m->debounce_usec, DEBOUNCE_ACCURACY_USEC,
                                       on_debounce, m);
        if (r >= 0)     /* a flood of bus calls must not hold up the rebuild */
                r = sd_event_source_set_priority(m->debounce, m->pending_more ? SD_EVENT_PRIORITY_NORMAL :
                                                                                SD_EVENT_PRIORITY_IMPORTANT);
        if (r < 0) {
                log_warning_errno(r, "Failed to arm the debounce timer, rebuilding now: %m");
                (void) on_debounce(NULL, 0, m);
        }
}
