/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>

#include "util/chase.h"
#include "image.h"

FileId file_id_from_stat(const struct stat *st) {
        return (FileId) {
                .dev = st->st_dev,
                .ino = st->st_ino,
                .size = st->st_size,
                .mtime_nsec = (int64_t) st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec,
                .ctime_nsec = (int64_t) st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec,
        };
}

bool file_id_equal(const FileId *a, const FileId *b) {
        return a->dev == b->dev && a->ino == b->ino && a->size == b->size && a->mtime_nsec == b->mtime_nsec &&
               a->ctime_nsec == b->ctime_nsec;
}

int64_t file_id_clock_nsec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

bool file_id_settled(const FileId *id, int64_t since_nsec) {
        /* ctime, not mtime: the kernel sets it on every write, and utimensat() cannot set it back. A ctime
         * ahead of the clock (the clock was set back) is not settled either. */
        return id->ctime_nsec < since_nsec - FILE_ID_SETTLE_NSEC;
}

ImageFacts *image_facts_new(void) {
        ImageFacts *f = calloc(1, sizeof(ImageFacts));

        if (f)
                f->n_ref = 1;
        return f;
}

ImageFacts *image_facts_ref(ImageFacts *f) {
        if (f)
                f->n_ref++;
        return f;
}

ImageFacts *image_facts_unref(ImageFacts *f) {
        if (f && --f->n_ref == 0) {
                strv_free(f->certificates);
                free(f);
        }
        return NULL;
}

static bool strv_same(char * const *a, char * const *b) {
        size_t i = 0;

        for (; a && b && a[i] && b[i]; i++)
                if (!streq(a[i], b[i]))
                        return false;
        return (!a || !a[i]) && (!b || !b[i]);
}

bool image_facts_same_content(const ImageFacts *a, const ImageFacts *b) {
        if (!a || !b)
                return a == b;
        return a->size == b->size && streq(a->sha256, b->sha256) && a->varstore.format == b->varstore.format &&
               a->varstore.size == b->varstore.size && a->varstore.volume_size == b->varstore.volume_size &&
               a->secure_boot == b->secure_boot && strv_same(a->certificates, b->certificates);
}

bool image_facts_has_certificate(const ImageFacts *f, const char *id) {
        size_t n = strlen(id);

        if (!f)
                return false;
        /* each is "<database>:<id>", and only PK, KEK and db are kept */
        STRV_FOREACH(c, f->certificates) {
                const char *colon = strchr(*c, ':');
                if (colon && strlen(colon + 1) == n && memcmp(colon + 1, id, n) == 0)
                        return true;
        }
        return false;
}

/* The Secure Boot state and certificates of a varstore, read again through fd with pread() (the head the
 * layout came from is not enough: the variables fill the whole volume). A file whose layout has no variables
 * is not read. Returns 0 or -ENOMEM; a store that cannot be read has no state and no certificates. */
static int read_keys(int fd, ImageFacts *f) {
        _cleanup_(varstore_report_freep) VarstoreReport *report = NULL;
        int r;

        if (!varstore_is_edk2(&f->varstore) && f->varstore.format != VARSTORE_JSON)
                return 0;
        /* expiry is not among the facts, so the date does not matter */
        r = varstore_report_read_fd(fd, 0, &report);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return 0;
        f->secure_boot = report->secure_boot;
        return varstore_report_certificate_ids(report, &f->certificates);
}

static void evp_md_ctx_freep(EVP_MD_CTX **c) {
        EVP_MD_CTX_free(*c);
}

#define IMAGE_READ_CHUNK (1024U * 1024U)

/* Feeds the file to the digest (when there is one) and keeps its head. Returns the bytes read or -errno. */
static int64_t read_and_hash(int fd, EVP_MD_CTX *ctx, uint8_t *head, size_t *ret_head) {
        _cleanup_(freep) uint8_t *buf = malloc(IMAGE_READ_CHUNK);
        uint64_t total = 0;
        size_t n_head = 0;

        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t n = read(fd, buf, IMAGE_READ_CHUNK);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                if (n_head < VARSTORE_HEAD_MAX) {
                        size_t k = VARSTORE_HEAD_MAX - n_head;

                        if (k > (size_t) n)
                                k = (size_t) n;
                        memcpy(head + n_head, buf, k);
                        n_head += k;
                }
                if (ctx && EVP_DigestUpdate(ctx, buf, (size_t) n) != 1)
                        return -EIO;
                total += (uint64_t) n;
                if (!ctx && n_head >= VARSTORE_HEAD_MAX)
                        break;          /* not hashed: the head is all that is wanted */
        }
        *ret_head = n_head;
        return (int64_t) total;
}

int image_facts_compute(int fd, const struct stat *st, ImageFacts **ret) {
        _cleanup_(evp_md_ctx_freep) EVP_MD_CTX *ctx = NULL;
        _cleanup_(image_facts_unrefp) ImageFacts *f = NULL;
        _cleanup_(freep) uint8_t *head = malloc(VARSTORE_HEAD_MAX);
        bool hash = (uint64_t) st->st_size <= IMAGE_HASH_SIZE_MAX;
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned md_len = 0;
        size_t n_head = 0;
        int64_t total;
        int r;

        f = image_facts_new();
        if (!f || !head)
                return -ENOMEM;
        if (hash) {
                ctx = EVP_MD_CTX_new();
                if (!ctx)
                        return -ENOMEM;
                if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
                        return -EIO;
        }
        (void) posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
        total = read_and_hash(fd, ctx, head, &n_head);
        if (total < 0)
                return (int) total;
        if (hash) {
                if (EVP_DigestFinal_ex(ctx, md, &md_len) != 1 || md_len != 32)
                        return -EIO;
                for (unsigned i = 0; i < md_len; i++)
                        snprintf(f->sha256 + 2 * i, 3, "%02x", md[i]);
        }
        f->id = file_id_from_stat(st);
        /* what was read is the truth for a file that changed meanwhile; a later event brings the rest */
        f->size = hash ? (uint64_t) total : (uint64_t) st->st_size;
        f->varstore = varstore_parse(head, n_head, f->size);
        r = read_keys(fd, f);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(f);
        return 0;
}

struct ImageCache {
        unsigned n_ref;
        ImageFacts **items;
        size_t n_items, allocated;
        size_t *slots;                  /* index + 1 into items, 0 for empty; open addressing by dev and ino */
        size_t n_slots;                 /* a power of two, at least twice n_items */
        uint64_t n_hashed;
        uint64_t n_reused;
        uint64_t serial;
        ImageFacts **hints;             /* from an earlier run, sorted by dev and ino */
        size_t n_hints;
};

int image_cache_new(ImageCache **ret) {
        ImageCache *c = calloc(1, sizeof(ImageCache));

        if (!c)
                return -ENOMEM;
        c->n_ref = 1;
        *ret = c;
        return 0;
}

ImageCache *image_cache_ref(ImageCache *c) {
        if (c)
                c->n_ref++;
        return c;
}

ImageCache *image_cache_unref(ImageCache *c) {
        if (!c || --c->n_ref > 0)
                return NULL;
        for (size_t i = 0; i < c->n_items; i++)
                image_facts_unref(c->items[i]);
        for (size_t i = 0; i < c->n_hints; i++)
                image_facts_unref(c->hints[i]);
        free(c->items);
        free(c->hints);
        free(c->slots);
        free(c);
        return NULL;
}

uint64_t image_cache_n_hashed(const ImageCache *c) {
        return c ? c->n_hashed : 0;
}

uint64_t image_cache_n_reused(const ImageCache *c) {
        return c ? c->n_reused : 0;
}

uint64_t image_cache_serial(const ImageCache *c) {
        return c ? c->serial : 0;
}

size_t image_cache_size(const ImageCache *c) {
        return c ? c->n_items : 0;
}

const ImageFacts *image_cache_at(const ImageCache *c, size_t i) {
        return c->items[i];
}

static int hint_compare(const FileId *a, const FileId *b) {
        if (a->dev != b->dev)
                return a->dev < b->dev ? -1 : 1;
        if (a->ino != b->ino)
                return a->ino < b->ino ? -1 : 1;
        return 0;
}

static int hint_ptr_compare(const void *a, const void *b) {
        return hint_compare(&(*(ImageFacts * const *) a)->id, &(*(ImageFacts * const *) b)->id);
}

int image_cache_add_hints(ImageCache *c, ImageFacts * const *facts, size_t n) {
        _cleanup_(freep) ImageFacts **all = NULL;
        size_t total = c->n_hints + n;

        if (n == 0)
                return 0;
        if (total < n || total > SIZE_MAX / sizeof(ImageFacts *))
                return -ENOMEM;
        all = malloc(total * sizeof(ImageFacts *));
        if (!all)
                return -ENOMEM;
        if (c->n_hints > 0)
                memcpy(all, c->hints, c->n_hints * sizeof(ImageFacts *));
        memcpy(all + c->n_hints, facts, n * sizeof(ImageFacts *));
        qsort(all, total, sizeof(ImageFacts *), hint_ptr_compare);
        for (size_t i = 1; i < total; i++)
                if (hint_compare(&all[i - 1]->id, &all[i]->id) == 0)
                        return -EEXIST;
        for (size_t i = 0; i < n; i++)
                image_facts_ref(facts[i]);
        free(c->hints);
        c->hints = TAKE_PTR(all);
        c->n_hints = total;
        return 0;
}

/* The hint for exactly this identity, or NULL. */
static ImageFacts *hint_find(const ImageCache *c, const FileId *id) {
        size_t lo = 0, hi = c->n_hints;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int k = hint_compare(id, &c->hints[mid]->id);

                if (k == 0)
                        return file_id_equal(id, &c->hints[mid]->id) ? c->hints[mid] : NULL;
                if (k < 0)
                        hi = mid;
                else
                        lo = mid + 1;
        }
        return NULL;
}

static size_t slot_of(const ImageCache *c, dev_t dev, ino_t ino) {
        uint64_t h = ((uint64_t) dev * UINT64_C(0x9e3779b97f4a7c15)) ^
                     ((uint64_t) ino * UINT64_C(0xff51afd7ed558ccd));
        return (size_t) (h ^ (h >> 29)) & (c->n_slots - 1);
}

/* The slot holding dev and ino, or the empty one where they would go. */
static size_t cache_probe(const ImageCache *c, dev_t dev, ino_t ino) {
        size_t i = slot_of(c, dev, ino);

        while (c->slots[i] != 0) {
                const ImageFacts *f = c->items[c->slots[i] - 1];
                if (f->id.dev == dev && f->id.ino == ino)
                        break;
                i = (i + 1) & (c->n_slots - 1);
        }
        return i;
}

static int cache_reindex(ImageCache *c, size_t want_items) {
        size_t n = 16;

        while (n < want_items * 2)
                n *= 2;
        size_t *slots = calloc(n, sizeof(size_t));
        if (!slots)
                return -ENOMEM;
        free(c->slots);
        c->slots = slots;
        c->n_slots = n;
        for (size_t i = 0; i < c->n_items; i++)
                c->slots[cache_probe(c, c->items[i]->id.dev, c->items[i]->id.ino)] = i + 1;
        return 0;
}

static int cache_put(ImageCache *c, ImageFacts *f) {
        size_t i;
        int r;

        if (c->n_slots == 0 || (c->n_items + 1) * 2 > c->n_slots) {
                r = cache_reindex(c, c->n_items + 1);
                if (r < 0)
                        return r;
        }
        i = cache_probe(c, f->id.dev, f->id.ino);
        if (c->slots[i] != 0) {         /* a new version of a file seen before */
                image_facts_unref(c->items[c->slots[i] - 1]);
                c->items[c->slots[i] - 1] = image_facts_ref(f);
                return 0;
        }
        if (c->n_items >= c->allocated) {
                size_t want = c->allocated ? c->allocated * 2 : 16;
                ImageFacts **items = realloc(c->items, want * sizeof(ImageFacts *));
                if (!items)
                        return -ENOMEM;
                c->items = items;
                c->allocated = want;
        }
        c->items[c->n_items++] = image_facts_ref(f);
        c->slots[i] = c->n_items;
        return 0;
}

/* Facts of the file at path, read now. Returns 0 and them, or a negative errno. */
static int image_read(ImageCache *c, int root_fd, const char *path, ImageFacts **ret) {
        _cleanup_(image_facts_unrefp) ImageFacts *f = NULL;
        _cleanup_(closep) int fd = -1;
        struct stat now;
        int64_t since;
        int r;

        /* O_NONBLOCK: a file swapped for a FIFO since the stat must not hang the build */
        fd = chase_open(root_fd, path, O_RDONLY | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return fd;
        since = file_id_clock_nsec();
        if (fstat(fd, &now) < 0)
                return -errno;
        if (!S_ISREG(now.st_mode))
                return -EBADFD;
        r = image_facts_compute(fd, &now, &f);
        if (r < 0)
                return r;
        c->n_hashed++;

        /* cached only when the file held still while it was read; otherwise the next look reads it again */
        if (fstat(fd, &now) >= 0) {
                FileId after = file_id_from_stat(&now);
                if (file_id_equal(&after, &f->id)) {
                        f->settled = file_id_settled(&f->id, since);
                        r = cache_put(c, f);
                        if (r < 0)
                                return r;
                        c->serial++;
                }
        }
        *ret = TAKE_PTR(f);
        return 0;
}

int image_cache_get(ImageCache *c, int root_fd, const char *path, const struct stat *st, ImageFacts **ret) {
        FileId id = file_id_from_stat(st);
        ImageFacts *hint;
        int r;

        if (c->n_slots > 0) {
                size_t i = cache_probe(c, st->st_dev, st->st_ino);
                if (c->slots[i] != 0 && file_id_equal(&c->items[c->slots[i] - 1]->id, &id)) {
                        *ret = image_facts_ref(c->items[c->slots[i] - 1]);
                        return 0;
                }
        }
        /* an earlier run's facts, for exactly this identity: the file is not opened */
        hint = hint_find(c, &id);
        if (hint) {
                r = cache_put(c, hint);
                if (r < 0)
                        return r;
                c->n_reused++;
                *ret = image_facts_ref(hint);
                return 0;
        }
        return image_read(c, root_fd, path, ret);
}

void image_cache_prune(ImageCache *c) {
        size_t n = 0;

        if (!c)
                return;
        for (size_t i = 0; i < c->n_items; i++) {
                /* a hint holds a reference of its own: what only the cache and its hints hold goes too */
                unsigned held = 1 + (hint_find(c, &c->items[i]->id) == c->items[i]);

                if (c->items[i]->n_ref == held)
                        image_facts_unref(c->items[i]);
                else
                        c->items[n++] = c->items[i];
        }
        if (n == c->n_items)
                return;
        c->serial++;
        c->n_items = n;
        if (cache_reindex(c, n) < 0) {
                /* no memory for a new index: forget everything rather than keep a wrong one */
                for (size_t i = 0; i < c->n_items; i++)
                        image_facts_unref(c->items[i]);
                c->n_items = 0;
                free(c->slots);
                c->slots = NULL;
                c->n_slots = 0;
        }
}
