/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <fcntl.h>
#include <unistd.h>

#include "util/chase.h"
#include "varstore-fit.h"

typedef struct Fits {
        const Entry **entries;
        size_t n;
} Fits;

static int add_fit(const Entry *e, bool included, void *userdata) {
        Fits *f = userdata;
        const Entry **grown;

        if (!included)
                return 0;
        grown = reallocarray(f->entries, f->n + 1, sizeof(Entry *));
        if (!grown)
                return -ENOMEM;
        f->entries = grown;
        f->entries[f->n++] = e;
        return 0;
}

int resolver_varstore_fits(const Catalogue *c, const Varstore *layout, const Entry ***ret, size_t *ret_n) {
        Request req = { .has_nvram = true, .nvram = *layout, .nvram_fd = -1 };
        Fits f = {};
        int r;

        r = resolver_filter(c, &req, add_fit, &f);
        if (r < 0) {
                free(f.entries);
                return r;
        }
        *ret = f.entries;
        *ret_n = f.n;
        return 0;
}

char *resolver_template_path(const Catalogue *c, const Entry *e) {
        const char *t = e->descriptor ? descriptor_vars_template(e->descriptor) : NULL;

        if (!t)
                return NULL;
        return c->root ? path_prefix_root(c->root, t) : strdup(t);
}

void template_report_cache_done(TemplateReportCache *cache) {
        free(cache->path);
        varstore_report_free(cache->report);
        *cache = (TemplateReportCache) {};
}

static bool same_file(const struct stat *a, const struct stat *b) {
        return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
                a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
                a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

int resolver_template_report(const Catalogue *c, const Entry *e, uint64_t now, TemplateReportCache *cache,
                             VarstoreReport **ret) {
        const char *t = e->descriptor ? descriptor_vars_template(e->descriptor) : NULL;
        _cleanup_(closep) int root_fd = -1, fd = -1;
        VarstoreReport *report = NULL;
        struct stat st;
        int r;

        if (!t)
                return -ENOENT;
        /* inside the root as the catalogue reads it: a symlink in a --root tree never leads out of it */
        root_fd = chase_root_open(c->root);
        if (root_fd < 0 && root_fd != AT_FDCWD)
                return root_fd;
        fd = chase_open(root_fd, t, O_RDONLY | O_NOCTTY | O_NONBLOCK);
        if (root_fd == AT_FDCWD)
                root_fd = -1;
        if (fd < 0)
                return fd;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (cache && cache->report && streq_ptr(cache->path, t) && same_file(&cache->st, &st)) {
                *ret = cache->report;
                return 0;
        }
        r = varstore_report_read_fd(fd, now, &report);
        if (r < 0)
                return r;
        if (!cache) {
                *ret = report;
                return 0;
        }
        template_report_cache_done(cache);
        cache->path = strdup(t);
        if (!cache->path) {
                varstore_report_free(report);
                return -ENOMEM;
        }
        cache->st = st;
        cache->report = report;
        *ret = report;
        return 0;
}
