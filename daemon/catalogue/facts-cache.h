/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the daemon learns at a cost, as the payload of a cache file (util/cache-file.h): image facts keyed by
 * the image's identity, and QEMU's answers keyed by the binary's path and identity. It encodes and decodes,
 * strictly (one malformed record and nothing is used); it reads no file and trusts nothing it decodes beyond
 * what the image cache and the QEMU probe do with a hint: use it only for the identity it names. */

#include "image.h"
#include "qemu.h"

/* The format of the payload and the meaning of every fact in it. Bump it when a record changes, when a fact
 * is added, and when a fact is computed differently: an older file is then refused as a whole and its facts
 * learned again, once. */
#define FACTS_CACHE_VERSION 1U

/* The file's name in the cache directory. */
#define FACTS_CACHE_NAME "facts.cache"

/* Record types. A payload is one PRODUCER record, then IMAGE and QEMU records in any order. */
enum {
        FACTS_RECORD_PRODUCER = 1,      /* string: the daemon version that wrote it */
        FACTS_RECORD_IMAGE = 2,         /* identity (dev, ino, size, mtime, ctime: u64 each), size u64,
                                         * hashed u8, SHA-256 (32 bytes, zero when not hashed), varstore
                                         * format u8, varstore size u64, volume size u64, Secure Boot state
                                         * u8, u16 count and as many "PK:<id>", "KEK:<id>", "db:<id>" */
        FACTS_RECORD_QEMU = 3,          /* architecture string, binary path string, identity, version string
                                         * ("" when unknown), u16 count and as many alias, machine strings */
};

/* A decoded payload. */
typedef struct FactsCache {
        char *producer;
        ImageFacts **images;            /* unique by device and inode */
        size_t n_images;
        QemuMachines *qemu;             /* usable answers by architecture; dirs empty */
} FactsCache;

FactsCache *facts_cache_free(FactsCache *fc);
static inline void facts_cache_freep(FactsCache **fc) {
        facts_cache_free(*fc);
}

/* Decodes a payload. Every record must be complete and consistent (sizes that agree with the identity, a
 * known varstore format, keys only for a layout with variables, valid certificate ids, valid machine names,
 * a binary path that is absolute, no identity, certificate or architecture twice). Returns 0, -EBADMSG for
 * anything else, or -ENOMEM. */
int facts_cache_decode(const uint8_t *payload, size_t size, FactsCache **ret);

/* Encodes the settled ones of n_images facts and the settled, usable answers of qemu (may be NULL) as a
 * payload written by producer, at most max_size bytes: facts past that are left out (they are learned
 * again). Returns 0 and the payload (freed by the caller), or -ENOMEM. */
int facts_cache_encode(const char *producer, const ImageFacts * const *images, size_t n_images,
                       const QemuMachines *qemu, size_t max_size, uint8_t **ret, size_t *ret_size);
