/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <inttypes.h>
#include <stdio.h>
#include <sys/stat.h>

#include "varstore.h"

const char *varstore_format_to_string(VarstoreFormat f) {
        static const char *const table[_VARSTORE_FORMAT_MAX] = {
                [VARSTORE_UNKNOWN] = "",
                [VARSTORE_EDK2_AUTHENTICATED] = "edk2-authenticated",
                [VARSTORE_EDK2] = "edk2",
                [VARSTORE_BLANK] = "blank",
                [VARSTORE_JSON] = "json",
                [VARSTORE_QCOW2] = "qcow2",
        };
        return f >= 0 && f < _VARSTORE_FORMAT_MAX ? table[f] : NULL;
}

VarstoreFormat varstore_format_from_string(const char *s) {
        for (int f = 0; s && f < _VARSTORE_FORMAT_MAX; f++)
                if (streq(varstore_format_to_string(f), s))
                        return f;
        return _VARSTORE_FORMAT_INVALID;
}

/* GUIDs as they are laid out in the file (the first three fields little endian). */
static const uint8_t guid_nv_data_fv[16] = {            /* fff12b8d-7696-4c8b-a985-2747075b4f50 */
        0x8d, 0x2b, 0xf1, 0xff, 0x96, 0x76, 0x8b, 0x4c, 0xa9, 0x85, 0x27, 0x47, 0x07, 0x5b, 0x4f, 0x50,
};
static const uint8_t guid_auth_vars[16] = {             /* aaf32c78-947b-439a-a180-2e144ec37792 */
        0x78, 0x2c, 0xf3, 0xaa, 0x7b, 0x94, 0x9a, 0x43, 0xa1, 0x80, 0x2e, 0x14, 0x4e, 0xc3, 0x77, 0x92,
};
static const uint8_t guid_vars[16] = {                  /* ddcf3616-3275-4164-98b6-fe85707ffe7d */
        0x16, 0x36, 0xcf, 0xdd, 0x75, 0x32, 0x64, 0x41, 0x98, 0xb6, 0xfe, 0x85, 0x70, 0x7f, 0xfe, 0x7d,
};

/* Offsets in an edk2 firmware volume header (PI specification, EFI_FIRMWARE_VOLUME_HEADER). */
#define FVH_GUID_OFFSET 16U
#define FVH_LENGTH_OFFSET 32U
#define FVH_SIGNATURE_OFFSET 40U
#define FVH_HEADER_LENGTH_OFFSET 48U
#define FVH_HEADER_LENGTH_MIN 0x48U     /* the fixed part plus one block map entry and its terminator */

static uint64_t le64(const uint8_t *p) {
        uint64_t v = 0;
        for (int i = 7; i >= 0; i--)
                v = v << 8 | p[i];
        return v;
}

static uint16_t le16(const uint8_t *p) {
        return (uint16_t) (p[0] | p[1] << 8);
}

static uint64_t be64(const uint8_t *p) {
        uint64_t v = 0;
        for (int i = 0; i < 8; i++)
                v = v << 8 | p[i];
        return v;
}

static uint32_t be32(const uint8_t *p) {
        return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

static bool parse_edk2(const uint8_t *head, size_t n, uint64_t file_size, Varstore *v) {
        uint64_t length;
        uint16_t header_length;

        if (n < FVH_HEADER_LENGTH_OFFSET + 2 || memcmp(head + FVH_GUID_OFFSET, guid_nv_data_fv, 16) != 0 ||
            memcmp(head + FVH_SIGNATURE_OFFSET, "_FVH", 4) != 0)
                return false;
        length = le64(head + FVH_LENGTH_OFFSET);
        header_length = le16(head + FVH_HEADER_LENGTH_OFFSET);
        /* the store GUID must lie inside the head, the header inside the volume, the volume inside the file */
        if (header_length < FVH_HEADER_LENGTH_MIN || (size_t) header_length + 16 > n ||
            length < (uint64_t) header_length + 16 || length > file_size)
                return false;
        if (memcmp(head + header_length, guid_auth_vars, 16) == 0)
                v->format = VARSTORE_EDK2_AUTHENTICATED;
        else if (memcmp(head + header_length, guid_vars, 16) == 0)
                v->format = VARSTORE_EDK2;
        else
                return false;
        v->volume_size = length;
        return true;
}

/* qcow2: magic, version 2 or 3, a sane cluster size, and a virtual size a varstore could have. */
static bool parse_qcow2(const uint8_t *head, size_t n, Varstore *v) {
        uint32_t version, cluster_bits;
        uint64_t size;

        if (n < 32 || memcmp(head, "QFI\xfb", 4) != 0)
                return false;
        version = be32(head + 4);
        cluster_bits = be32(head + 20);
        size = be64(head + 24);
        if ((version != 2 && version != 3) || cluster_bits < 9 || cluster_bits > 21 || size == 0 ||
            size > VARSTORE_QCOW2_SIZE_MAX)
                return false;
        v->format = VARSTORE_QCOW2;
        v->size = size;
        return true;
}

static bool is_json_space(uint8_t c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* QEMU's uefi-vars store is an object whose members are "version" and "variables": the head need only
 * open that object with one of them. The whole file may be far larger than the head, so it is not parsed. */
static bool parse_json(const uint8_t *head, size_t n, Varstore *v) {
        static const char *const keys[] = { "\"version\"", "\"variables\"" };
        size_t i = 0;

        while (i < n && is_json_space(head[i]))
                i++;
        if (i >= n || head[i] != '{')
                return false;
        i++;
        while (i < n && is_json_space(head[i]))
                i++;
        for (size_t k = 0; k < ELEMENTSOF(keys); k++) {
                size_t len = strlen(keys[k]);
                if (n - i >= len && memcmp(head + i, keys[k], len) == 0) {
                        v->format = VARSTORE_JSON;
                        return true;
                }
        }
        return false;
}

static bool all_zero(const uint8_t *p, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (p[i] != 0)
                        return false;
        return true;
}

Varstore varstore_parse(const uint8_t *head, size_t n, uint64_t file_size) {
        Varstore v = { .format = VARSTORE_UNKNOWN, .file_size = file_size, .size = file_size };

        if (n > file_size)      /* a head longer than the file is not believed past the file */
                n = (size_t) file_size;
        if (n > VARSTORE_HEAD_MAX)
                n = VARSTORE_HEAD_MAX;
        if (n == 0 || !head)
                return v;
        if (parse_qcow2(head, n, &v) || parse_edk2(head, n, file_size, &v) || parse_json(head, n, &v))
                return v;
        /* blank only when the whole head was there to look at: a short read proves nothing */
        if (n >= (file_size < VARSTORE_HEAD_MAX ? file_size : VARSTORE_HEAD_MAX) && all_zero(head, n))
                v.format = VARSTORE_BLANK;
        return v;
}

ssize_t varstore_pread(int fd, void *buf, size_t n, uint64_t offset) {
        size_t done = 0;

        while (done < n) {
                ssize_t k = pread(fd, (uint8_t *) buf + done, n - done, (off_t) (offset + done));

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        break;
                done += (size_t) k;
        }
        return (ssize_t) done;
}

int varstore_read_fd(int fd, Varstore *ret) {
        _cleanup_(freep) uint8_t *head = NULL;
        struct stat st;
        size_t want, n;
        ssize_t k;

        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        want = (uint64_t) st.st_size < VARSTORE_HEAD_MAX ? (size_t) st.st_size : VARSTORE_HEAD_MAX;
        head = malloc(want ?: 1);
        if (!head)
                return -ENOMEM;
        k = varstore_pread(fd, head, want, 0);
        if (k < 0)
                return (int) k;
        n = (size_t) k;         /* less than wanted: the file shrank since the fstat, and what was read is it */
        /* a file that is not readable at all must not pass for an empty one */
        if (want == 0 && pread(fd, head, 1, 0) < 0)
                return -errno;
        *ret = varstore_parse(head, n, n < want ? n : (uint64_t) st.st_size);
        return 0;
}

bool varstore_fits(const Varstore *store, const Varstore *template) {
        if (store->size != template->size)
                return false;
        if (varstore_is_edk2(store) && varstore_is_edk2(template))
                return store->format == template->format && store->volume_size == template->volume_size;
        return true;
}

char *varstore_to_string(const Varstore *v) {
        switch (v->format) {
        case VARSTORE_EDK2_AUTHENTICATED:
        case VARSTORE_EDK2:
                return strdup_printf("%s volume 0x%" PRIx64 ", %" PRIu64 " bytes",
                                     varstore_format_to_string(v->format), v->volume_size, v->size);
        case VARSTORE_QCOW2:
                return strdup_printf("qcow2, virtual size %" PRIu64 " bytes", v->size);
        case VARSTORE_BLANK:
        case VARSTORE_JSON:
                return strdup_printf("%s, %" PRIu64 " bytes", varstore_format_to_string(v->format), v->size);
        default:
                return strdup_printf("unknown layout, %" PRIu64 " bytes", v->size);
        }
}
