/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The cache file: what is written is read back the same; every truncation, flipped byte, other version,
 * oversized, foreign or non-regular file is refused; malformed records are refused as a whole; and a hint
 * serves only the identity it names. */

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

#include "catalogue/facts-cache.h"
#include "util/cache-file.h"
#include "tests.h"

#define VERSION FACTS_CACHE_VERSION

static ImageFacts *facts_of(ImageCache *c, const char *path) {
        ImageFacts *f = NULL;
        struct stat st;

        CHECK(stat(path, &st) == 0);
        CHECK(image_cache_get(c, AT_FDCWD, path, &st, &f) == 0);
        return f;
}

/* Two answers, as a probe would have them. */
static QemuMachines *machines_new_test(void) {
        QemuMachines *q = calloc(1, sizeof(QemuMachines));
        QemuArch *x;

        CHECK(q);
        x = &q->arch[ARCH_X86_64];
        x->binary = strdup("/usr/bin/qemu-system-x86_64");
        x->id = (FileId) { .dev = 2049, .ino = 1234, .size = 9999, .mtime_nsec = 1, .ctime_nsec = 2 };
        x->version = strdup("7.2.22");
        x->aliases = calloc(2, sizeof(MachineAlias));
        x->aliases[0] = (MachineAlias) { strdup("pc"), strdup("pc-i440fx-7.2") };
        x->aliases[1] = (MachineAlias) { strdup("q35"), strdup("pc-q35-7.2") };
        x->n_aliases = 2;
        x->settled = true;
        q->arch[ARCH_AARCH64] = (QemuArch) { .binary = strdup("/usr/bin/qemu-system-aarch64"), .settled = true,
                                             .aliases = calloc(1, sizeof(MachineAlias)) };
        /* neither of these is kept: a problem, and an answer too fresh to trust across a restart */
        q->arch[ARCH_ARM] = (QemuArch) { .binary = strdup("/usr/bin/qemu-system-arm"), .settled = true,
                                         .problem = strdup("timed out") };
        q->arch[ARCH_I386] = (QemuArch) { .binary = strdup("/usr/bin/qemu-system-i386") };
        return q;
}

/* A cache file in dir with the facts of three images and the answers above. Returns its bytes. */
static uint8_t *write_sample(const char *dir, int dir_fd, size_t *ret_size) {
        _cleanup_(image_cache_unrefp) ImageCache *c = NULL;
        _cleanup_(qemu_machines_freep) QemuMachines *q = machines_new_test();
        _cleanup_(freep) uint8_t *payload = NULL;
        _cleanup_(freep) char *path = path_join(dir, FACTS_CACHE_NAME);
        const char *names[] = { "code.fd", "vars.fd", "fresh.fd" };
        const ImageFacts *facts[3];
        size_t size;

        CHECK(image_cache_new(&c) == 0);
        test_write_file(dir, "code.fd", "code");
        test_write_file(dir, "vars.fd", "");
        test_write_file(dir, "fresh.fd", "written a moment ago");
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                _cleanup_(freep) char *p = path_join(dir, names[i]);
                ImageFacts *f = facts_of(c, p);

                CHECK(!f->settled);             /* just written */
                f->settled = i < 2;             /* as if written long ago, but for the last */
                facts[i] = f;
                image_facts_unref(f);           /* the cache keeps it */
        }
        /* a bound on the size leaves out what does not fit (15 bytes of producer, 106 an image) */
        for (size_t max = 120; max <= 121; max++) {
                _cleanup_(facts_cache_freep) FactsCache *fc = NULL;

                CHECK(facts_cache_encode("0.3-test", facts, 3, NULL, max, &payload, &size) == 0);
                CHECK(size <= max && facts_cache_decode(payload, size, &fc) == 0);
                CHECK(fc->n_images == max - 120);
                free(payload);
                payload = NULL;
        }
        CHECK(facts_cache_encode("0.3-test", facts, 3, q, CACHE_FILE_SIZE_MAX, &payload, &size) == 0);
        CHECK(cache_file_write(dir_fd, FACTS_CACHE_NAME, VERSION, payload, size) == 0);
        return (uint8_t *) test_read_file(path, ret_size);
}

static void test_round_trip(void) {
        _cleanup_(freep) char *dir = test_tmpdir_new(), *code = path_join(dir, "code.fd");
        _cleanup_(freep) uint8_t *file = NULL, *data = NULL;
        _cleanup_(facts_cache_freep) FactsCache *fc = NULL;
        _cleanup_(image_cache_unrefp) ImageCache *c = NULL;
        _cleanup_(closep) int dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_(qemu_machines_freep) QemuMachines *q = NULL;
        const uint8_t *payload;
        char *why = NULL;
        size_t size, n_files = 0;
        ImageFacts *f;

        file = write_sample(dir, dir_fd, &size);
        CHECK(cache_file_read(dir_fd, FACTS_CACHE_NAME, VERSION, &data, &payload, &size, &why) == 0);
        CHECK(facts_cache_decode(payload, size, &fc) == 0);
        CHECK_STREQ(fc->producer, "0.3-test");
        CHECK(fc->n_images == 2);       /* the fresh one is not kept */
        for (size_t i = 0; i < fc->n_images; i++) {
                CHECK(fc->images[i]->settled);
                if (fc->images[i]->size == 4)
                        CHECK_STREQ(fc->images[i]->sha256,
                                    "5694d08a2e53ffcae0c3103e5ad6f6076abd960eb1f8a56577040bc1028f702b");
                else
                        CHECK_STREQ(fc->images[i]->sha256,
                                    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        }
        CHECK_STREQ(fc->qemu->arch[ARCH_X86_64].binary, "/usr/bin/qemu-system-x86_64");
        CHECK_STREQ(fc->qemu->arch[ARCH_X86_64].version, "7.2.22");
        CHECK(fc->qemu->arch[ARCH_X86_64].id.ino == 1234 && fc->qemu->arch[ARCH_X86_64].id.ctime_nsec == 2);
        CHECK(fc->qemu->arch[ARCH_X86_64].n_aliases == 2);
        CHECK_STREQ(fc->qemu->arch[ARCH_X86_64].aliases[1].machine, "pc-q35-7.2");
        CHECK(fc->qemu->arch[ARCH_AARCH64].binary && fc->qemu->arch[ARCH_AARCH64].n_aliases == 0);
        CHECK(!fc->qemu->arch[ARCH_ARM].binary && !fc->qemu->arch[ARCH_I386].binary);

        /* a template's Secure Boot state and certificates come back as they went */
        {
                _cleanup_(image_facts_unrefp) ImageFacts *t = image_facts_new();
                _cleanup_(facts_cache_freep) FactsCache *back = NULL;
                _cleanup_(freep) uint8_t *p = NULL;
                const ImageFacts *one[] = { t };
                size_t n;

                t->id = (FileId) { .dev = 9, .ino = 9, .size = 540672, .mtime_nsec = 1, .ctime_nsec = 2 };
                t->size = 540672;
                memset(t->sha256, 'a', 64);
                t->varstore = (Varstore) { VARSTORE_EDK2_AUTHENTICATED, 540672, 540672, 0x84000 };
                t->secure_boot = SECURE_BOOT_ENFORCING;
                CHECK(strv_extend(&t->certificates, "PK:microsoft-kek-2011") >= 0);
                CHECK(strv_extend(&t->certificates, "db:microsoft-uefi-ca-2023") >= 0);
                t->settled = true;
                CHECK(facts_cache_encode("0.3-test", one, 1, NULL, SIZE_MAX, &p, &n) == 0);
                CHECK(facts_cache_decode(p, n, &back) == 0);
                CHECK(back->n_images == 1 && image_facts_same_content(back->images[0], t));
                CHECK(back->images[0]->secure_boot == SECURE_BOOT_ENFORCING);
                CHECK_STREQ(back->images[0]->certificates[1], "db:microsoft-uefi-ca-2023");
        }

        /* hints serve their identity without reading the file */
        CHECK(image_cache_new(&c) == 0);
        CHECK(image_cache_add_hints(c, fc->images, fc->n_images) == 0);
        f = facts_of(c, code);
        CHECK(image_cache_n_reused(c) == 1 && image_cache_n_hashed(c) == 0);
        CHECK_STREQ(f->sha256, "5694d08a2e53ffcae0c3103e5ad6f6076abd960eb1f8a56577040bc1028f702b");
        image_facts_unref(f);

        /* the same facts twice are refused */
        CHECK(image_cache_add_hints(c, fc->images, 1) == -EEXIST);

        /* the file was renamed into place: no temporary file is left */
        DIR *d = opendir(dir);
        for (struct dirent *de; (de = readdir(d));)
                n_files += de->d_name[0] != '.';
        closedir(d);
        CHECK(n_files == 4);

        /* the QEMU answers serve the same binary and identity only */
        CHECK(qemu_machines_probe_known((char *[]) { dir, NULL }, 1000000, fc->qemu, &q) == 0);
        CHECK(q->n_reused == 0 && !q->arch[ARCH_X86_64].binary);
        test_tmpdir_remove(dir);
}

/* An image rewritten in place with the same size and its old mtime put back: its identity still differs
 * (ctime), so the hint for the old identity is not used, and the new content is what is served. */
static void test_lying_hint(void) {
        _cleanup_(freep) char *dir = test_tmpdir_new(), *img = path_join(dir, "img");
        _cleanup_(image_cache_unrefp) ImageCache *old = NULL, *c = NULL;
        ImageFacts *f, *lie;
        struct stat st;
        struct timespec ts[2];

        CHECK(image_cache_new(&old) == 0);
        test_write_file(dir, "img", "abc");
        lie = facts_of(old, img);
        /* a wrong digest for the old identity: what a lying or stale cache file would say */
        memcpy(lie->sha256, "0000000000000000000000000000000000000000000000000000000000000000", 64);
        CHECK(stat(img, &st) == 0);
        ts[0] = st.st_atim;
        ts[1] = st.st_mtim;
        struct timespec pause = { 0, 20 * 1000 * 1000 };      /* past the kernel's timestamp tick */
        nanosleep(&pause, NULL);
        test_write_file(dir, "img", "xyz");
        CHECK(utimensat(AT_FDCWD, img, ts, 0) == 0);

        CHECK(image_cache_new(&c) == 0);
        CHECK(image_cache_add_hints(c, &lie, 1) == 0);
        f = facts_of(c, img);
        CHECK(image_cache_n_reused(c) == 0 && image_cache_n_hashed(c) == 1);
        CHECK(f->id.mtime_nsec == lie->id.mtime_nsec && f->id.ctime_nsec != lie->id.ctime_nsec);
        CHECK_STREQ(f->sha256, "3608bca1e44ea6c4d268eb6db02260269892c0b42b86bbf1e77a6fa16c3c9282");
        image_facts_unref(f);
        image_facts_unref(lie);
        test_tmpdir_remove(dir);
}

static void check_refused(const uint8_t *data, size_t size, const char *want) {
        const uint8_t *payload;
        char *why = NULL;
        size_t n;

        CHECK(cache_file_parse(data, size, VERSION, &payload, &n, &why) == -EBADMSG);
        CHECK(why);
        if (want && !strstr(why, want)) {
                fprintf(stderr, "expected '%s' in '%s'\n", want, why);
                abort();
        }
        free(why);
}

static void test_crc64(void) {
        /* the check values of CRC-64/XZ */
        CHECK(cache_file_crc64("123456789", 9) == UINT64_C(0x995dc9bbdf1939fa));
        CHECK(cache_file_crc64("", 0) == 0);
}

static void test_corruption(void) {
        _cleanup_(freep) char *dir = test_tmpdir_new();
        _cleanup_(closep) int dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_(freep) uint8_t *file = NULL, *copy = NULL;
        const uint8_t *payload;
        char *why = NULL;
        size_t size, n;

        file = write_sample(dir, dir_fd, &size);
        CHECK(cache_file_parse(file, size, VERSION, &payload, &n, &why) == 0);

        for (size_t len = 0; len < size; len++)
                check_refused(file, len, len < CACHE_FILE_HEADER_SIZE ? "truncated" : NULL);
        check_refused(file, size - 1, "truncated");

        copy = malloc(size + 1);
        for (size_t i = 0; i < size; i++)
                for (unsigned bit = 0; bit < 8; bit++) {
                        memcpy(copy, file, size);
                        copy[i] ^= (uint8_t) (1U << bit);
                        check_refused(copy, size, NULL);
                }
        memcpy(copy, file, size);
        copy[size] = 0;
        check_refused(copy, size + 1, "after the payload");
        copy[8]++;
        check_refused(copy, size, "format version 2, this daemon reads 1");
        memcpy(copy, file, size);
        copy[33] ^= 1;
        check_refused(copy, size, "checksum mismatch");
        memcpy(copy, file, size);
        copy[50] = 1;
        check_refused(copy, size, "reserved");
        memcpy(copy, file, size);
        copy[0] = 'X';
        check_refused(copy, size, "magic");
        test_tmpdir_remove(dir);
}

static void check_read(int dir_fd, const char *name, int want, const char *why_want) {
        _cleanup_(freep) uint8_t *data = NULL;
        _cleanup_(freep) char *why = NULL;
        const uint8_t *payload;
        size_t n;

        CHECK(cache_file_read(dir_fd, name, VERSION, &data, &payload, &n, &why) == want);
        if (why_want && (!why || !strstr(why, why_want))) {
                fprintf(stderr, "expected '%s', got '%s'\n", why_want, strna(why));
                abort();
        }
}

static void test_hostile_files(void) {
        _cleanup_(freep) char *dir = test_tmpdir_new(), *huge = path_join(dir, "huge"),
                *fifo = path_join(dir, "fifo"), *cache = path_join(dir, FACTS_CACHE_NAME);
        _cleanup_(closep) int dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_(freep) uint8_t *file = NULL;
        _cleanup_(closep) int fd = -1;
        size_t size;

        file = write_sample(dir, dir_fd, &size);
        check_read(dir_fd, FACTS_CACHE_NAME, 0, NULL);
        check_read(dir_fd, "none", -ENOENT, NULL);

        /* 1 GiB, sparse: refused by its size, not read */
        fd = open(huge, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        CHECK(fd >= 0 && ftruncate(fd, INT64_C(1) << 30) == 0);
        check_read(dir_fd, "huge", -EBADMSG, "more than");

        test_symlink(FACTS_CACHE_NAME, dir, "link");
        check_read(dir_fd, "link", -EPERM, "symbolic link");
        CHECK(mkfifo(fifo, 0600) == 0);
        check_read(dir_fd, "fifo", -EPERM, "FIFO");     /* and it did not hang */
        test_mkdir(dir, "dir");
        check_read(dir_fd, "dir", -EPERM, "directory");

        CHECK(chmod(cache, 0666) == 0);
        check_read(dir_fd, FACTS_CACHE_NAME, -EPERM, "writable by others");
        CHECK(chmod(cache, 0644) == 0);
        if (geteuid() == 0) {
                CHECK(chown(cache, 65534, 65534) == 0);
                check_read(dir_fd, FACTS_CACHE_NAME, -EPERM, "owned by uid 65534");
        }

        /* a write replaces whatever is there (the link itself, not what it points to) */
        CHECK(cache_file_write(dir_fd, "link", VERSION, "", 0) == 0);
        check_read(dir_fd, "link", 0, NULL);
        CHECK(cache_file_write(dir_fd, "dir", VERSION, "", 0) < 0);
        CHECK(cache_file_write(dir_fd, "big", VERSION, file, CACHE_FILE_SIZE_MAX) == -EFBIG);
        test_tmpdir_remove(dir);
}

static void put_producer(StrBuf *b) {
        size_t at = cache_put_record_begin(b, FACTS_RECORD_PRODUCER);
        cache_put_string(b, "0.3");
        cache_put_record_end(b, at);
}

static void put_image_keys(StrBuf *b, uint64_t ino, uint64_t size, uint64_t fact_size, uint8_t hashed,
                           uint8_t format, uint64_t vsize, uint64_t volume, uint8_t state, char **certificates) {
        size_t at = cache_put_record_begin(b, FACTS_RECORD_IMAGE);
        uint8_t md[32] = { [0] = hashed };

        cache_put_u64(b, 1);
        cache_put_u64(b, ino);
        cache_put_u64(b, size);
        cache_put_u64(b, 5);
        cache_put_u64(b, 6);
        cache_put_u64(b, fact_size);
        cache_put_u8(b, hashed);
        strbuf_append(b, (const char *) md, sizeof(md));
        cache_put_u8(b, format);
        cache_put_u64(b, vsize);
        cache_put_u64(b, volume);
        cache_put_u8(b, state);
        cache_put_u16(b, (uint16_t) strv_length(certificates));
        STRV_FOREACH(c, certificates)
                cache_put_string(b, *c);
        cache_put_record_end(b, at);
}

static void put_image(StrBuf *b, uint64_t ino, uint64_t size, uint64_t fact_size, uint8_t hashed, uint8_t format,
                      uint64_t vsize, uint64_t volume) {
        put_image_keys(b, ino, size, fact_size, hashed, format, vsize, volume, SECURE_BOOT_UNKNOWN, NULL);
}

static void put_qemu(StrBuf *b, const char *arch, const char *binary, const char *alias) {
        size_t at = cache_put_record_begin(b, FACTS_RECORD_QEMU);

        cache_put_string(b, arch);
        cache_put_string(b, binary);
        for (int i = 0; i < 5; i++)
                cache_put_u64(b, 1);
        cache_put_string(b, "7.2.22");
        cache_put_u16(b, 1);
        cache_put_string(b, alias);
        cache_put_string(b, "pc-q35-7.2");
        cache_put_record_end(b, at);
}

static int decode(StrBuf *b) {
        _cleanup_(facts_cache_freep) FactsCache *fc = NULL;
        size_t n = b->len;
        _cleanup_(freep) char *p = strbuf_steal(b);

        CHECK(p);
        return facts_cache_decode((const uint8_t *) p, n, &fc);
}

static void test_malformed_records(void) {
        StrBuf b = {};

        /* the good ones first */
        put_producer(&b);
        put_image(&b, 1, 100, 100, 1, VARSTORE_BLANK, 100, 0);
        put_image(&b, 2, 540672, 540672, 1, VARSTORE_EDK2_AUTHENTICATED, 540672, 0x84000);
        put_image(&b, 3, 600, 600, 1, VARSTORE_QCOW2, 540672, 0);
        put_image(&b, 4, IMAGE_HASH_SIZE_MAX + 1, IMAGE_HASH_SIZE_MAX + 1, 0, VARSTORE_UNKNOWN,
                  IMAGE_HASH_SIZE_MAX + 1, 0);
        put_qemu(&b, "x86_64", "/usr/bin/qemu-system-x86_64", "q35");
        CHECK(decode(&b) == 0);
        CHECK(decode(&b) == -EBADMSG);                                  /* empty: no producer */

        put_image(&b, 1, 100, 100, 1, VARSTORE_BLANK, 100, 0);         /* no producer first */
        CHECK(decode(&b) == -EBADMSG);

        struct { uint64_t size, fact_size; uint8_t hashed, format; uint64_t vsize, volume; } bad[] = {
                { 100, 99, 1, VARSTORE_BLANK, 99, 0 },                  /* size disagrees with identity */
                { 100, 100, 0, VARSTORE_BLANK, 100, 0 },                /* small but not hashed */
                { 100, 100, 2, VARSTORE_BLANK, 100, 0 },                /* hashed neither 0 nor 1 */
                { 100, 100, 1, _VARSTORE_FORMAT_MAX, 100, 0 },          /* unknown format */
                { 100, 100, 1, VARSTORE_EDK2, 100, 101 },               /* volume past the file */
                { 100, 100, 1, VARSTORE_EDK2, 100, 0 },                 /* edk2 without a volume */
                { 100, 100, 1, VARSTORE_BLANK, 100, 7 },                /* a volume where there is none */
                { 100, 100, 1, VARSTORE_BLANK, 101, 0 },                /* varstore size not the file's */
                { 100, 100, 1, VARSTORE_QCOW2, 0, 0 },                  /* qcow2 without a virtual size */
                { (uint64_t) INT64_MAX + 1, (uint64_t) INT64_MAX + 1, 0, VARSTORE_UNKNOWN,
                  (uint64_t) INT64_MAX + 1, 0 },                        /* no file is that large */
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                put_producer(&b);
                put_image(&b, 1, bad[i].size, bad[i].fact_size, bad[i].hashed, bad[i].format, bad[i].vsize,
                          bad[i].volume);
                CHECK(decode(&b) == -EBADMSG);
        }

        /* the keys of a template: only for a layout with variables, each valid and once */
        char *good_keys[] = { (char *) "PK:microsoft-kek-2011", (char *) "db:microsoft-uefi-ca-2023",
                              (char *) "KEK:sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                              NULL };
        put_producer(&b);
        put_image_keys(&b, 1, 540672, 540672, 1, VARSTORE_EDK2_AUTHENTICATED, 540672, 0x84000,
                       SECURE_BOOT_ENFORCING, good_keys);
        CHECK(decode(&b) == 0);
        struct { uint8_t format, state; char *keys[3]; } bad_keys[] = {
                { VARSTORE_BLANK, SECURE_BOOT_ENFORCING, { NULL } },                    /* no variables */
                { VARSTORE_BLANK, SECURE_BOOT_UNKNOWN, { (char *) "PK:microsoft-kek-2011", NULL } },
                { VARSTORE_EDK2_AUTHENTICATED, _SECURE_BOOT_STATE_MAX, { NULL } },      /* unknown state */
                { VARSTORE_EDK2_AUTHENTICATED, 0, { (char *) "dbx:microsoft-kek-2011", NULL } },
                { VARSTORE_EDK2_AUTHENTICATED, 0, { (char *) "PK:no-such-certificate", NULL } },
                { VARSTORE_EDK2_AUTHENTICATED, 0, { (char *) "PK:sha256:0123", NULL } },
                { VARSTORE_EDK2_AUTHENTICATED, 0, { (char *) "db:microsoft-uefi-ca-2023",
                                                    (char *) "db:microsoft-uefi-ca-2023", NULL } },
        };
        for (size_t i = 0; i < ELEMENTSOF(bad_keys); i++) {
                bool edk2 = bad_keys[i].format == VARSTORE_EDK2_AUTHENTICATED;

                put_producer(&b);
                put_image_keys(&b, 1, 540672, 540672, 1, bad_keys[i].format, 540672, edk2 ? 0x84000 : 0,
                               bad_keys[i].state, bad_keys[i].keys);
                CHECK(decode(&b) == -EBADMSG);
        }

        put_producer(&b);                                               /* one identity twice */
        put_image(&b, 1, 100, 100, 1, VARSTORE_BLANK, 100, 0);
        put_image(&b, 1, 100, 100, 1, VARSTORE_BLANK, 100, 0);
        CHECK(decode(&b) == -EBADMSG);

        const char *qemu_bad[][3] = {
                { "sparc", "/usr/bin/qemu-system-sparc", "q35" },       /* unknown architecture */
                { "x86_64", "qemu-system-x86_64", "q35" },              /* relative binary */
                { "x86_64", "/usr/bin/qemu-system-x86_64", "q 35" },    /* not a machine name */
                { "x86_64", "/usr/bin/qemu-system-x86_64", "" },
        };
        for (size_t i = 0; i < ELEMENTSOF(qemu_bad); i++) {
                put_producer(&b);
                put_qemu(&b, qemu_bad[i][0], qemu_bad[i][1], qemu_bad[i][2]);
                CHECK(decode(&b) == -EBADMSG);
        }
        put_producer(&b);                                               /* one architecture twice */
        put_qemu(&b, "x86_64", "/usr/bin/qemu-system-x86_64", "q35");
        put_qemu(&b, "x86_64", "/usr/libexec/qemu-kvm", "q35");
        CHECK(decode(&b) == -EBADMSG);

        put_producer(&b);                                               /* an unknown record */
        size_t at = cache_put_record_begin(&b, 9);
        cache_put_record_end(&b, at);
        CHECK(decode(&b) == -EBADMSG);

        put_producer(&b);                                               /* a record longer than what is left */
        at = cache_put_record_begin(&b, FACTS_RECORD_IMAGE);
        cache_put_u64(&b, 1);
        cache_put_record_end(&b, at);
        b.buf[b.len - 9] = 0x7f;
        CHECK(decode(&b) == -EBADMSG);

        put_producer(&b);                                               /* a record with a byte left over */
        put_image(&b, 1, 100, 100, 1, VARSTORE_BLANK, 100, 0);
        cache_put_u8(&b, 0);
        b.buf[b.len - 1 - 101 - 4] = 102;                               /* its length takes the byte in */
        CHECK(decode(&b) == -EBADMSG);

        /* every cut of a good payload decodes (at a record's end) or is refused: never half of a record */
        put_producer(&b);
        put_image(&b, 1, 100, 100, 1, VARSTORE_BLANK, 100, 0);
        put_qemu(&b, "x86_64", "/usr/bin/qemu-system-x86_64", "q35");
        size_t n = b.len;
        _cleanup_(freep) char *good = strbuf_steal(&b);
        for (size_t len = 0; len <= n; len++) {
                _cleanup_(facts_cache_freep) FactsCache *fc = NULL;
                int r = facts_cache_decode((const uint8_t *) good, len, &fc);
                CHECK(r == 0 || r == -EBADMSG);
                CHECK(r == -EBADMSG || (fc->n_images <= 1 && (len == n) == (fc->qemu->arch[ARCH_X86_64].binary != NULL)));
        }
}

int main(void) {
        RUN(test_round_trip);
        RUN(test_lying_hint);
        RUN(test_crc64);
        RUN(test_corruption);
        RUN(test_hostile_files);
        RUN(test_malformed_records);
        return 0;
}
