/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "cache-file.h"

static uint32_t get_le32(const uint8_t *p) {
        return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

static uint64_t get_le64(const uint8_t *p) {
        return (uint64_t) get_le32(p) | (uint64_t) get_le32(p + 4) << 32;
}

static void set_le32(uint8_t *p, uint32_t v) {
        for (int i = 0; i < 4; i++)
                p[i] = (uint8_t) (v >> (8 * i));
}

static void set_le64(uint8_t *p, uint64_t v) {
        set_le32(p, (uint32_t) v);
        set_le32(p + 4, (uint32_t) (v >> 32));
}

/* CRC-64 as XZ computes it (ECMA-182 polynomial, reflected, all ones in and out). It tells a torn or damaged
 * file, which is all it is for: a file someone wrote on purpose is refused by its owner and mode instead. Not
 * OpenSSL's SHA-256: initializing libcrypto costs a start that finds everything in the cache several
 * milliseconds, as much as all the rest of its work. */
static void crc64_table(uint64_t table[256]) {
        for (unsigned i = 0; i < 256; i++) {
                uint64_t c = i;
                for (int k = 0; k < 8; k++)
                        c = c & 1 ? (c >> 1) ^ UINT64_C(0xc96c5795d7870f42) : c >> 1;
                table[i] = c;
        }
}

static uint64_t crc64_feed(const uint64_t table[256], uint64_t crc, const void *data, size_t n) {
        const uint8_t *p = data;

        for (size_t i = 0; i < n; i++)
                crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
        return crc;
}

uint64_t cache_file_crc64(const void *data, size_t size) {
        uint64_t table[256];

        crc64_table(table);
        return ~crc64_feed(table, UINT64_MAX, data, size);
}

/* The header's checksum: of its first 32 bytes, then of the payload. */
static uint64_t cache_checksum(const uint8_t *header, const void *payload, size_t size) {
        uint64_t table[256];

        crc64_table(table);
        return ~crc64_feed(table, crc64_feed(table, UINT64_MAX, header, 32), payload, size);
}

/* Sets *ret_why and returns error, or -ENOMEM when the reason cannot be written down. */
static int refuse_with(char **ret_why, char *why, int error) {
        if (!why)
                return -ENOMEM;
        *ret_why = why;
        return error;
}

static int refuse(char **ret_why, char *why) {
        return refuse_with(ret_why, why, -EBADMSG);
}

/* What someone else put there: not read at all. */
static int refuse_foreign(char **ret_why, char *why) {
        return refuse_with(ret_why, why, -EPERM);
}

int cache_file_parse(const uint8_t *data, size_t size, uint32_t version, const uint8_t **ret_payload,
                     size_t *ret_size, char **ret_why) {
        uint64_t n;

        if (size < CACHE_FILE_HEADER_SIZE)
                return refuse(ret_why, strdup_printf("truncated: %zu bytes, shorter than the header", size));
        if (memcmp(data, CACHE_FILE_MAGIC, 8) != 0)
                return refuse(ret_why, strdup("not a cache file (wrong magic)"));
        if (get_le32(data + 8) != version)
                return refuse(ret_why, strdup_printf("format version %" PRIu32 ", this daemon reads %" PRIu32,
                                                     get_le32(data + 8), version));
        for (size_t i = 40; i < CACHE_FILE_HEADER_SIZE; i++)
                if (data[i] != 0)
                        return refuse(ret_why, strdup("reserved header fields are set"));
        if (get_le32(data + 12) != 0 || get_le64(data + 24) != 0)
                return refuse(ret_why, strdup("reserved header fields are set"));
        n = get_le64(data + 16);
        if (n > size - CACHE_FILE_HEADER_SIZE)
                return refuse(ret_why, strdup_printf("truncated: %zu of %" PRIu64 " payload bytes",
                                                     size - CACHE_FILE_HEADER_SIZE, n));
        if (n < size - CACHE_FILE_HEADER_SIZE)
                return refuse(ret_why, strdup_printf("%" PRIu64 " bytes after the payload",
                                                     (uint64_t) (size - CACHE_FILE_HEADER_SIZE - n)));
        if (cache_checksum(data, data + CACHE_FILE_HEADER_SIZE, (size_t) n) != get_le64(data + 32))
                return refuse(ret_why, strdup("checksum mismatch"));
        *ret_payload = data + CACHE_FILE_HEADER_SIZE;
        *ret_size = (size_t) n;
        return 0;
}

static const char *file_type_name(mode_t mode) {
        switch (mode & S_IFMT) {
        case S_IFDIR: return "a directory";
        case S_IFIFO: return "a FIFO";
        case S_IFSOCK: return "a socket";
        case S_IFCHR: return "a character device";
        case S_IFBLK: return "a block device";
        default: return "not a regular file";
        }
}

/* Reads all of fd, at most max bytes (one more is read to tell a file that grew past it). */
static int read_bounded(int fd, size_t max, uint8_t **ret, size_t *ret_size) {
        _cleanup_(freep) uint8_t *buf = malloc(max + 1);
        size_t n = 0;

        if (!buf)
                return -ENOMEM;
        while (n <= max) {
                ssize_t k = read(fd, buf + n, max + 1 - n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                if (k == 0)
                        break;
                n += (size_t) k;
        }
        if (n > max)
                return -EFBIG;
        *ret = TAKE_PTR(buf);
        *ret_size = n;
        return 0;
}

int cache_file_read(int dir_fd, const char *name, uint32_t version, uint8_t **ret_data,
                    const uint8_t **ret_payload, size_t *ret_size, char **ret_why) {
        _cleanup_(closep) int fd = -1;
        _cleanup_(freep) uint8_t *data = NULL;
        struct stat st;
        size_t size = 0;
        int r;

        /* O_NONBLOCK: a FIFO planted here must not hang the start; O_NOFOLLOW: nor lead elsewhere */
        fd = openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (fd < 0 && errno == ELOOP)
                return refuse_foreign(ret_why, strdup("a symbolic link"));
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return refuse_foreign(ret_why, strdup(file_type_name(st.st_mode)));
        if (st.st_uid != geteuid())
                return refuse_foreign(ret_why, strdup_printf("owned by uid %u, not by this daemon's uid %u",
                                                             (unsigned) st.st_uid, (unsigned) geteuid()));
        if (st.st_mode & (S_IWGRP | S_IWOTH))
                return refuse_foreign(ret_why, strdup_printf("writable by others (mode %04o)",
                                                             (unsigned) (st.st_mode & 07777)));
        if (st.st_size > (off_t) CACHE_FILE_SIZE_MAX)
                return refuse(ret_why, strdup_printf("%" PRIu64 " bytes long, more than %u",
                                                     (uint64_t) st.st_size, CACHE_FILE_SIZE_MAX));
        r = read_bounded(fd, CACHE_FILE_SIZE_MAX, &data, &size);
        if (r == -EFBIG)
                return refuse(ret_why, strdup_printf("grew past %u bytes while it was read", CACHE_FILE_SIZE_MAX));
        if (r < 0)
                return r;
        r = cache_file_parse(data, size, version, ret_payload, ret_size, ret_why);
        if (r < 0)
                return r;
        *ret_data = TAKE_PTR(data);
        return 0;
}

static int write_all(int fd, const void *p, size_t n) {
        while (n > 0) {
                ssize_t k = write(fd, p, n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                p = (const uint8_t *) p + k;
                n -= (size_t) k;
        }
        return 0;
}

/* A new temporary file beside name, created exclusively: nothing planted there is followed or reused. */
static int open_temporary(int dir_fd, const char *name, char **ret_name) {
        for (int attempt = 0; attempt < 16; attempt++) {
                uint64_t x;
                char *tmp;
                int fd;

                if (getrandom(&x, sizeof(x), GRND_NONBLOCK) != sizeof(x))
                        x = now_nsec() ^ ((uint64_t) getpid() << 40) ^ (uint64_t) attempt;
                tmp = strdup_printf(".%s.%016" PRIx64, name, x);
                if (!tmp)
                        return -ENOMEM;
                fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0644);
                if (fd >= 0) {
                        *ret_name = tmp;
                        return fd;
                }
                free(tmp);
                if (errno != EEXIST)
                        return -errno;
        }
        return -EEXIST;
}

int cache_file_pack(uint32_t version, const void *payload, size_t size, uint8_t **ret, size_t *ret_size) {
        _cleanup_(freep) uint8_t *data = NULL;

        if (size > CACHE_FILE_SIZE_MAX - CACHE_FILE_HEADER_SIZE)
                return -EFBIG;
        data = calloc(1, CACHE_FILE_HEADER_SIZE + size);
        if (!data)
                return -ENOMEM;
        memcpy(data, CACHE_FILE_MAGIC, 8);
        set_le32(data + 8, version);
        set_le64(data + 16, size);
        if (size > 0)
                memcpy(data + CACHE_FILE_HEADER_SIZE, payload, size);
        set_le64(data + 32, cache_checksum(data, data + CACHE_FILE_HEADER_SIZE, size));
        *ret = TAKE_PTR(data);
        *ret_size = CACHE_FILE_HEADER_SIZE + size;
        return 0;
}

int cache_file_write(int dir_fd, const char *name, uint32_t version, const void *payload, size_t size) {
        _cleanup_(freep) uint8_t *data = NULL;
        _cleanup_(freep) char *tmp = NULL;
        size_t n;
        int fd, r;

        r = cache_file_pack(version, payload, size, &data, &n);
        if (r < 0)
                return r;
        fd = open_temporary(dir_fd, name, &tmp);
        if (fd < 0)
                return fd;
        /* no fsync: a file torn by a crash fails its checksum and costs one fresh computation */
        r = write_all(fd, data, n);
        if (close(fd) < 0 && r >= 0)
                r = -errno;
        if (r >= 0 && renameat(dir_fd, tmp, dir_fd, name) < 0)
                r = -errno;
        if (r < 0)
                (void) unlinkat(dir_fd, tmp, 0);
        return r;
}

void cache_put_u8(StrBuf *b, uint8_t v) {
        strbuf_append(b, (const char *) &v, 1);
}

void cache_put_u16(StrBuf *b, uint16_t v) {
        uint8_t p[2] = { (uint8_t) v, (uint8_t) (v >> 8) };
        strbuf_append(b, (const char *) p, sizeof(p));
}

void cache_put_u32(StrBuf *b, uint32_t v) {
        uint8_t p[4];
        set_le32(p, v);
        strbuf_append(b, (const char *) p, sizeof(p));
}

void cache_put_u64(StrBuf *b, uint64_t v) {
        uint8_t p[8];
        set_le64(p, v);
        strbuf_append(b, (const char *) p, sizeof(p));
}

void cache_put_string(StrBuf *b, const char *s) {
        size_t n = s ? strlen(s) : 0;

        if (n > UINT16_MAX) {   /* no caller has such strings: fail the whole buffer rather than cut one */
                b->oom = true;
                return;
        }
        cache_put_u16(b, (uint16_t) n);
        strbuf_append(b, s ?: "", n);
}

size_t cache_put_record_begin(StrBuf *b, uint8_t type) {
        cache_put_u8(b, type);
        cache_put_u32(b, 0);
        return b->len;
}

void cache_put_record_end(StrBuf *b, size_t at) {
        if (b->oom || at < 4 || at > b->len || b->len - at > UINT32_MAX)
                return;
        set_le32((uint8_t *) b->buf + at - 4, (uint32_t) (b->len - at));
}

bool cache_read_bytes(CacheReader *r, void *buf, size_t n) {
        if (r->failed || r->n < n) {
                r->failed = true;
                return false;
        }
        if (n > 0)
                memcpy(buf, r->p, n);
        r->p += n;
        r->n -= n;
        return true;
}

bool cache_read_u8(CacheReader *r, uint8_t *ret) {
        return cache_read_bytes(r, ret, 1);
}

bool cache_read_u16(CacheReader *r, uint16_t *ret) {
        uint8_t p[2];

        if (!cache_read_bytes(r, p, sizeof(p)))
                return false;
        *ret = (uint16_t) (p[0] | p[1] << 8);
        return true;
}

bool cache_read_u32(CacheReader *r, uint32_t *ret) {
        uint8_t p[4];

        if (!cache_read_bytes(r, p, sizeof(p)))
                return false;
        *ret = get_le32(p);
        return true;
}

bool cache_read_u64(CacheReader *r, uint64_t *ret) {
        uint8_t p[8];

        if (!cache_read_bytes(r, p, sizeof(p)))
                return false;
        *ret = get_le64(p);
        return true;
}

int cache_read_string(CacheReader *r, size_t max, char **ret) {
        uint16_t n;
        char *s;

        if (!cache_read_u16(r, &n) || n > max || n > r->n) {
                r->failed = true;
                return -EBADMSG;
        }
        for (size_t i = 0; i < n; i++)
                if (r->p[i] < 0x20 || r->p[i] == 0x7f) {
                        r->failed = true;
                        return -EBADMSG;
                }
        if (!utf8_is_valid_n((const char *) r->p, n)) {
                r->failed = true;
                return -EBADMSG;
        }
        s = strndup((const char *) r->p, n);
        if (!s)
                return -ENOMEM;
        r->p += n;
        r->n -= n;
        *ret = s;
        return 0;
}

int cache_read_record(CacheReader *r, uint8_t *ret_type, CacheReader *ret_body) {
        uint32_t n;

        if (!r->failed && r->n == 0)
                return 0;
        if (!cache_read_u8(r, ret_type) || !cache_read_u32(r, &n) || n > r->n) {
                r->failed = true;
                return -EBADMSG;
        }
        *ret_body = (CacheReader) { .p = r->p, .n = n };
        r->p += n;
        r->n -= n;
        return 1;
}
