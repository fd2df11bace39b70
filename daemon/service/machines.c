/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>

#include "util/log.h"
#include "machines.h"

struct Machines {
        sd_event *event;
        char **dirs;
        uint64_t timeout_usec;
        MachinesHandler handler;
        void *userdata;

        QemuMachines *current;
        uint64_t serial;                /* +1 each time current changes, if only in its binaries' identities */

        int inotify_fd;
        sd_event_source *inotify_source;

        /* the background probe: the thread writes result, then the eventfd */
        pthread_t thread;
        bool running, again;
        int done_fd;
        sd_event_source *done_source;
        QemuMachines *result;
        int result_error;
};

/* Says once, when it changes, what each architecture's aliases come from. */
static void log_changes(const QemuMachines *old, const QemuMachines *new) {
        for (int a = 0; a < _ARCH_MAX; a++) {
                const QemuArch *o = old ? &old->arch[a] : NULL, *n = &new->arch[a];
                StrBuf b = {};

                if (!n->binary) {
                        if (o && o->binary)
                                log_info("'%s' is gone, using the built-in machine aliases for %s.", o->binary,
                                         architecture_to_string(a));
                        continue;
                }
                if (o && streq_ptr(o->binary, n->binary) && streq_ptr(o->problem, n->problem) &&
                    streq_ptr(o->version, n->version))
                        continue;
                if (n->problem) {
                        log_warning("Not using the machine types of '%s': %s; using the built-in machine aliases "
                                    "for %s.", n->binary, n->problem, architecture_to_string(a));
                        continue;
                }
                for (size_t i = 0; i < n->n_aliases; i++)
                        strbuf_printf(&b, "%s%s=%s", i > 0 ? ", " : "", n->aliases[i].alias,
                                      n->aliases[i].machine);
                _cleanup_(freep) char *list = strbuf_steal(&b);
                log_info("Machine aliases for %s from QEMU %s ('%s'): %s.", architecture_to_string(a),
                         strna(n->version), n->binary, isempty(list) ? "none" : list);
        }
}

static void *probe_thread(void *userdata) {
        Machines *ms = userdata;
        uint64_t one = 1;

        /* current stays put while the thread runs: only the binaries that changed are asked again */
        ms->result_error = qemu_machines_probe_known(ms->dirs, ms->timeout_usec, ms->current, &ms->result);
        (void) write(ms->done_fd, &one, sizeof(one));
        return NULL;
}

static void start_probe(Machines *ms) {
        sigset_t all, old;
        int r;

        if (ms->running) {
                ms->again = true;
                return;
        }
        /* the thread takes no signals: they belong to the event loop */
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &old);
        r = pthread_create(&ms->thread, NULL, probe_thread, ms);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (r != 0) {
                log_warning_errno(r, "Failed to start asking QEMU for machine types again, keeping the old "
                                  "answer: %m");
                return;
        }
        ms->running = true;
        ms->again = false;
}

static int on_probe_done(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Machines *ms = userdata;
        uint64_t n;

        (void) read(fd, &n, sizeof(n));
        if (!ms->running)
                return 0;
        pthread_join(ms->thread, NULL);
        ms->running = false;

        if (ms->result_error < 0)
                log_warning_errno(ms->result_error, "Failed to ask QEMU for machine types, keeping the old "
                                  "answer: %m");
        else if (!qemu_machines_equal(ms->current, ms->result)) {
                log_changes(ms->current, ms->result);
                qemu_machines_free(ms->current);
                ms->current = TAKE_PTR(ms->result);
                ms->serial++;
                if (ms->handler)
                        ms->handler(ms, ms->userdata);
        } else {
                /* the same answers from other versions of the same binaries (touched, or rebuilt alike):
                 * current is lent out, so only what identifies the versions is taken over */
                for (int a = 0; a < _ARCH_MAX; a++) {
                        ms->current->arch[a].id = ms->result->arch[a].id;
                        ms->current->arch[a].settled = ms->result->arch[a].settled;
                }
                ms->serial++;
        }
        ms->result = qemu_machines_free(ms->result);
        if (ms->again)
                start_probe(ms);
        return 0;
}

void machines_refresh(Machines *ms) {
        if (!ms || strv_length(ms->dirs) == 0)
                return;
        if (ms->running || qemu_machines_outdated(ms->current))
                start_probe(ms);
}

static int on_inotify(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Machines *ms = userdata;
        char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
        bool relevant = false;
        ssize_t n;

        while ((n = read(fd, buf, sizeof(buf))) > 0)
                for (char *p = buf; p < buf + n;) {
                        const struct inotify_event *e = (const struct inotify_event *) p;

                        if ((e->mask & IN_Q_OVERFLOW) || (e->len > 0 && qemu_binary_name(e->name)))
                                relevant = true;
                        p += sizeof(struct inotify_event) + e->len;
                }
        if (relevant)
                machines_refresh(ms);
        return 0;
}

static int machines_watch(Machines *ms) {
        int r;

        ms->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (ms->inotify_fd < 0)
                return -errno;
        STRV_FOREACH(d, ms->dirs)
                if (inotify_add_watch(ms->inotify_fd, *d, IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM |
                                      IN_CLOSE_WRITE | IN_ATTRIB | IN_ONLYDIR) < 0 && errno != ENOENT)
                        log_warning_errno(errno, "Failed to watch '%s' for QEMU upgrades, ignoring: %m", *d);
        r = sd_event_add_io(ms->event, &ms->inotify_source, ms->inotify_fd, EPOLLIN, on_inotify, ms);
        if (r < 0)
                return r;
        ms->done_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (ms->done_fd < 0)
                return -errno;
        return sd_event_add_io(ms->event, &ms->done_source, ms->done_fd, EPOLLIN, on_probe_done, ms);
}

int machines_new(sd_event *event, char * const *dirs, uint64_t timeout_usec, const QemuMachines *known,
                 MachinesHandler handler, void *userdata, Machines **ret) {
        _cleanup_(machines_freep) Machines *ms = calloc(1, sizeof(Machines));
        int r;

        if (!ms)
                return -ENOMEM;
        *ms = (Machines) { .event = sd_event_ref(event), .timeout_usec = timeout_usec, .handler = handler,
                           .userdata = userdata, .inotify_fd = -1, .done_fd = -1 };
        ms->dirs = strv_copy(dirs);
        if (!ms->dirs)
                return -ENOMEM;
        r = qemu_machines_probe_known(ms->dirs, timeout_usec, known, &ms->current);
        if (r < 0)
                return r;
        log_changes(NULL, ms->current);
        if (strv_length(ms->dirs) > 0) {
                r = machines_watch(ms);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(ms);
        return 0;
}

const QemuMachines *machines_current(const Machines *ms) {
        return ms ? ms->current : NULL;
}

uint64_t machines_serial(const Machines *ms) {
        return ms ? ms->serial : 0;
}

Machines *machines_free(Machines *ms) {
        if (!ms)
                return NULL;
        if (ms->running)        /* bounded by the probe's timeout */
                pthread_join(ms->thread, NULL);
        qemu_machines_free(ms->result);
        qemu_machines_free(ms->current);
        sd_event_source_disable_unref(ms->inotify_source);
        sd_event_source_disable_unref(ms->done_source);
        if (ms->inotify_fd >= 0)
                close(ms->inotify_fd);
        if (ms->done_fd >= 0)
                close(ms->done_fd);
        sd_event_unref(ms->event);
        strv_free(ms->dirs);
        free(ms);
        return NULL;
}
