/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <fcntl.h>
#include <sys/stat.h>

#include "config.h"
#include "catalogue/facts-cache.h"
#include "util/cache-file.h"
#include "util/log.h"
#include "manager.h"

struct ManagerCache {
        char *path;                     /* dir/FACTS_CACHE_NAME, for messages */
        int dir_fd;                     /* -1: the directory cannot be used, nothing is read or written */
        ImageCache *images;             /* seeded with the file's facts, shared by every catalogue */
        FactsCache *hints;              /* what the file held; its images are in images too */
        size_t n_qemu_hints;
        uint64_t written_images;        /* image_cache_serial() of what the file holds */
        uint64_t written_machines;      /* machines_serial() likewise */
        bool stale;                     /* the file is missing, refused or out of date: write it */
        bool write_failed;              /* said once; said again only when it works again */
        sd_event_source *timer;
};

ManagerCache *manager_cache_free(ManagerCache *mc) {
        if (!mc)
                return NULL;
        sd_event_source_disable_unref(mc->timer);
        if (mc->dir_fd >= 0)
                close(mc->dir_fd);
        image_cache_unref(mc->images);
        facts_cache_free(mc->hints);
        free(mc->path);
        free(mc);
        return NULL;
}

int manager_cache_default_dir(bool user, char **ret) {
        const char *systemd = getenv("CACHE_DIRECTORY"), *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
        char *dir;

        if (!isempty(systemd))  /* several CacheDirectory= are joined by ':': the first is ours */
                dir = strndup(systemd, strcspn(systemd, ":"));
        else if (!user)
                dir = strdup("/var/cache/fwregistryd");
        else if (!isempty(xdg) && xdg[0] == '/')
                dir = path_join(xdg, "fwregistryd");
        else if (!isempty(home) && home[0] == '/')
                dir = strdup_printf("%s/.cache/fwregistryd", home);
        else
                return -ENXIO;
        if (!dir)
                return -ENOMEM;
        *ret = dir;
        return 0;
}

/* Opens dir, making it (and, for the user instance, its parent: ~/.cache) when it is missing. */
static int cache_dir_open(const char *dir, bool user) {
        mode_t mode = user ? 0700 : 0755;
        int fd;

        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0 || errno != ENOENT)
                return fd >= 0 ? fd : -errno;
        if (mkdir(dir, mode) < 0 && errno == ENOENT && user) {
                _cleanup_(freep) char *parent = strdup(dir);
                char *slash = parent ? strrchr(parent, '/') : NULL;

                if (!parent)
                        return -ENOMEM;
                if (slash && slash != parent) {
                        *slash = 0;
                        (void) mkdir(parent, 0700);
                }
                (void) mkdir(dir, mode);
        }
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        return fd >= 0 ? fd : -errno;
}

/* Reads the file into mc->hints and seeds mc->images. Everything but ENOMEM is logged and survived. */
static int cache_read(ManagerCache *mc) {
        _cleanup_(freep) uint8_t *data = NULL;
        _cleanup_(freep) char *why = NULL;
        const uint8_t *payload;
        size_t size;
        int r;

        r = cache_file_read(mc->dir_fd, FACTS_CACHE_NAME, FACTS_CACHE_VERSION, &data, &payload, &size, &why);
        if (r == -ENOENT) {
                log_debug("No cache file '%s' yet.", mc->path);
                return 0;
        }
        if (r == -ENOMEM)
                return r;
        if (r == -EPERM)        /* not ours: someone put it there */
                log_warning("Cache file '%s' is %s, not using it.", mc->path, strna(why));
        else if (r == -EBADMSG)
                log_notice("Cache file '%s' is unusable (%s), learning its facts again.", mc->path, strna(why));
        else if (r < 0)
                log_notice("Failed to read cache file '%s', learning its facts again: %s", mc->path,
                           strerror(-r));
        if (r < 0)
                return 0;

        r = facts_cache_decode(payload, size, &mc->hints);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                log_notice("Cache file '%s' holds malformed records, learning its facts again.", mc->path);
                return 0;
        }
        if (!streq(mc->hints->producer, PACKAGE_VERSION)) {
                /* a newer daemon may compute a fact otherwise without a format change: learn them again */
                log_notice("Cache file '%s' was written by fwregistryd %s, learning its facts again.", mc->path,
                           mc->hints->producer);
                mc->hints = facts_cache_free(mc->hints);
                return 0;
        }
        r = image_cache_add_hints(mc->images, mc->hints->images, mc->hints->n_images);
        if (r < 0)
                return r;       /* duplicates were refused by the decoder: only ENOMEM is left */
        for (int a = 0; a < _ARCH_MAX; a++)
                mc->n_qemu_hints += mc->hints->qemu->arch[a].binary != NULL;
        mc->stale = false;
        return 0;
}

int manager_cache_open(Manager *m) {
        _cleanup_(manager_cache_freep) ManagerCache *mc = NULL;
        int r;

        if (!m->cache_dir)
                return 0;
        mc = calloc(1, sizeof(ManagerCache));
        if (!mc)
                return -ENOMEM;
        *mc = (ManagerCache) { .dir_fd = -1, .stale = true };
        mc->path = path_join(m->cache_dir, FACTS_CACHE_NAME);
        if (!mc->path)
                return -ENOMEM;
        r = image_cache_new(&mc->images);
        if (r < 0)
                return r;
        mc->dir_fd = cache_dir_open(m->cache_dir, m->user);
        if (mc->dir_fd == -ENOMEM)
                return -ENOMEM;
        if (mc->dir_fd < 0) {
                log_warning_errno(mc->dir_fd, "Cannot use the cache directory '%s', serving without a cache: %m",
                                  m->cache_dir);
                mc->dir_fd = -1;
        } else {
                r = cache_read(mc);
                if (r < 0)
                        return r;
        }
        m->cache = TAKE_PTR(mc);
        return 0;
}

ImageCache *manager_cache_images(Manager *m) {
        return m->cache ? m->cache->images : NULL;
}

const QemuMachines *manager_cache_known(Manager *m) {
        return m->cache && m->cache->hints ? m->cache->hints->qemu : NULL;
}

/* Writes what the file would hold now. Failures are said once, until a write works again. */
static void cache_write(Manager *m) {
        ManagerCache *mc = m->cache;
        uint64_t images = image_cache_serial(mc->images), machines = machines_serial(m->machines);
        size_t n = image_cache_size(mc->images), size = 0;
        _cleanup_(freep) const ImageFacts **facts = calloc(n ?: 1, sizeof(ImageFacts *));
        _cleanup_(freep) uint8_t *payload = NULL;
        int r = -ENOMEM;

        for (size_t i = 0; facts && i < n; i++)
                facts[i] = image_cache_at(mc->images, i);
        if (facts)
                r = facts_cache_encode(PACKAGE_VERSION, facts, n, machines_current(m->machines),
                                       CACHE_FILE_SIZE_MAX - CACHE_FILE_HEADER_SIZE, &payload, &size);
        if (r >= 0)
                r = cache_file_write(mc->dir_fd, FACTS_CACHE_NAME, FACTS_CACHE_VERSION, payload, size);
        if (r < 0) {
                if (!mc->write_failed)
                        log_warning_errno(r, "Failed to write cache file '%s', serving without it: %m", mc->path);
                mc->write_failed = true;
                return;
        }
        if (mc->write_failed)
                log_info("Cache file '%s' written again.", mc->path);
        else
                log_debug("Wrote cache file '%s' (%zu bytes).", mc->path, size + CACHE_FILE_HEADER_SIZE);
        mc->write_failed = mc->stale = false;
        mc->written_images = images;
        mc->written_machines = machines;
}

static bool cache_due(Manager *m) {
        ManagerCache *mc = m->cache;

        return mc && mc->dir_fd >= 0 && (mc->stale || mc->written_images != image_cache_serial(mc->images) ||
                                         mc->written_machines != machines_serial(m->machines));
}

static int on_write_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        m->cache->timer = sd_event_source_disable_unref(m->cache->timer);
        if (cache_due(m))
                cache_write(m);
        return 0;
}

void manager_cache_changed(Manager *m) {
        int r;

        if (!cache_due(m) || m->cache->timer)
                return;
        r = sd_event_add_time_relative(m->event, &m->cache->timer, CLOCK_MONOTONIC, MANAGER_CACHE_WRITE_DELAY_USEC,
                                       0, on_write_timer, m);
        if (r >= 0)     /* whatever waits, calls come first */
                r = sd_event_source_set_priority(m->cache->timer, SD_EVENT_PRIORITY_IDLE);
        if (r < 0) {
                m->cache->timer = sd_event_source_disable_unref(m->cache->timer);
                cache_write(m);
        }
}

void manager_cache_loaded(Manager *m) {
        ManagerCache *mc = m->cache;
        const QemuMachines *q = machines_current(m->machines);
        size_t n_answers = 0, n_reused = q ? q->n_reused : 0;

        if (!mc)
                return;
        for (int a = 0; q && a < _ARCH_MAX; a++)
                n_answers += qemu_machines_arch(q, a) != NULL;
        /* what the first build made of the file: the system suite and the tests read this line */
        log_debug("Reused %" PRIu64 " of %zu image facts and %zu of %zu QEMU answers from the cache file '%s'; "
                  "%" PRIu64 " images hashed, %zu QEMU binaries asked.", image_cache_n_reused(mc->images),
                  mc->hints ? mc->hints->n_images : 0, n_reused, mc->n_qemu_hints, mc->path,
                  image_cache_n_hashed(mc->images), n_answers - n_reused);
        /* written again when the file was missing, refused or out of date, or something was learned anew */
        mc->stale = mc->stale || image_cache_n_hashed(mc->images) > 0 || n_reused < n_answers;
        mc->written_images = image_cache_serial(mc->images);
        mc->written_machines = machines_serial(m->machines);
        manager_cache_changed(m);
}

void manager_cache_flush(Manager *m) {
        if (!cache_due(m))
                return;
        m->cache->timer = sd_event_source_disable_unref(m->cache->timer);
        cache_write(m);
}
