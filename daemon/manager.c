/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <limits.h>
#include <malloc.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>

#include "chase.h"
#include "log.h"
#include "manager.h"

static void on_watch_events(Watch *w, void *userdata);
static void check_watches(Manager *m);
static char *root_link_target(const char *root, const char *path);
static void arm_debounce(Manager *m);

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
        bus_free(m->bus);
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
                if (!previous || !strv_contains(previous->dir_problems, *p))
                        log_warning("Firmware directory problem: %s", *p);

        for (size_t i = 0; i < c->n_entries; i++) {
                const Entry *e = &c->entries[i];
                const Entry *old = previous ? catalogue_find(previous, e->name) : NULL;

                /* an unchanged descriptor was reported when it was first read */
                if (!e->descriptor || (old && descriptor_same(old->descriptor, e->descriptor)))
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

/* ---- what to watch ------------------------------------------------------------------------------------- */

static int strv_add_sorted_unique(char ***l, char *s) {
        if (!s)
                return -ENOMEM;
        if (strv_contains(*l, s)) {
                free(s);
                return 0;
        }
        return strv_consume(l, s);
}

/* Removes s from l, keeping the order. */
static void strv_remove(char **l, const char *s) {
        for (size_t i = 0; l && l[i]; i++)
                if (streq(l[i], s)) {
                        free(l[i]);
                        memmove(&l[i], &l[i + 1], (strv_length(l + i + 1) + 1) * sizeof(char *));
                        return;
                }
}

static int string_compare(const void *a, const void *b) {
        return strcmp(*(char * const *) a, *(char * const *) b);
}

static void strv_sort(char **l) {
        qsort(l, strv_length(l), sizeof(char *), string_compare);
}

/* The directory itself if it exists, or its nearest existing ancestor, whose events tell when it appears. */
static char *existing_dir_or_ancestor(const char *dir) {
        _cleanup_(freep) char *p = strdup(dir);
        struct stat st;

        if (!p)
                return NULL;
        for (;;) {
                if (stat(p, &st) >= 0 && S_ISDIR(st.st_mode))
                        return TAKE_PTR(p);
                char *slash = strrchr(p, '/');
                if (!slash || slash == p)
                        return strdup("/");
                *slash = 0;
        }
}

static char *dirname_of(const char *root, const char *path) {
        _cleanup_(freep) char *full = path_prefix_root(root, path);
        char *slash;

        if (!full)
                return NULL;
        slash = strrchr(full, '/');
        if (!slash)
                return NULL;
        *slash = 0;
        return strdup(isempty(full) ? "/" : full);
}

/* Image directories of every valid entry. Descriptors share a few images, so compare with the last one
 * before looking further. */
static int collect_image_dirs(Manager *m, char ***ret) {
        _cleanup_(strv_freep) char **dirs = NULL;
        _cleanup_(name_set_done) NameSet seen = {};

        /* every rebuild of a storm's parts runs this: each distinct file is looked at once, since with a
         * root that costs system calls */
        for (size_t i = 0; i < m->catalogue->n_entries; i++) {
                const Entry *e = &m->catalogue->entries[i];
                const char *files[2];

                if (e->state != ENTRY_VALID)
                        continue;
                files[0] = descriptor_image(e->descriptor);
                files[1] = descriptor_vars_template(e->descriptor);
                for (int k = 0; k < 2; k++) {
                        char *dir;
                        int r;

                        if (!files[k])
                                continue;
                        r = name_set_add(&seen, files[k]);
                        if (r < 0)
                                return r;
                        if (r == 0)
                                continue;
                        dir = dirname_of(m->root, files[k]);
                        if (dir && m->root) {   /* where the root's links lead, not where the host's would */
                                char *real = root_link_target(m->root, dir);
                                if (real) {
                                        free(dir);
                                        dir = real;
                                }
                        }
                        if (strv_add_sorted_unique(&dirs, dir) < 0)
                                return -ENOMEM;
                }
        }
        strv_sort(dirs);
        *ret = TAKE_PTR(dirs);
        return 0;
}

/* With a root: where a link below it ends up when resolved inside it, as a host path (NULL when it leads
 * nowhere). */
static char *root_link_target(const char *root, const char *path) {
        _cleanup_(freep) char *proc = NULL;
        _cleanup_(closep) int fd = -1;
        int root_fd = chase_root_open(root);
        char buf[PATH_MAX];
        ssize_t n;

        if (root_fd < 0 || strncmp(path, root, strlen(root)) != 0) {
                chase_root_close(root_fd);
                return NULL;
        }
        fd = chase_open(root_fd, path + strlen(root), O_PATH);
        chase_root_close(root_fd);
        proc = fd >= 0 ? strdup_printf("/proc/self/fd/%d", fd) : NULL;
        if (!proc || (n = readlink(proc, buf, sizeof(buf) - 1)) <= 0)
                return NULL;
        buf[n] = 0;
        return strdup(buf);
}

/* Where a symlinked descriptor points: its target's real path, or for a dangling link the path it names (so
 * that its appearance is seen). NULL when the target is no regular file: a mask's /dev/null or a device is
 * not worth watching /dev for. */
static char *link_target(const Manager *m, const Entry *e) {
        _cleanup_(freep) char *target = m->root ? root_link_target(m->root, e->path) : realpath(e->path, NULL);
        _cleanup_(freep) char *dir = NULL;
        char buf[PATH_MAX];
        struct stat st;
        ssize_t n;

        if (target)
                return stat(target, &st) >= 0 && S_ISREG(st.st_mode) ? TAKE_PTR(target) : NULL;
        n = readlink(e->path, buf, sizeof(buf) - 1);
        if (n <= 0)
                return NULL;
        buf[n] = 0;
        if (buf[0] == '/')
                return path_prefix_root(m->root, buf);  /* a root's absolute links point into it */
        dir = dirname_of(NULL, e->path);
        return dir ? path_join(dir, buf) : NULL;
}

static int collect_links(Manager *m, char ***ret_targets, char ***ret_entries) {
        _cleanup_(strv_freep) char **targets = NULL, **entries = NULL;

        for (size_t i = 0; i < m->catalogue->n_entries; i++) {
                const Entry *e = &m->catalogue->entries[i];
                char *target;

                if (!e->symlink || !(target = link_target(m, e)))
                        continue;
                if (strv_consume(&targets, target) < 0 || strv_extend(&entries, e->name) < 0)
                        return -ENOMEM;
        }
        *ret_targets = TAKE_PTR(targets);
        *ret_entries = TAKE_PTR(entries);
        return 0;
}

/* Recomputes what to watch from the current catalogue and tells the watcher if that changed. With wait,
 * returns once the watches are in place. Returns 1 when the set changed. */
static int manager_update_watches(Manager *m, bool wait) {
        _cleanup_(strv_freep) char **wanted = NULL, **images = NULL, **targets = NULL, **entries = NULL;
        int r;

        if (!m->watch)
                return 0;
        if (m->catalogue) {             /* before the first scan: the search directories only */
                r = collect_image_dirs(m, &images);
                if (r >= 0)
                        r = collect_links(m, &targets, &entries);
                if (r < 0)
                        return log_oom();
        }

        STRV_FOREACH(d, m->search_dirs)
                if (strv_add_sorted_unique(&wanted, existing_dir_or_ancestor(*d)) < 0)
                        return log_oom();
        STRV_FOREACH(d, images)
                if (strv_add_sorted_unique(&wanted, existing_dir_or_ancestor(*d)) < 0)
                        return log_oom();
        STRV_FOREACH(t, targets) {
                _cleanup_(freep) char *dir = dirname_of(NULL, *t);
                if (!dir || strv_add_sorted_unique(&wanted, existing_dir_or_ancestor(dir)) < 0)
                        return log_oom();
        }
        strv_sort(wanted);

        strv_free(m->image_dirs);
        m->image_dirs = TAKE_PTR(images);
        strv_free(m->link_targets);
        m->link_targets = TAKE_PTR(targets);
        name_set_done(&m->link_dirs);
        STRV_FOREACH(t, m->link_targets) {
                _cleanup_(freep) char *dir = dirname_of(NULL, *t);
                if (!dir || name_set_add(&m->link_dirs, dir) < 0)
                        return log_oom();
        }
        strv_free(m->link_entries);
        m->link_entries = TAKE_PTR(entries);

        if (strv_length(wanted) == strv_length(m->watched)) {
                bool same = true;
                for (size_t i = 0; same && wanted && wanted[i]; i++)
                        same = streq(wanted[i], m->watched[i]);
                if (same)
                        return 0;
        }
        r = watch_set_directories(m->watch, wanted, wait);
        if (r < 0)
                return log_oom();
        log_debug("Watching %zu %s.", strv_length(wanted), plural(strv_length(wanted), "directory", "directories"));
        strv_free(m->watched);
        m->watched = TAKE_PTR(wanted);
        return 1;
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

/* Says when a descriptor became masked or stopped being so: an administrator's act worth a line. */
static void log_masks(const Catalogue *c, const Catalogue *previous) {
        for (size_t i = 0; i < c->n_entries; i++) {
                const Entry *e = &c->entries[i], *old = previous ? catalogue_find(previous, e->name) : NULL;
                bool was = old && old->state == ENTRY_MASKED, is = e->state == ENTRY_MASKED;

                if (is && !was) {
                        if (e->shadowed)
                                log_info("'%s' masks '%s'.", e->path, e->shadowed[0]);
                        else
                                log_info("'%s' masks '%s', which does not exist.", e->path, e->name);
                } else if (was && !is)
                        log_info("'%s' is no longer masked.", e->name);
        }
        for (size_t i = 0; previous && i < previous->n_entries; i++) {
                const Entry *old = &previous->entries[i];
                if (old->state == ENTRY_MASKED && !catalogue_find(c, old->name))
                        log_info("'%s' is no longer masked.", old->name);
        }
}

/* Swaps in a new catalogue and announces what changed. Takes ownership of c. Returns 1 if anything changed. */
static int manager_apply(Manager *m, Catalogue *c, const char *why) {
        _cleanup_(catalogue_freep) Catalogue *new = c;
        _cleanup_(strv_freep) char **added = NULL, **removed = NULL, **modified = NULL;
        int r;

        r = catalogue_diff(m->catalogue, new, &added, &removed, &modified);
        if (r < 0)
                return log_oom();

        log_catalogue_problems(new, m->catalogue);
        log_masks(new, m->catalogue);
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
        (void) manager_update_watches(m, false);

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
        arm_debounce(m);
}

static void on_machines_changed(Machines *ms, void *userdata) {
        Manager *m = userdata;
        (void) bus_emit_machines_changed(m->bus);
}

int manager_load(Manager *m) {
        uint64_t start = now_nsec();
        Catalogue *c = NULL;
        int r;

        r = machines_new(m->event, m->qemu_dirs ?: (char *[]) { NULL }, m->qemu_timeout_usec, on_machines_changed,
                         m, &m->machines);
        if (r < 0)
                return log_error_errno(r, "Failed to ask QEMU for machine types: %m");

        r = watch_new(m->event, on_watch_events, m, &m->watch);
        if (r < 0)
                return log_error_errno(r, "Failed to start watching directories: %m");
        /* the search directories are watched before they are read, so nothing falls between the two */
        r = manager_update_watches(m, true);
        if (r >= 0)
                r = catalogue_build(m->search_path, m->root, NULL, &m->catalogue);
        if (r < 0)
                return log_error_errno(r, "Failed to build the firmware catalogue: %m");

        /* now that the catalogue says which images and link targets matter, watch them, then check those
         * files again: anything that changed before their watches were in place is seen */
        r = manager_update_watches(m, true);
        if (r > 0) {
                r = catalogue_update(m->catalogue, m->link_entries ?: (char *[]) { NULL }, true, &c);
                if (r < 0)
                        return log_error_errno(r, "Failed to build the firmware catalogue: %m");
                catalogue_free(m->catalogue);
                m->catalogue = c;
        }
        take_startup_events(m);
        check_watches(m);

        log_catalogue_problems(m->catalogue, NULL);
        log_masks(m->catalogue, NULL);
        log_info("Loaded %zu firmware %s (%zu invalid, %zu masked) in %.1f ms, watching %zu %s.",
                 m->catalogue->n_valid, plural(m->catalogue->n_valid, "descriptor", "descriptors"),
                 m->catalogue->n_invalid, m->catalogue->n_masked, (double) (now_nsec() - start) / 1e6,
                 strv_length(m->watched), plural(strv_length(m->watched), "directory", "directories"));
        return 0;
}

int manager_rescan(Manager *m, const char *why) {
        Catalogue *c = NULL;
        int r;

        machines_refresh(m->machines);  /* a QEMU upgrade the watch missed is seen on request too */
        r = catalogue_build(m->search_path, m->root, m->catalogue, &c);
        if (r < 0)
                return log_error_errno(r, "Failed to rebuild the firmware catalogue, keeping the old one: %m");
        /* how the catalogue was rebuilt, and what it cost: the tests read this to tell a full rescan from a
         * targeted update */
        log_debug("Rebuild %" PRIu64 ": full rescan (%s), %zu parsed, %zu reused.", m->n_rebuilds + 1, why,
                  c->n_parsed, c->n_reused);
        return manager_apply(m, c, why);
}

/* ---- reacting to changes ------------------------------------------------------------------------------- */

static bool strv_sorted_contains(char **l, const char *s) {
        return l && bsearch(&s, l, strv_length(l), sizeof(char *), string_compare);
}

/* Of many names, the first MANAGER_REBUILD_CHUNK are rebuilt now and the rest go back to the pending set;
 * arm_debounce() then schedules the next part at the bus's priority, so that calls are answered between
 * parts. Returns the names for now. */
static char **take_pending_chunk(Manager *m) {
        _cleanup_(strv_freep) char **names = name_set_steal(&m->pending_names);
        size_t n = strv_length(names);

        m->pending_more = false;
        if (n <= MANAGER_REBUILD_CHUNK)
                return TAKE_PTR(names);
        for (size_t i = MANAGER_REBUILD_CHUNK; i < n; i++) {
                if (name_set_add(&m->pending_names, names[i]) < 0) {
                        m->pending_full = true;         /* cannot keep them: a full rescan covers them */
                        break;
                }
                free(names[i]);
                names[i] = NULL;
        }
        m->pending_more = true;
        return TAKE_PTR(names);
}

static int on_debounce(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        _cleanup_(strv_freep) char **names = m->pending_full ? name_set_steal(&m->pending_names) :
                                                                take_pending_chunk(m);
        bool full = m->pending_full, files = m->pending_files;
        Catalogue *c = NULL;
        int r;

        m->debounce = sd_event_source_disable_unref(m->debounce);
        m->pending_full = m->pending_files = false;

        if (m->test_failing_rebuilds > 0) {
                m->test_failing_rebuilds--;
                r = log_error_errno(ENOMEM, "Failed to rebuild the firmware catalogue, keeping the old one "
                                    "(as the test environment asked): %m");
        } else if (full)
                r = manager_rescan(m, "directories changed");
        else {
                uint64_t start = now_nsec();

                r = catalogue_update(m->catalogue, names ?: (char *[]) { NULL }, files, &c);
                if (r < 0)
                        log_error_errno(r, "Failed to update the firmware catalogue, keeping the old one: %m");
                else {
                        log_debug("Updated the catalogue in %.1f ms, %" PRIu64 " images hashed.",
                                  (double) (now_nsec() - start) / 1e6, c->n_hashed);
                        log_debug("Rebuild %" PRIu64 ": update of %zu names%s, %zu parsed, %zu reused.",
                                  m->n_rebuilds + 1, strv_length(names),
                                  files ? " and the referenced files" : "", c->n_parsed, c->n_reused);
                        r = manager_apply(m, c, files && !names ? "firmware images changed" :
                                                                  "descriptors changed");
                }
        }
        if (r >= 0 && m->pending_more)
                arm_debounce(m);
        if (r < 0) {
                /* what was collected must not be lost (nothing else would bring it back): a full rescan
                 * after another window covers it, and whatever comes meanwhile. Not when the timer could
                 * not be armed in the first place (s is NULL then): the next change tries again. */
                m->pending_full = true;
                m->pending_more = false;        /* after a window, not at once */
                if (s)
                        arm_debounce(m);
        }
        return 0;
}

/* Whether dir is path or below it. */
static bool path_is_below(const char *dir, const char *path) {
        size_t n = strlen(path);
        return strncmp(dir, path, n) == 0 && (dir[n] == 0 || dir[n] == '/');
}

/* Whether the entry name in the watched ancestor path is, or leads to, a search directory, an image
 * directory or the directory of a link target. */
static bool leads_to_watched(Manager *m, const char *path, const char *name) {
        _cleanup_(freep) char *entry = path_join(path, name);

        if (!entry)
                return true;    /* cannot tell: assume it matters */
        STRV_FOREACH(d, m->search_dirs)
                if (path_is_below(*d, entry))
                        return true;
        STRV_FOREACH(d, m->image_dirs)
                if (path_is_below(*d, entry))
                        return true;
        STRV_FOREACH(t, m->link_targets)
                if (path_is_below(*t, entry))
                        return true;
        return false;
}

int manager_classify_event(Manager *m, const WatchEvent *e) {
        bool known = false;

        if (!e->path || (e->mask & IN_Q_OVERFLOW)) {
                log_notice("Missed file system events, rescanning everything.");
                m->pending_full = true;
                return 0;
        }
        /* the watcher dropped this watch: when the set is recomputed it must be sent again, even if it is
         * the same set of paths as before (the directory was re-created, or replaced, meanwhile) */
        if (e->mask & IN_IGNORED)
                strv_remove(m->watched, e->path);
        if (strv_contains(m->search_dirs, e->path)) {
                known = true;
                if (e->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED | IN_UNMOUNT) || !e->name)
                        m->pending_full = true;
                else if (!catalogue_name_ignored(e->name) && name_set_add(&m->pending_names, e->name) < 0)
                        return -ENOMEM;
        }
        if (strv_sorted_contains(m->image_dirs, e->path)) {
                known = true;
                m->pending_files = true;
        }
        /* most events are in no link target's directory: one lookup says so */
        for (size_t i = 0; name_set_contains(&m->link_dirs, e->path) && m->link_targets[i]; i++) {
                const char *t = m->link_targets[i], *slash = strrchr(t, '/');

                /* only events about the target itself (or its directory as a whole) concern the link */
                if (!slash || strncmp(t, e->path, (size_t) (slash - t)) != 0 || e->path[slash - t] != 0)
                        continue;
                known = true;
                if ((!e->name || streq(e->name, slash + 1)) &&
                    name_set_add(&m->pending_names, m->link_entries[i]) < 0)
                        return -ENOMEM;
        }
        /* an ancestor of a directory that does not exist yet: only a name on the way to one may have made
         * it appear; the rest of what happens in /etc or a home directory is none of ours */
        if (!known && (!e->name || (e->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED | IN_UNMOUNT)) ||
                       leads_to_watched(m, e->path, e->name)))
                m->pending_full = true;
        return 0;
}

#define DEBOUNCE_ACCURACY_USEC (1 * 1000ULL)

static void arm_debounce(Manager *m) {
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

static void on_watch_events(Watch *w, void *userdata) {
        Manager *m = userdata;
        _cleanup_(strv_freep) char **errors = watch_take_errors(w);
        WatchEvent *events = NULL;
        size_t n = 0;
        int r;

        STRV_FOREACH(e, errors)
                log_warning("%s", *e);
        check_watches(m);
        r = watch_take_events(w, &events, &n);
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = manager_classify_event(m, &events[i]);
        watch_events_free(events, n);
        if (r < 0) {
                log_oom();
                m->pending_full = true;
        }
        arm_debounce(m);
}

/* ---- polling what cannot be watched -------------------------------------------------------------------- */

/* Starts a new watcher when there is none (no inotify instance), or sends the watch set again: the watcher
 * tries every directory it does not watch yet. */
static void retry_watches(Manager *m) {
        int r;

        if (m->no_inotify || !m->watch) {
                m->watch = watch_free(m->watch);
                r = watch_new(m->event, on_watch_events, m, &m->watch);
                if (r < 0) {
                        log_warning_errno(r, "Failed to start watching directories again: %m");
                        return;
                }
                /* waits until the new watcher has its watches or has failed: what check_watches() then
                 * sees is its real state */
                m->watched = strv_free(m->watched);
                (void) manager_update_watches(m, true);
                return;
        }
        if (watch_set_directories(m->watch, m->watched, false) < 0)
                log_oom();
}

void manager_retry_watches(Manager *m) {
        if (!m->unwatched && !m->no_inotify)
                return;
        log_info("Trying to watch the polled directories again.");
        m->retry_polls = m->polls_to_retry = 1;
        retry_watches(m);
}

static int on_poll(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        int r;

        /* the directories wanted may have changed meanwhile (a watcher without an instance says nothing) */
        check_watches(m);
        if (!m->poll)
                return 0;               /* nothing left to poll: the source is gone */
        /* changes there were not seen: a full rescan finds them, at most one interval late */
        m->pending_full = true;
        arm_debounce(m);
        if (m->polls_to_retry > 0 && --m->polls_to_retry == 0) {
                m->retry_polls = m->retry_polls * 2 > MANAGER_WATCH_RETRY_POLLS_MAX ? MANAGER_WATCH_RETRY_POLLS_MAX :
                                                                                     m->retry_polls * 2;
                m->polls_to_retry = m->retry_polls;
                retry_watches(m);
        }
        r = sd_event_source_set_time_relative(s, m->poll_usec);
        if (r >= 0)
                r = sd_event_source_set_enabled(s, SD_EVENT_ON);
        if (r < 0)
                log_warning_errno(r, "Failed to arm the poll timer again: %m");
        return 0;
}

static bool strv_equal(char * const *a, char * const *b) {
        for (; a && *a && b && *b; a++, b++)
                if (!streq(*a, *b))
                        return false;
        return !(a && *a) && !(b && *b);
}

/* Takes in what the watcher could not watch: reports it, and polls while anything is left. */
static void check_watches(Manager *m) {
        _cleanup_(strv_freep) char **failed = NULL;
        bool dead = true;
        int r;

        if (m->watch)
                failed = watch_failed(m->watch, &dead);
        if (dead) {             /* nothing is watched: everything is polled */
                strv_free(failed);
                failed = strv_copy(m->watched);
        }
        if (failed && !failed[0])
                failed = strv_free(failed);     /* none: NULL, as the comparisons below expect */
        if (dead == m->no_inotify && strv_equal(failed, m->unwatched))
                return;

        _cleanup_(freep) char *list = NULL;
        StrBuf b = {};
        STRV_FOREACH(d, failed)
                strbuf_printf(&b, "%s%s", d == failed ? "" : ", ", *d);
        list = strbuf_steal(&b);
        if (dead)
                log_warning("No inotify instance: polling every directory every %.1f s.", m->poll_usec / 1e6);
        else if (failed)
                log_warning("Cannot watch %zu directories, polling them every %.1f s: %s", strv_length(failed),
                            m->poll_usec / 1e6, strempty(list));
        else
                log_info("Every directory is watched again, polling stopped.");

        strv_free(m->unwatched);
        m->unwatched = TAKE_PTR(failed);
        m->no_inotify = dead;
        (void) bus_emit_unwatched_changed(m->bus);
        _cleanup_(freep) char *status = m->catalogue ? manager_status_text(m) : NULL;
        if (status)
                (void) sd_notifyf(false, "STATUS=%s", status);

        if (!m->unwatched && !m->no_inotify) {
                m->poll = sd_event_source_disable_unref(m->poll);
                return;
        }
        if (m->poll)
                return;
        m->retry_polls = m->polls_to_retry = 1;
        r = sd_event_add_time_relative(m->event, &m->poll, CLOCK_MONOTONIC, m->poll_usec, 0, on_poll, m);
        if (r < 0)
                log_warning_errno(r, "Failed to start polling: %m");
}
