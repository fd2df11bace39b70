/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <limits.h>

#include "efi/known-certificates.h"
#include "util/cache-file.h"
#include "facts-cache.h"

/* No record holds more than this many images: far above CATALOGUE_ENTRIES_MAX's two per descriptor, and
 * CACHE_FILE_SIZE_MAX bounds them anyway. */
#define FACTS_IMAGES_MAX (256U * 1024U)

FactsCache *facts_cache_free(FactsCache *fc) {
        if (!fc)
                return NULL;
        for (size_t i = 0; i < fc->n_images; i++)
                image_facts_unref(fc->images[i]);
        free(fc->images);
        qemu_machines_free(fc->qemu);
        free(fc->producer);
        free(fc);
        return NULL;
}

static void put_file_id(StrBuf *b, const FileId *id) {
        cache_put_u64(b, (uint64_t) id->dev);
        cache_put_u64(b, (uint64_t) id->ino);
        cache_put_u64(b, (uint64_t) id->size);
        cache_put_u64(b, (uint64_t) id->mtime_nsec);
        cache_put_u64(b, (uint64_t) id->ctime_nsec);
}

static bool read_file_id(CacheReader *r, FileId *ret) {
        uint64_t dev, ino, size, mtime, ctime;

        if (!cache_read_u64(r, &dev) || !cache_read_u64(r, &ino) || !cache_read_u64(r, &size) ||
            !cache_read_u64(r, &mtime) || !cache_read_u64(r, &ctime))
                return false;
        /* what does not fit the types, or no stat() could have said, is not an identity */
        if ((uint64_t) (dev_t) dev != dev || (uint64_t) (ino_t) ino != ino || size > (uint64_t) INT64_MAX)
                return false;
        *ret = (FileId) { .dev = (dev_t) dev, .ino = (ino_t) ino, .size = (off_t) size,
                          .mtime_nsec = (int64_t) mtime, .ctime_nsec = (int64_t) ctime };
        return true;
}

static int hex_digit(char c) {
        return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static void put_image(StrBuf *b, const ImageFacts *f) {
        uint8_t md[32] = {};
        bool hashed = !isempty(f->sha256);
        size_t at = cache_put_record_begin(b, FACTS_RECORD_IMAGE);

        for (size_t i = 0; hashed && i < sizeof(md); i++)
                md[i] = (uint8_t) (hex_digit(f->sha256[2 * i]) << 4 | hex_digit(f->sha256[2 * i + 1]));
        put_file_id(b, &f->id);
        cache_put_u64(b, f->size);
        cache_put_u8(b, hashed);
        strbuf_append(b, (const char *) md, sizeof(md));
        cache_put_u8(b, (uint8_t) f->varstore.format);
        cache_put_u64(b, f->varstore.size);
        cache_put_u64(b, f->varstore.volume_size);
        cache_put_u8(b, (uint8_t) f->secure_boot);
        cache_put_u16(b, (uint16_t) strv_length(f->certificates));
        STRV_FOREACH(c, f->certificates)
                cache_put_string(b, *c);
        cache_put_record_end(b, at);
}

/* "PK:<id>", "KEK:<id>" or "db:<id>", id as certificate_id() writes them. */
static bool certificate_entry_valid(const char *s) {
        static const char *const databases[] = { "PK:", "KEK:", "db:" };

        for (size_t i = 0; i < ELEMENTSOF(databases); i++)
                if (strncmp(s, databases[i], strlen(databases[i])) == 0)
                        return certificate_id_is_valid(s + strlen(databases[i]));
        return false;
}

/* The template's Secure Boot state and certificates (what varstore_report_certificate_ids() lists): each
 * valid, none twice, and none for a layout without variables. */
static int read_keys(CacheReader *r, ImageFacts *f) {
        bool variables = varstore_is_edk2(&f->varstore) || f->varstore.format == VARSTORE_JSON;
        uint8_t state;
        uint16_t n;
        int k;

        if (!cache_read_u8(r, &state) || state >= _SECURE_BOOT_STATE_MAX || !cache_read_u16(r, &n) ||
            n > VARSTORE_CERTIFICATES_MAX || (!variables && (state != SECURE_BOOT_UNKNOWN || n > 0)))
                return -EBADMSG;
        f->secure_boot = (SecureBootState) state;
        for (size_t i = 0; i < n; i++) {
                _cleanup_(freep) char *c = NULL;

                k = cache_read_string(r, CERTIFICATE_ID_MAX + 4, &c);
                if (k < 0)
                        return k;
                if (!certificate_entry_valid(c) || strv_contains(f->certificates, c))
                        return -EBADMSG;
                if (strv_consume(&f->certificates, TAKE_PTR(c)) < 0)
                        return -ENOMEM;
        }
        return 0;
}

/* Whether facts are what image_facts_compute() could have said about an unchanged file of that identity. */
static bool image_consistent(const ImageFacts *f, bool hashed) {
        const Varstore *v = &f->varstore;

        if (f->size != (uint64_t) f->id.size || hashed != (f->size <= IMAGE_HASH_SIZE_MAX))
                return false;
        if (v->format < 0 || v->format >= _VARSTORE_FORMAT_MAX || v->file_size != f->size)
                return false;
        if (varstore_is_edk2(v) ? v->volume_size == 0 || v->volume_size > f->size : v->volume_size != 0)
                return false;
        if (v->format == VARSTORE_QCOW2)
                return v->size > 0 && v->size <= VARSTORE_QCOW2_SIZE_MAX;
        return v->size == f->size;
}

static int read_image(CacheReader *r, ImageFacts **ret) {
        _cleanup_(image_facts_unrefp) ImageFacts *f = image_facts_new();
        uint8_t hashed, format, md[32];
        int k;

        if (!f)
                return -ENOMEM;
        if (!read_file_id(r, &f->id) || !cache_read_u64(r, &f->size) || !cache_read_u8(r, &hashed) ||
            !cache_read_bytes(r, md, sizeof(md)) || !cache_read_u8(r, &format) ||
            !cache_read_u64(r, &f->varstore.size) || !cache_read_u64(r, &f->varstore.volume_size))
                return -EBADMSG;
        if (hashed > 1 || format >= _VARSTORE_FORMAT_MAX)
                return -EBADMSG;
        for (size_t i = 0; !hashed && i < sizeof(md); i++)
                if (md[i] != 0)
                        return -EBADMSG;
        f->varstore.format = (VarstoreFormat) format;
        f->varstore.file_size = f->size;
        if (!image_consistent(f, hashed))
                return -EBADMSG;
        k = read_keys(r, f);
        if (k < 0)
                return k;
        if (r->n != 0)
                return -EBADMSG;
        for (size_t i = 0; hashed && i < sizeof(md); i++) {
                f->sha256[2 * i] = "0123456789abcdef"[md[i] >> 4];
                f->sha256[2 * i + 1] = "0123456789abcdef"[md[i] & 15];
        }
        f->settled = true;      /* it was when it was written */
        *ret = TAKE_PTR(f);
        return 0;
}

static void put_qemu(StrBuf *b, Architecture a, const QemuArch *qa) {
        size_t at = cache_put_record_begin(b, FACTS_RECORD_QEMU);

        cache_put_string(b, architecture_to_string(a));
        cache_put_string(b, qa->binary);
        put_file_id(b, &qa->id);
        cache_put_string(b, qa->version);
        cache_put_u16(b, (uint16_t) qa->n_aliases);
        for (size_t i = 0; i < qa->n_aliases; i++) {
                cache_put_string(b, qa->aliases[i].alias);
                cache_put_string(b, qa->aliases[i].machine);
        }
        cache_put_record_end(b, at);
}

static int read_aliases(CacheReader *r, QemuArch *qa) {
        uint16_t n;
        int k;

        if (!cache_read_u16(r, &n) || n > QEMU_ALIASES_MAX)
                return -EBADMSG;
        qa->aliases = calloc(n ?: 1, sizeof(MachineAlias));
        if (!qa->aliases)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                MachineAlias *m = &qa->aliases[qa->n_aliases++];

                k = cache_read_string(r, 64, &m->alias);
                if (k >= 0)
                        k = cache_read_string(r, 64, &m->machine);
                if (k < 0)
                        return k;
                if (!qemu_machine_name_valid(m->alias, strlen(m->alias)) ||
                    !qemu_machine_name_valid(m->machine, strlen(m->machine)))
                        return -EBADMSG;
        }
        return r->n == 0 ? 0 : -EBADMSG;
}

static int read_qemu(CacheReader *r, QemuMachines *q) {
        _cleanup_(freep) char *arch = NULL, *binary = NULL, *version = NULL;
        QemuArch *qa;
        Architecture a;
        int k;

        k = cache_read_string(r, 32, &arch);
        if (k >= 0)
                k = cache_read_string(r, PATH_MAX - 1, &binary);
        if (k < 0)
                return k;
        a = architecture_from_string(arch);
        if (a < 0 || q->arch[a].binary || binary[0] != '/')
                return -EBADMSG;
        qa = &q->arch[a];
        if (!read_file_id(r, &qa->id))
                return -EBADMSG;
        k = cache_read_string(r, 64, &version);
        if (k < 0)
                return k;
        if (!isempty(version) && !qemu_version_valid(version))
                return -EBADMSG;
        qa->binary = TAKE_PTR(binary);
        qa->version = isempty(version) ? NULL : TAKE_PTR(version);
        qa->settled = true;
        return read_aliases(r, qa);
}

static int add_image(FactsCache *fc, ImageFacts *f) {
        if (fc->n_images >= FACTS_IMAGES_MAX)
                return -EBADMSG;
        if ((fc->n_images & (fc->n_images - 1)) == 0) {         /* 0, 1, 2, 4, ...: grow by doubling */
                ImageFacts **grown = realloc(fc->images, (fc->n_images ? 2 * fc->n_images : 1) * sizeof(*grown));
                if (!grown)
                        return -ENOMEM;
                fc->images = grown;
        }
        fc->images[fc->n_images++] = image_facts_ref(f);
        return 0;
}

static int decode_record(FactsCache *fc, uint8_t type, CacheReader *body) {
        _cleanup_(image_facts_unrefp) ImageFacts *f = NULL;
        int k;

        switch (type) {
        case FACTS_RECORD_IMAGE:
                k = read_image(body, &f);
                return k < 0 ? k : add_image(fc, f);
        case FACTS_RECORD_QEMU:
                return read_qemu(body, fc->qemu);
        default:        /* every change is a version bump: nothing unknown is skipped */
                return -EBADMSG;
        }
}

int facts_cache_decode(const uint8_t *payload, size_t size, FactsCache **ret) {
        _cleanup_(facts_cache_freep) FactsCache *fc = calloc(1, sizeof(FactsCache));
        _cleanup_(image_cache_unrefp) ImageCache *unique = NULL;
        CacheReader r = { .p = payload, .n = size }, body;
        uint8_t type;
        int k;

        if (!fc)
                return -ENOMEM;
        fc->qemu = calloc(1, sizeof(QemuMachines));
        if (!fc->qemu)
                return -ENOMEM;
        k = cache_read_record(&r, &type, &body);
        if (k <= 0 || type != FACTS_RECORD_PRODUCER)
                return k < 0 ? k : -EBADMSG;
        k = cache_read_string(&body, 64, &fc->producer);
        if (k < 0 || body.n != 0)
                return k < 0 ? k : -EBADMSG;
        while ((k = cache_read_record(&r, &type, &body)) > 0) {
                k = decode_record(fc, type, &body);
                if (k < 0)
                        return k;
        }
        if (k < 0)
                return k;

        /* an identity twice would make the answer depend on the order: the hints refuse it */
        k = image_cache_new(&unique);
        if (k >= 0)
                k = image_cache_add_hints(unique, fc->images, fc->n_images);
        if (k == -EEXIST)
                return -EBADMSG;
        if (k < 0)
                return k;
        *ret = TAKE_PTR(fc);
        return 0;
}

int facts_cache_encode(const char *producer, const ImageFacts * const *images, size_t n_images,
                       const QemuMachines *qemu, size_t max_size, uint8_t **ret, size_t *ret_size) {
        StrBuf b = {};
        size_t at, size;
        char *data;

        at = cache_put_record_begin(&b, FACTS_RECORD_PRODUCER);
        cache_put_string(&b, producer);
        cache_put_record_end(&b, at);
        for (int a = 0; qemu && a < _ARCH_MAX; a++) {
                const QemuArch *qa = &qemu->arch[a];
                if (qa->binary && !qa->problem && qa->settled)
                        put_qemu(&b, a, qa);
        }
        for (size_t i = 0; i < n_images; i++) {
                const ImageFacts *f = images[i];
                size_t before = b.len;

                if (!f->settled)
                        continue;
                put_image(&b, f);
                if (!b.oom && b.len > max_size) {      /* full: the rest is learned again next time */
                        b.len = before;
                        break;
                }
        }
        size = b.len;
        data = strbuf_steal(&b);
        if (!data)
                return -ENOMEM;
        *ret = (uint8_t *) data;
        *ret_size = size;
        return 0;
}
