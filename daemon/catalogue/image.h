/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Facts about referenced images: size, SHA-256 of the content (OpenSSL's libcrypto), varstore layout and, for
 * a varstore, its Secure Boot state and certificates, computed once per distinct file and cached by file
 * identity, so that an unchanged image is never read twice. It reads regular files it is pointed at; it
 * decides nothing about descriptors. */

#include <sys/stat.h>
#include <sys/types.h>

#include "efi/varstore-report.h"
#include "efi/varstore.h"

/* What identifies one version of a file: a rebuild re-reads a descriptor, or hashes an image, only when
 * this changes. */
typedef struct FileId {
        dev_t dev;
        ino_t ino;
        off_t size;
        int64_t mtime_nsec;
        int64_t ctime_nsec;
} FileId;

FileId file_id_from_stat(const struct stat *st);
bool file_id_equal(const FileId *a, const FileId *b) _pure_;

/* An identity proves less than it seems: a write within the file system's timestamp granularity of the
 * moment the facts were learned leaves it as it was. Facts learned less than this long after the file last
 * changed are used by this process but not kept across a restart, which would otherwise make the stale
 * answer permanent (git's "racily clean" entries). 2 s: FAT's granularity, the coarsest Linux mounts. */
#define FILE_ID_SETTLE_NSEC (INT64_C(2) * 1000000000)

/* CLOCK_REALTIME in nanoseconds: the clock of file timestamps. */
int64_t file_id_clock_nsec(void);

/* Whether facts learned about the file from since_nsec on (file_id_clock_nsec(), read before the stat()
 * that gave id) may outlive this process: its last change came long enough before. */
bool file_id_settled(const FileId *id, int64_t since_nsec) _pure_;

/* Images larger than this get a size and a layout but no digest: no firmware image comes near it, and
 * hashing one would hold up everything else. */
#define IMAGE_HASH_SIZE_MAX (UINT64_C(512) * 1024 * 1024)

typedef struct ImageFacts {
        unsigned n_ref;
        FileId id;                      /* the version these facts are about */
        uint64_t size;
        char sha256[65];                /* lower-case hex, "" when not hashed (too large) */
        Varstore varstore;              /* the layout of its head */

        /* What its variables say (DESIGN section 10), read only for a layout with variables (edk2, JSON):
         * the nvram-template-secure-boot and nvram-template-certificates keys of the firmware it is the
         * template of. */
        SecureBootState secure_boot;    /* SECURE_BOOT_UNKNOWN: no variables could be read */
        char **certificates;            /* "PK:<id>", "KEK:<id>", "db:<id>" in store order, each once; NULL
                                         * when none (owned) */
        bool settled;                   /* may be kept across restarts (file_id_settled()) */
} ImageFacts;

/* Facts that were not computed here (a client decoding the daemon's answer). NULL on ENOMEM. */
ImageFacts *image_facts_new(void);
ImageFacts *image_facts_ref(ImageFacts *f);
ImageFacts *image_facts_unref(ImageFacts *f);
static inline void image_facts_unrefp(ImageFacts **f) {
        image_facts_unref(*f);
}

/* Whether two versions of an image have the same content as far as anyone can tell: size, digest and
 * layout. A touched file (new mtime, same bytes) is the same. */
bool image_facts_same_content(const ImageFacts *a, const ImageFacts *b) _pure_;

/* Whether PK, KEK or db of the image (a varstore) holds the certificate called id (a known id, or
 * sha256:<hex>): what the certificates request key asks of a template. False for NULL. */
bool image_facts_has_certificate(const ImageFacts *f, const char *id) _pure_;

/* Reads fd from its current offset to its end, hashing it and parsing its head, then, when the head is a
 * varstore with variables, its Secure Boot state and certificates (with pread(), so fd must be seekable); st
 * is its fstat(). A file larger than IMAGE_HASH_SIZE_MAX is not hashed: only its head is read. Returns 0 and new facts, or a negative
 * errno of read(), -EIO when OpenSSL fails, -ENOMEM. */
int image_facts_compute(int fd, const struct stat *st, ImageFacts **ret);

typedef struct ImageCache ImageCache;

/* A cache shared by successive catalogues (each build takes a reference to its predecessor's). */
int image_cache_new(ImageCache **ret);
ImageCache *image_cache_ref(ImageCache *c);
ImageCache *image_cache_unref(ImageCache *c);
static inline void image_cache_unrefp(ImageCache **c) {
        image_cache_unref(*c);
}

/* The facts of the file at path (resolved inside root_fd, AT_FDCWD for the host), whose stat() is st: the
 * cached ones when its identity is unchanged, freshly computed otherwise. Returns 0 with a new reference, a negative errno when it cannot be opened
 * or read (-EACCES, -ENOENT, ...), or -ENOMEM. */
int image_cache_get(ImageCache *c, int root_fd, const char *path, const struct stat *st, ImageFacts **ret);

/* Drops what no catalogue refers to any more. Call before a build: facts held only by the cache belong to
 * files that no live catalogue names. */
void image_cache_prune(ImageCache *c);

/* How many files this cache has hashed so far (tests and benchmarks). */
uint64_t image_cache_n_hashed(const ImageCache *c) _pure_;

/* Facts from an earlier run (a cache file), each used instead of reading the file when, and only when, the
 * file's identity is still the one it names; they are never pruned, and never used for another identity.
 * Takes a reference to each. Returns 0, -EEXIST when two name the same device and inode, or -ENOMEM. */
int image_cache_add_hints(ImageCache *c, ImageFacts * const *facts, size_t n);

/* How many facts were taken from hints instead of reading the file. */
uint64_t image_cache_n_reused(const ImageCache *c) _pure_;

/* Counts changes of what the cache holds (facts computed or dropped), for whoever keeps a copy of it. */
uint64_t image_cache_serial(const ImageCache *c) _pure_;

/* The facts held, in no particular order: i < image_cache_size(c). Valid until the next call that changes
 * the cache. */
size_t image_cache_size(const ImageCache *c) _pure_;
const ImageFacts *image_cache_at(const ImageCache *c, size_t i) _pure_;
