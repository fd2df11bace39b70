/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Varstore layouts from synthetic heads, broken ones included, the fit rule, and reading through a file
 * descriptor. */

#include <fcntl.h>
#include <sys/stat.h>

#include "tests.h"
#include "efi/varstore.h"

static const uint8_t nv_fv[16] = { 0x8d, 0x2b, 0xf1, 0xff, 0x96, 0x76, 0x8b, 0x4c,
                                   0xa9, 0x85, 0x27, 0x47, 0x07, 0x5b, 0x4f, 0x50 };
static const uint8_t auth[16] = { 0x78, 0x2c, 0xf3, 0xaa, 0x7b, 0x94, 0x9a, 0x43,
                                  0xa1, 0x80, 0x2e, 0x14, 0x4e, 0xc3, 0x77, 0x92 };
static const uint8_t plain[16] = { 0x16, 0x36, 0xcf, 0xdd, 0x75, 0x32, 0x64, 0x41,
                                   0x98, 0xb6, 0xfe, 0x85, 0x70, 0x7f, 0xfe, 0x7d };

static uint8_t head[VARSTORE_HEAD_MAX];

/* A head as edk2 writes it: volume header at 0, the store GUID right after the header. */
static void make_fv(uint64_t length, uint16_t header_length, const uint8_t *store) {
        memset(head, 0, sizeof(head));
        memcpy(head + 16, nv_fv, 16);
        for (int i = 0; i < 8; i++)
                head[32 + i] = (uint8_t) (length >> (8 * i));
        memcpy(head + 40, "_FVH", 4);
        head[48] = (uint8_t) header_length;
        head[49] = (uint8_t) (header_length >> 8);
        if (store && header_length + 16U <= sizeof(head))
                memcpy(head + header_length, store, 16);
}

static void test_edk2(void) {
        Varstore v;

        make_fv(0x20000, 0x48, auth);
        v = varstore_parse(head, sizeof(head), 131072);
        CHECK(v.format == VARSTORE_EDK2_AUTHENTICATED);
        CHECK(v.volume_size == 0x20000 && v.size == 131072 && v.file_size == 131072);

        make_fv(0x84000, 0x48, plain);
        v = varstore_parse(head, sizeof(head), 540672);
        CHECK(v.format == VARSTORE_EDK2);
        CHECK(v.volume_size == 0x84000);
        CHECK_STREQ(varstore_format_to_string(v.format), "edk2");
}

static void test_edk2_broken(void) {
        /* the volume is longer than the file */
        make_fv(0x84000, 0x48, auth);
        CHECK(varstore_parse(head, sizeof(head), 131072).format == VARSTORE_UNKNOWN);
        /* a header length pointing past the head */
        make_fv(0x20000, 0xfff8, auth);
        CHECK(varstore_parse(head, sizeof(head), 131072).format == VARSTORE_UNKNOWN);
        /* a header length too short to be one */
        make_fv(0x20000, 0x10, auth);
        memcpy(head + 0x10, auth, 16);
        CHECK(varstore_parse(head, sizeof(head), 131072).format == VARSTORE_UNKNOWN);
        /* an unknown store GUID */
        make_fv(0x20000, 0x48, nv_fv);
        CHECK(varstore_parse(head, sizeof(head), 131072).format == VARSTORE_UNKNOWN);
        /* a volume of length 0 */
        make_fv(0, 0x48, auth);
        CHECK(varstore_parse(head, sizeof(head), 131072).format == VARSTORE_UNKNOWN);
        /* truncated: the file ends inside the header */
        make_fv(0x20000, 0x48, auth);
        for (size_t n = 17; n < 0x48 + 16; n++)
                CHECK(varstore_parse(head, n, n).format == VARSTORE_UNKNOWN);
        /* ... while its first 16 bytes are zero: a tiny blank file, by the rule */
        CHECK(varstore_parse(head, 16, 16).format == VARSTORE_BLANK);
        /* a head shorter than the file says nothing past it, and is not blank either */
        CHECK(varstore_parse(head, 40, 131072).format == VARSTORE_UNKNOWN);
        /* the signature missing */
        make_fv(0x20000, 0x48, auth);
        head[40] = 'X';
        CHECK(varstore_parse(head, sizeof(head), 131072).format == VARSTORE_UNKNOWN);
}

static void test_blank(void) {
        Varstore v;

        memset(head, 0, sizeof(head));
        v = varstore_parse(head, sizeof(head), UINT64_C(64) << 20);
        CHECK(v.format == VARSTORE_BLANK);
        CHECK(v.size == UINT64_C(64) << 20 && v.volume_size == 0);
        /* a small file read whole */
        CHECK(varstore_parse(head, 512, 512).format == VARSTORE_BLANK);
        /* a short read of a large file proves nothing */
        CHECK(varstore_parse(head, 512, UINT64_C(64) << 20).format == VARSTORE_UNKNOWN);
        /* one byte set anywhere in the head */
        head[VARSTORE_HEAD_MAX - 1] = 1;
        CHECK(varstore_parse(head, sizeof(head), UINT64_C(64) << 20).format == VARSTORE_UNKNOWN);
        /* an empty file is no varstore */
        CHECK(varstore_parse(head, 0, 0).format == VARSTORE_UNKNOWN);
        CHECK(varstore_parse(NULL, 0, 0).format == VARSTORE_UNKNOWN);
}

static void test_json(void) {
        const char *ok[] = { "{\"version\": 2, \"variables\": []}", "  \n{ \"variables\": [", "{\"version\":2" };
        const char *bad[] = { "[]", "{\"name\": 1}", "{", "", "   ", "{\"versio" };

        for (size_t i = 0; i < ELEMENTSOF(ok); i++) {
                size_t n = strlen(ok[i]);
                CHECK(varstore_parse((const uint8_t *) ok[i], n, n).format == VARSTORE_JSON);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                CHECK(varstore_parse((const uint8_t *) bad[i], strlen(bad[i]), strlen(bad[i])).format !=
                      VARSTORE_JSON);
}

static void make_qcow2(uint32_t version, uint32_t cluster_bits, uint64_t size) {
        memset(head, 0, sizeof(head));
        memcpy(head, "QFI\xfb", 4);
        for (int i = 0; i < 4; i++) {
                head[4 + i] = (uint8_t) (version >> (24 - 8 * i));
                head[20 + i] = (uint8_t) (cluster_bits >> (24 - 8 * i));
        }
        for (int i = 0; i < 8; i++)
                head[24 + i] = (uint8_t) (size >> (56 - 8 * i));
}

static void test_qcow2(void) {
        Varstore v;

        make_qcow2(3, 16, 540672);
        v = varstore_parse(head, 4096, 196608);
        CHECK(v.format == VARSTORE_QCOW2);
        CHECK(v.size == 540672 && v.file_size == 196608 && v.volume_size == 0);

        make_qcow2(2, 16, 131072);
        CHECK(varstore_parse(head, 4096, 4096).format == VARSTORE_QCOW2);
        /* absurd sizes, versions and clusters */
        make_qcow2(3, 16, UINT64_MAX);
        CHECK(varstore_parse(head, 4096, 4096).format == VARSTORE_UNKNOWN);
        make_qcow2(3, 16, 0);
        CHECK(varstore_parse(head, 4096, 4096).format == VARSTORE_UNKNOWN);
        make_qcow2(7, 16, 131072);
        CHECK(varstore_parse(head, 4096, 4096).format == VARSTORE_UNKNOWN);
        make_qcow2(3, 64, 131072);
        CHECK(varstore_parse(head, 4096, 4096).format == VARSTORE_UNKNOWN);
        /* truncated inside the header */
        make_qcow2(3, 16, 131072);
        CHECK(varstore_parse(head, 31, 31).format == VARSTORE_UNKNOWN);
}

static void test_fits(void) {
        Varstore auth_2m = { VARSTORE_EDK2_AUTHENTICATED, 131072, 131072, 0x20000 },
                 auth_4m = { VARSTORE_EDK2_AUTHENTICATED, 540672, 540672, 0x84000 },
                 plain_4m = { VARSTORE_EDK2, 540672, 540672, 0x84000 },
                 odd_4m = { VARSTORE_EDK2_AUTHENTICATED, 540672, 540672, 0x40000 },
                 blank_4m = { VARSTORE_BLANK, 540672, 540672, 0 },
                 blank_64m = { VARSTORE_BLANK, 67108864, 67108864, 0 },
                 aavmf = { VARSTORE_EDK2_AUTHENTICATED, 67108864, 67108864, 0xc0000 },
                 qcow2_4m = { VARSTORE_QCOW2, 196608, 540672, 0 },
                 unknown_4m = { VARSTORE_UNKNOWN, 540672, 540672, 0 };

        CHECK(varstore_fits(&auth_2m, &auth_2m));
        CHECK(!varstore_fits(&auth_2m, &auth_4m));
        CHECK(!varstore_fits(&auth_4m, &auth_2m));
        CHECK(varstore_fits(&auth_4m, &auth_4m));
        CHECK(!varstore_fits(&plain_4m, &auth_4m));       /* same size, other format */
        CHECK(!varstore_fits(&odd_4m, &auth_4m));         /* same size, other volume length */
        CHECK(varstore_fits(&blank_4m, &auth_4m));        /* only one side is a volume: size decides */
        CHECK(varstore_fits(&blank_64m, &aavmf));
        CHECK(varstore_fits(&blank_64m, &blank_64m));
        CHECK(!varstore_fits(&blank_64m, &auth_4m));
        CHECK(varstore_fits(&qcow2_4m, &auth_4m));        /* qcow2: the virtual size counts */
        CHECK(varstore_fits(&unknown_4m, &auth_4m));
        CHECK(!varstore_fits(&qcow2_4m, &auth_2m));
}

static void test_read_fd(void) {
        _cleanup_(freep) char *dir = test_tmpdir_new(), *fifo = path_join(dir, "fifo");
        Varstore v;
        int fd;

        /* a sparse 64 MiB file: one bounded read, blank */
        _cleanup_(freep) char *sparse = path_join(dir, "sparse.fd");
        fd = open(sparse, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        CHECK(fd >= 0);
        CHECK(ftruncate(fd, 64 << 20) == 0);
        CHECK(lseek(fd, 12, SEEK_SET) == 12);
        CHECK(varstore_read_fd(fd, &v) == 0);
        CHECK(v.format == VARSTORE_BLANK && v.size == 64 << 20);
        CHECK(lseek(fd, 0, SEEK_CUR) == 12);             /* pread: the caller's offset stays */
        close(fd);

        /* a write-only descriptor cannot be read */
        fd = open(sparse, O_WRONLY | O_CLOEXEC);
        CHECK(fd >= 0);
        CHECK(varstore_read_fd(fd, &v) == -EBADF);
        close(fd);

        /* a directory and a FIFO are no varstores */
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        CHECK(varstore_read_fd(fd, &v) == -EBADFD);
        close(fd);
        CHECK(mkfifo(fifo, 0600) == 0);
        fd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        CHECK(fd >= 0);
        CHECK(varstore_read_fd(fd, &v) == -EBADFD);
        close(fd);
        test_tmpdir_remove(dir);
}

/* Debian's real stores, where installed: the layouts DESIGN section 9 names. */
static void test_debian(void) {
        static const struct {
                const char *path;
                VarstoreFormat format;
                uint64_t volume;
        } stores[] = {
                { "/usr/share/OVMF/OVMF_VARS.fd", VARSTORE_EDK2_AUTHENTICATED, 0x20000 },
                { "/usr/share/OVMF/OVMF_VARS.ms.fd", VARSTORE_EDK2_AUTHENTICATED, 0x20000 },
                { "/usr/share/OVMF/OVMF_VARS_4M.fd", VARSTORE_EDK2_AUTHENTICATED, 0x84000 },
                { "/usr/share/OVMF/OVMF_VARS_4M.ms.fd", VARSTORE_EDK2_AUTHENTICATED, 0x84000 },
                { "/usr/share/AAVMF/AAVMF_VARS.fd", VARSTORE_BLANK, 0 },
                { "/usr/share/AAVMF/AAVMF_VARS.ms.fd", VARSTORE_EDK2_AUTHENTICATED, 0xc0000 },
        };

        for (size_t i = 0; i < ELEMENTSOF(stores); i++) {
                int fd = open(stores[i].path, O_RDONLY | O_CLOEXEC);
                Varstore v;

                if (fd < 0) {
                        fprintf(stderr, "'%s' is not installed, skipping.\n", stores[i].path);
                        continue;
                }
                CHECK(varstore_read_fd(fd, &v) == 0);
                close(fd);
                _cleanup_(freep) char *s = varstore_to_string(&v);
                fprintf(stderr, "%s: %s\n", stores[i].path, s);
                CHECK(v.format == stores[i].format);
                CHECK(v.volume_size == stores[i].volume);
        }
}

int main(void) {
        RUN(test_edk2);
        RUN(test_edk2_broken);
        RUN(test_blank);
        RUN(test_json);
        RUN(test_qcow2);
        RUN(test_fits);
        RUN(test_read_fd);
        RUN(test_debian);
        return 0;
}
