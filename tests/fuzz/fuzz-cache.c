/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The cache file reader on arbitrary bytes: as a whole file (header, length and checksum), and as a payload
 * behind a header made valid for it, so that the records are reached past the checksum. What decodes must
 * make hints the image cache accepts, and must encode to a payload that decodes to the same facts. */

#include "fuzz.h"
#include "catalogue/facts-cache.h"
#include "util/cache-file.h"

static bool same_image(const ImageFacts *a, const ImageFacts *b) {
        return file_id_equal(&a->id, &b->id) && image_facts_same_content(a, b) &&
               a->varstore.file_size == b->varstore.file_size;
}

static bool same_qemu(const QemuMachines *a, const QemuMachines *b) {
        for (int i = 0; i < _ARCH_MAX; i++)
                if (!file_id_equal(&a->arch[i].id, &b->arch[i].id))
                        return false;
        return qemu_machines_equal(a, b);
}

/* decode(encode(decode(payload))) is decode(payload). */
static void check_round_trip(const FactsCache *fc) {
        _cleanup_(facts_cache_freep) FactsCache *again = NULL;
        _cleanup_(freep) uint8_t *payload = NULL;
        size_t size;

        if (facts_cache_encode(fc->producer, (const ImageFacts * const *) fc->images, fc->n_images, fc->qemu,
                               SIZE_MAX, &payload, &size) < 0)
                return;         /* out of memory */
        if (facts_cache_decode(payload, size, &again) == -ENOMEM)
                return;
        if (!again || !streq(again->producer, fc->producer) || again->n_images != fc->n_images ||
            !same_qemu(again->qemu, fc->qemu))
                __builtin_trap();
        for (size_t i = 0; i < fc->n_images; i++)
                if (!same_image(again->images[i], fc->images[i]) || !again->images[i]->settled)
                        __builtin_trap();
}

static void check_payload(const uint8_t *payload, size_t size) {
        _cleanup_(facts_cache_freep) FactsCache *fc = NULL;
        _cleanup_(image_cache_unrefp) ImageCache *c = NULL;
        int r;

        r = facts_cache_decode(payload, size, &fc);
        if (r == -ENOMEM)
                return;
        if (r < 0) {
                if (r != -EBADMSG)
                        __builtin_trap();
                return;
        }
        /* the decoder refused duplicates: the hints take every fact */
        if (image_cache_new(&c) < 0)
                return;
        r = image_cache_add_hints(c, fc->images, fc->n_images);
        if (r < 0 && r != -ENOMEM)
                __builtin_trap();
        check_round_trip(fc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(freep) uint8_t *file = NULL;
        _cleanup_(freep) char *why = NULL;
        const uint8_t *payload;
        size_t n;
        int r;

        if (size > FUZZ_INPUT_MAX)
                return 0;
        r = cache_file_parse(data, size, FACTS_CACHE_VERSION, &payload, &n, &why);
        if (r == 0)
                check_payload(payload, n);
        else if (r != -ENOMEM && (r != -EBADMSG || !why))
                __builtin_trap();
        check_payload(data, size);

        /* the same bytes as the payload of a well-formed file: the parser takes them back, whole */
        free(why);
        why = NULL;
        r = cache_file_pack(FACTS_CACHE_VERSION, data, size, &file, &n);
        if (r == -ENOMEM)
                return 0;
        if (r < 0 || cache_file_parse(file, n, FACTS_CACHE_VERSION, &payload, &n, &why) != 0 || n != size ||
            (size > 0 && memcmp(payload, data, size) != 0))
                __builtin_trap();
        return 0;
}
