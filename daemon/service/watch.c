/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <dirent.h>
#include <fcntl.h>
#include <inotifytools/inotify.h>
#include <inotifytools/inotifytools.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/eventfd.h>

#include "watch.h"

#define DIRECTORY_EVENTS (IN_CREATE | IN_CLOSE_WRITE | IN_ATTRIB | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | \
                          IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)
/* past this many queued events, the rest is dropped and reported as lost: a rescan costs less */
#define EVENTS_QUEUED_MAX 65536U

struct Watch {
        sd_event_source *source;
        int event_fd;                   /* the thread tells the loop: events are waiting */
        int wake_pipe[2];               /* the loop tells the thread: new directories, or stop */
        WatchHandler handler;
        void *userdata;

        pthread_t thread;
        bool thread_started;
        pthread_mutex_t lock;

        /* shared, under lock */
        WatchEvent *events;
        size_t n_events, allocated_events;
        bool lost;
        char **wanted;                  /* directories with a trailing slash */
        bool wanted_changed;
        uint64_t wanted_version, applied_version;
        pthread_cond_t applied;         /* signalled when applied_version moves */
        char **errors;
        size_t n_watched;
        char **failed;                  /* wanted but not watched: the kernel refused (a limit), sorted */
        bool dead;                      /* no inotify instance: nothing is watched */
        bool stop;
        char *test_limit_file;          /* $FWREGISTRYD_TEST_INOTIFY_LIMIT: while it exists, act as at a limit */
        char *test_pause_file;          /* $FWREGISTRYD_TEST_WATCH_PAUSE: while it exists, read no events */

        /* the thread's own */
        char **watched;
};

void watch_events_free(WatchEvent *events, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(events[i].path);
                free(events[i].name);
        }
        free(events);
}

/* ---- the watcher thread -------------------------------------------------------------------------------- */

static void thread_error(Watch *w, const char *fmt, ...) _printf_(2, 3);
static void thread_error(Watch *w, const char *fmt, ...) {
        char *msg = NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        pthread_mutex_lock(&w->lock);
        (void) strv_consume(&w->errors, msg);
        pthread_mutex_unlock(&w->lock);
}

/* Queues an event (under the lock). Memory trouble or a flood turns into "events were lost". */
static void queue_event(Watch *w, const char *path, const char *name, uint32_t mask) {
        if (w->lost || w->n_events >= EVENTS_QUEUED_MAX) {
                w->lost = true;
                return;
        }
        if (w->n_events >= w->allocated_events) {
                size_t want = w->allocated_events ? w->allocated_events * 2 : 64;
                WatchEvent *n = realloc(w->events, want * sizeof(WatchEvent));
                if (!n) {
                        w->lost = true;
                        return;
                }
                w->events = n;
                w->allocated_events = want;
        }
        WatchEvent *e = &w->events[w->n_events];
        size_t len = path ? strlen(path) : 0;

        /* libinotifytools names directories with a trailing slash; callers know them without */
        *e = (WatchEvent) {
                .path = path ? strndup(path, len > 1 && path[len - 1] == '/' ? len - 1 : len) : NULL,
                .name = name ? strdup(name) : NULL,
                .mask = mask,
        };
        if ((path && !e->path) || (name && !e->name)) {
                free(e->path);
                free(e->name);
                w->lost = true;
                return;
        }
        w->n_events++;
}

static void notify_loop(Watch *w) {
        uint64_t one = 1;
        (void) !write(w->event_fd, &one, sizeof(one));
}

static void report(Watch *w, const char *path, const char *name, uint32_t mask) {
        pthread_mutex_lock(&w->lock);
        queue_event(w, path, name, mask);
        pthread_mutex_unlock(&w->lock);
        notify_loop(w);
}

/* For the test suite: whether the kernel limit the test file names ("watches" or "instances") is to be
 * acted out now. The real limits are shared by every process of the user. */
static bool test_limit(Watch *w, const char *which) {
        char buf[64] = {};
        int fd;

        if (!w->test_limit_file)
                return false;
        fd = open(w->test_limit_file, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return false;
        (void) !read(fd, buf, sizeof(buf) - 1);
        close(fd);
        return strstr(buf, which);
}

/* For the test suite: while the file exists, the thread reads no events, as if it were not scheduled for that
 * long, so that they pile up in the kernel's queue until it overflows. "FILE.paused" exists while it waits. */
static void test_pause(Watch *w) {
        _cleanup_(freep) char *ack = NULL;
        int fd;

        if (!w->test_pause_file || access(w->test_pause_file, F_OK) < 0)
                return;
        ack = strdup_printf("%s.paused", w->test_pause_file);
        fd = ack ? open(ack, O_WRONLY | O_CREAT | O_CLOEXEC, 0644) : -1;
        if (fd >= 0)
                close(fd);
        while (access(w->test_pause_file, F_OK) == 0)
                (void) usleep(10 * 1000);
        if (ack)
                (void) unlink(ack);
}

static bool watch_directory(Watch *w, const char *dir) {
        if (test_limit(w, "watches")) {
                errno = ENOSPC;
                return false;
        }
        if (!inotifytools_watch_file(dir, DIRECTORY_EVENTS)) {
                errno = inotifytools_error();
                return false;
        }
        return true;
}

static int string_ptr_compare(const void *a, const void *b) {
        return strcmp(*(char * const *) a, *(char * const *) b);
}

/* Brings the watches in line with w->wanted. Runs on the thread, with the wanted list copied out. */
static void apply_wanted(Watch *w, char **wanted) {
        _cleanup_(strv_freep) char **failed = NULL, **previous = NULL;
        bool oom = false;

        pthread_mutex_lock(&w->lock);
        previous = TAKE_PTR(w->failed);
        pthread_mutex_unlock(&w->lock);
        for (size_t i = 0; w->watched && w->watched[i];) {
                if (strv_contains(wanted, w->watched[i])) {
                        i++;
                        continue;
                }
                (void) inotifytools_remove_watch_by_filename(w->watched[i]);
                free(w->watched[i]);
                memmove(&w->watched[i], &w->watched[i + 1], (strv_length(w->watched + i + 1) + 1) * sizeof(char *));
        }
        STRV_FOREACH(d, wanted) {
                if (strv_contains(w->watched, *d))
                        continue;
                if (!watch_directory(w, *d)) {
                        int e = errno;
                        _cleanup_(freep) char *dir = strndup(*d, strlen(*d) > 1 ? strlen(*d) - 1 : 1);

                        /* gone meanwhile: the manager looks again. Anything else (the watch limit) is
                         * reported once, and the manager polls the directory until a retry succeeds. */
                        if (e == ENOENT || e == ENOTDIR) {
                                report(w, *d, NULL, IN_IGNORED);
                                continue;
                        }
                        if (!dir || strv_consume(&failed, TAKE_PTR(dir)) < 0) {
                                oom = true;
                                continue;
                        }
                        if (!strv_contains(previous, failed[strv_length(failed) - 1]))
                                thread_error(w, "Failed to watch '%s': %s", *d, strerror(e));
                        continue;
                }
                if (strv_extend(&w->watched, *d) < 0)
                        thread_error(w, "Out of memory while watching '%s'", *d);
                /* whatever happened there before this moment was not seen: say so */
                report(w, *d, NULL, 0);
        }
        if (failed)
                qsort(failed, strv_length(failed), sizeof(char *), string_ptr_compare);
        if (oom)
                thread_error(w, "Out of memory while listing the directories that could not be watched");
        pthread_mutex_lock(&w->lock);
        w->n_watched = strv_length(w->watched);
        w->failed = TAKE_PTR(failed);
        pthread_mutex_unlock(&w->lock);
        notify_loop(w);         /* the manager looks at the failed set */
}

/* Handles a wake-up from the loop. Returns false when the thread is to stop. */
static bool handle_wake(Watch *w) {
        char buf[256];
        char **wanted = NULL;
        uint64_t version;
        bool stop, changed;

        while (read(w->wake_pipe[0], buf, sizeof(buf)) > 0)
                ;
        pthread_mutex_lock(&w->lock);
        stop = w->stop;
        changed = w->wanted_changed;
        version = w->wanted_version;
        if (changed) {
                wanted = w->wanted;
                w->wanted = NULL;
                w->wanted_changed = false;
        }
        pthread_mutex_unlock(&w->lock);
        if (changed && !stop)
                apply_wanted(w, wanted);
        strv_free(wanted);

        pthread_mutex_lock(&w->lock);
        w->applied_version = version;
        pthread_cond_broadcast(&w->applied);
        pthread_mutex_unlock(&w->lock);
        return !stop;
}

/* A watched directory is gone: the kernel dropped its watch, so it must be set up again when it is back. */
static void forget_watch(Watch *w, const char *path) {
        for (size_t i = 0; w->watched && w->watched[i]; i++)
                if (streq(w->watched[i], path)) {
                        free(w->watched[i]);
                        memmove(&w->watched[i], &w->watched[i + 1],
                                (strv_length(w->watched + i + 1) + 1) * sizeof(char *));
                        break;
                }
}

/* The watched directory left its path: deleted (the kernel dropped the watch) or moved away (the watch
 * would follow it). It is forgotten before the manager hears of it, so that when the manager asks for the
 * path again, a new directory there is watched anew. Both are reported as IN_IGNORED. */
static void report_gone(Watch *w, const struct inotify_event *ev, const char *path) {
        _cleanup_(freep) char *copy = strdup(path);

        if (ev->mask & IN_MOVE_SELF)
                (void) inotifytools_remove_watch_by_wd(ev->wd);        /* frees path */
        if (!copy) {
                report(w, NULL, NULL, IN_Q_OVERFLOW);
                return;
        }
        forget_watch(w, copy);
        report(w, copy, NULL, ev->mask | IN_IGNORED);
}

/* libinotifytools creates its inotify fd without IN_CLOEXEC and does not say which fd it is. Other inotify fds
 * may come before it (the QEMU binaries' watch), so none is taken for it: every inotify fd of the process is
 * made close-on-exec, which the others already are. Returns 0, -ENOENT when there is none, or the first error. */
static int inotify_fd_set_cloexec(void) {
        DIR *d = opendir("/proc/self/fd");
        struct dirent *de;
        int r = -ENOENT;

        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                char path[64], target[64];
                ssize_t n;
                int fd;

                if (de->d_name[0] == '.')
                        continue;
                fd = atoi(de->d_name);
                snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
                n = readlink(path, target, sizeof(target) - 1);
                if (n < 0)
                        continue;
                target[n] = 0;
                if (!streq(target, "anon_inode:inotify"))
                        continue;
                if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
                        if (r >= 0 || r == -ENOENT)
                                r = -errno;
                } else if (r == -ENOENT)
                        r = 0;
        }
        closedir(d);
        return r;
}

/* No inotify instance (any more): said before the loop is woken up about it, so it sees the whole state. */
static void set_dead(Watch *w) {
        pthread_mutex_lock(&w->lock);
        w->dead = true;
        pthread_mutex_unlock(&w->lock);
}

static void *watch_thread(void *userdata) {
        Watch *w = userdata;
        char wake_path[64];
        int wake_wd, r;

        if (test_limit(w, "instances") || !inotifytools_initialize()) {
                thread_error(w, "Failed to initialize inotify: %s",
                             strerror(test_limit(w, "instances") ? EMFILE : inotifytools_error()));
                set_dead(w);
                report(w, NULL, NULL, IN_Q_OVERFLOW);
                goto finish;
        }
        r = inotify_fd_set_cloexec();
        if (r < 0)
                thread_error(w, "Failed to make the inotify fd close-on-exec: %s", strerror(-r));
        /* a write to the pipe is an inotify event on the pipe: the loop can wake us without a race */
        snprintf(wake_path, sizeof(wake_path), "/proc/self/fd/%d", w->wake_pipe[0]);
        if (!inotifytools_watch_file(wake_path, IN_MODIFY)) {
                thread_error(w, "Failed to watch the wake-up pipe: %s", strerror(inotifytools_error()));
                inotifytools_cleanup();
                set_dead(w);
                report(w, NULL, NULL, IN_Q_OVERFLOW);
                goto finish;
        }
        wake_wd = inotifytools_wd_from_filename(wake_path);

        for (bool running = handle_wake(w); running;) {
                test_pause(w);
                struct inotify_event *ev = inotifytools_next_events(-1, 1);

                if (!ev) {
                        int e = inotifytools_error();
                        if (e == 0 || e == EINTR)
                                continue;
                        thread_error(w, "Failed to read inotify events: %s", strerror(e));
                        set_dead(w);
                        report(w, NULL, NULL, IN_Q_OVERFLOW);
                        break;
                }
                if (ev->wd == wake_wd) {
                        running = handle_wake(w);
                        continue;
                }
                if (ev->mask & IN_Q_OVERFLOW) {
                        report(w, NULL, NULL, IN_Q_OVERFLOW);
                        /* the queue was full, and the pipe's IN_MODIFY may be among the events it dropped: a
                         * new watch set, or the order to stop, would then wait for ever. The overflow event
                         * is the last of a full queue, so what the loop asked before it is seen now, and what
                         * it asks after wakes us again. */
                        running = handle_wake(w);
                        continue;
                }
                const char *path = inotifytools_filename_from_wd(ev->wd);
                if (!path)
                        continue;       /* a watch we already removed */
                if (ev->mask & (IN_IGNORED | IN_MOVE_SELF))
                        report_gone(w, ev, path);
                else
                        report(w, path, ev->len > 0 ? ev->name : NULL, ev->mask);
        }
        inotifytools_cleanup();
        strv_free(w->watched);
        w->watched = NULL;
finish:
        /* nobody waits for a thread that is gone */
        pthread_mutex_lock(&w->lock);
        w->dead = w->dead || !w->stop;
        w->applied_version = UINT64_MAX;
        pthread_cond_broadcast(&w->applied);
        pthread_mutex_unlock(&w->lock);
        return NULL;
}

/* ---- the loop's side ----------------------------------------------------------------------------------- */

static int on_event_fd(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Watch *w = userdata;
        uint64_t n;

        (void) !read(fd, &n, sizeof(n));
        w->handler(w, w->userdata);
        return 0;
}

static void wake_thread(Watch *w) {
        (void) !write(w->wake_pipe[1], "x", 1);
}

int watch_new(sd_event *event, WatchHandler handler, void *userdata, Watch **ret) {
        _cleanup_(watch_freep) Watch *w = NULL;
        int r;

        w = calloc(1, sizeof(Watch));
        if (!w)
                return -ENOMEM;
        w->event_fd = w->wake_pipe[0] = w->wake_pipe[1] = -1;
        w->handler = handler;
        w->userdata = userdata;
        pthread_mutex_init(&w->lock, NULL);
        pthread_cond_init(&w->applied, NULL);
        const char *limit = getenv("FWREGISTRYD_TEST_INOTIFY_LIMIT");
        if (limit) {
                w->test_limit_file = strdup(limit);
                if (!w->test_limit_file)
                        return -ENOMEM;
        }
        const char *pause = getenv("FWREGISTRYD_TEST_WATCH_PAUSE");
        if (pause) {
                w->test_pause_file = strdup(pause);
                if (!w->test_pause_file)
                        return -ENOMEM;
        }

        w->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (w->event_fd < 0)
                return -errno;
        if (pipe2(w->wake_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
                return -errno;
        r = sd_event_add_io(event, &w->source, w->event_fd, EPOLLIN, on_event_fd, w);
        if (r < 0)
                return r;
        /* changes are taken in before more bus calls are answered */
        r = sd_event_source_set_priority(w->source, SD_EVENT_PRIORITY_IMPORTANT);
        if (r < 0)
                return r;
        r = -pthread_create(&w->thread, NULL, watch_thread, w);
        if (r < 0)
                return r;
        w->thread_started = true;

        *ret = TAKE_PTR(w);
        return 0;
}

Watch *watch_free(Watch *w) {
        if (!w)
                return NULL;
        if (w->thread_started) {
                pthread_mutex_lock(&w->lock);
                w->stop = true;
                pthread_mutex_unlock(&w->lock);
                wake_thread(w);
                pthread_join(w->thread, NULL);
        }
        sd_event_source_disable_unref(w->source);
        if (w->event_fd >= 0)
                close(w->event_fd);
        for (int i = 0; i < 2; i++)
                if (w->wake_pipe[i] >= 0)
                        close(w->wake_pipe[i]);
        watch_events_free(w->events, w->n_events);
        strv_free(w->wanted);
        strv_free(w->errors);
        strv_free(w->failed);
        free(w->test_limit_file);
        free(w->test_pause_file);
        pthread_cond_destroy(&w->applied);
        pthread_mutex_destroy(&w->lock);
        free(w);
        return NULL;
}

int watch_set_directories(Watch *w, char * const *dirs, bool wait) {
        _cleanup_(strv_freep) char **wanted = NULL;
        uint64_t version;

        wanted = calloc(strv_length(dirs) + 1, sizeof(char *));
        if (!wanted)
                return -ENOMEM;
        for (size_t i = 0; dirs && dirs[i]; i++) {
                wanted[i] = endswith(dirs[i], "/") ? strdup(dirs[i]) : strdup_printf("%s/", dirs[i]);
                if (!wanted[i])
                        return -ENOMEM;
        }
        pthread_mutex_lock(&w->lock);
        strv_free(w->wanted);
        w->wanted = TAKE_PTR(wanted);
        w->wanted_changed = true;
        version = ++w->wanted_version;
        pthread_mutex_unlock(&w->lock);
        wake_thread(w);

        if (wait) {
                pthread_mutex_lock(&w->lock);
                while (w->applied_version < version)
                        pthread_cond_wait(&w->applied, &w->lock);
                pthread_mutex_unlock(&w->lock);
        }
        return 0;
}

int watch_take_events(Watch *w, WatchEvent **ret, size_t *ret_n) {
        WatchEvent *events;
        size_t n;
        bool lost;

        pthread_mutex_lock(&w->lock);
        events = w->events;
        n = w->n_events;
        lost = w->lost;
        w->events = NULL;
        w->n_events = w->allocated_events = 0;
        w->lost = false;
        pthread_mutex_unlock(&w->lock);

        if (lost) {
                /* whatever was dropped: one "lost" marker at the end says it all */
                WatchEvent *e = realloc(events, sizeof(WatchEvent) * (n + 1));
                if (!e) {
                        watch_events_free(events, n);
                        return -ENOMEM;
                }
                events = e;
                events[n++] = (WatchEvent) { .mask = IN_Q_OVERFLOW };
        }
        *ret = events;
        *ret_n = n;
        return 0;
}

char **watch_take_errors(Watch *w) {
        char **l;

        pthread_mutex_lock(&w->lock);
        l = TAKE_PTR(w->errors);
        pthread_mutex_unlock(&w->lock);
        return l;
}

size_t watch_count(Watch *w) {
        size_t n;

        pthread_mutex_lock(&w->lock);
        n = w->n_watched;
        pthread_mutex_unlock(&w->lock);
        return n;
}

char **watch_failed(Watch *w, bool *ret_dead) {
        char **l;

        pthread_mutex_lock(&w->lock);
        l = strv_copy(w->failed);
        *ret_dead = w->dead;
        pthread_mutex_unlock(&w->lock);
        return l;
}
