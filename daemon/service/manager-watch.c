/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <limits.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>

#include "bus/bus.h"
#include "util/chase.h"
#include "util/log.h"
#include "manager-watch.h"

static char *root_link_target(const char *root, const char *path);

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
        if (l)
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
        const char *last[2] = {};

        /* every rebuild of a storm's parts runs this: each distinct file is looked at once, since with a
         * root that costs system calls; and neighbours in rank order mostly name the same files, so a
         * comparison with the last entry's spares most lookups in the set */
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

                        if (!files[k] || streq_ptr(files[k], last[k]))
                                continue;
                        last[k] = files[k];
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
int manager_update_watches(Manager *m, bool wait, bool recollect) {
        _cleanup_(strv_freep) char **wanted = NULL, **images = NULL, **targets = NULL, **entries = NULL;
        int r;

        if (!m->watch)
                return 0;
        if (m->catalogue && recollect) {        /* before the first scan: the search directories only */
                r = collect_image_dirs(m, &images);
                if (r >= 0)
                        r = collect_links(m, &targets, &entries);
                if (r < 0)
                        return log_oom();
        } else if (m->catalogue) {
                /* the entries are as they were: so are their images and links, but not which of the
                 * directories exist */
                images = strv_copy(m->image_dirs);
                targets = strv_copy(m->link_targets);
                entries = strv_copy(m->link_entries);
                if ((m->image_dirs && !images) || (m->link_targets && !targets) || (m->link_entries && !entries))
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

static bool strv_sorted_contains(char **l, const char *s) {
        return l && bsearch(&s, l, strv_length(l), sizeof(char *), string_compare);
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

void manager_on_watch_events(Watch *w, void *userdata) {
        Manager *m = userdata;
        _cleanup_(strv_freep) char **errors = watch_take_errors(w);
        WatchEvent *events = NULL;
        size_t n = 0;
        int r;

        STRV_FOREACH(e, errors)
                log_warning("%s", *e);
        manager_check_watches(m);
        r = watch_take_events(w, &events, &n);
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = manager_classify_event(m, &events[i]);
        watch_events_free(events, n);
        if (r < 0) {
                log_oom();
                m->pending_full = true;
        }
        manager_arm_debounce(m);
}

/* ---- polling what cannot be watched -------------------------------------------------------------------- */

/* Starts a new watcher when there is none (no inotify instance), or sends the watch set again: the watcher
 * tries every directory it does not watch yet. */
static void retry_watches(Manager *m) {
        int r;

        if (m->no_inotify || !m->watch) {
                m->watch = watch_free(m->watch);
                r = watch_new(m->event, manager_on_watch_events, m, &m->watch);
                if (r < 0) {
                        log_warning_errno(r, "Failed to start watching directories again: %m");
                        return;
                }
                /* waits until the new watcher has its watches or has failed: what manager_check_watches() then
                 * sees is its real state */
                m->watched = strv_free(m->watched);
                (void) manager_update_watches(m, true, true);
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
        manager_check_watches(m);
        if (!m->poll)
                return 0;               /* nothing left to poll: the source is gone */
        /* changes there were not seen: a full rescan finds them, at most one interval late */
        m->pending_full = true;
        manager_arm_debounce(m);
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
void manager_check_watches(Manager *m) {
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
