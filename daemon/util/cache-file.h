/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A cache file: a fixed header (magic, format version, payload length, CRC-64 over both) and a payload of
 * typed, length-prefixed records that the caller encodes. It refuses to read anything but a regular file
 * that belongs to the reader alone, no larger than CACHE_FILE_SIZE_MAX, whose header and checksum hold; it
 * writes a temporary file and renames it into place. What the records mean, and whether to trust them, is
 * the caller's business: a cache is a hint, and this file only keeps it from being a broken one. */

#include <stdint.h>

#include "util.h"

/* No cache this project writes comes near it; a larger file is refused before a byte of it is read. */
#define CACHE_FILE_SIZE_MAX (4U * 1024U * 1024U)

/* Header, little endian: "FWRCACHE", u32 format version, u32 zero, u64 payload length, u64 zero, then the
 * CRC-64 (as XZ computes it) of the 32 bytes before it and of the payload, and 24 zero bytes. The payload
 * follows. */
#define CACHE_FILE_HEADER_SIZE 64U
#define CACHE_FILE_MAGIC "FWRCACHE"

/* Parses the bytes of a whole cache file of this format version. Returns 0 and the payload (pointing into
 * data), or -EBADMSG with why it is refused in *ret_why ("truncated", "checksum mismatch", "format version 3,
 * not 1", ...; NULL on ENOMEM). Pure: no I/O. */
int cache_file_parse(const uint8_t *data, size_t size, uint32_t version, const uint8_t **ret_payload,
                     size_t *ret_size, char **ret_why);

/* Opens name below dir_fd with O_NOFOLLOW|O_NONBLOCK, and reads it when it is a regular file owned by the
 * effective uid, writable by nobody else and at most CACHE_FILE_SIZE_MAX bytes long; then parses it. Returns
 * 0 with the file's bytes in *ret_data (freed by the caller) and its payload in *ret_payload; -ENOENT when
 * there is no such file; -EPERM with the reason in *ret_why when it is not the reader's own regular file (a
 * symlink, a FIFO, another owner, writable by others); -EBADMSG with the reason when its content is refused
 * (too large, anything cache_file_parse() refuses); or another negative errno of open() or read(), or
 * -ENOMEM. */
int cache_file_read(int dir_fd, const char *name, uint32_t version, uint8_t **ret_data,
                    const uint8_t **ret_payload, size_t *ret_size, char **ret_why);

/* The bytes of a cache file holding payload. Returns 0 and them (freed by the caller), -EFBIG when they would
 * be more than CACHE_FILE_SIZE_MAX, or -ENOMEM. Pure: no I/O. */
int cache_file_pack(uint32_t version, const void *payload, size_t size, uint8_t **ret, size_t *ret_size);

/* Writes payload as name below dir_fd: a new temporary file there, renamed over name once complete, so that
 * a reader sees the old file or the new one, never half of one; a crash leaves at worst a temporary file or
 * a torn one that the checksum refuses. Returns 0, -EFBIG when the payload does not fit CACHE_FILE_SIZE_MAX,
 * or the negative errno of the failing call (-EROFS, -ENOSPC, -EACCES, ...), with nothing left behind. */
int cache_file_write(int dir_fd, const char *name, uint32_t version, const void *payload, size_t size);

/* CRC-64 as XZ computes it (ECMA-182, reflected, all ones in and out) of data: "123456789" gives
 * 0x995dc9bbdf1939fa. */
uint64_t cache_file_crc64(const void *data, size_t size) _pure_;

/* Encoding records: integers little endian, strings as u16 length and bytes (no NUL). Failures (ENOMEM) are
 * remembered by the buffer: strbuf_steal() then returns NULL. */
void cache_put_u8(StrBuf *b, uint8_t v);
void cache_put_u16(StrBuf *b, uint16_t v);
void cache_put_u32(StrBuf *b, uint32_t v);
void cache_put_u64(StrBuf *b, uint64_t v);
void cache_put_string(StrBuf *b, const char *s);      /* NULL: the empty string */
/* A record is its type (u8) and the length (u32) of its body: begin returns where the length goes, end
 * fills it in. */
size_t cache_put_record_begin(StrBuf *b, uint8_t type);
void cache_put_record_end(StrBuf *b, size_t at);

/* Decoding: a cursor over a bounded buffer that only moves forward. Each call returns false, and leaves the
 * cursor failed (every later call fails too), when what it wants is not there. */
typedef struct CacheReader {
        const uint8_t *p;
        size_t n;
        bool failed;
} CacheReader;

bool cache_read_u8(CacheReader *r, uint8_t *ret);
bool cache_read_u16(CacheReader *r, uint16_t *ret);
bool cache_read_u32(CacheReader *r, uint32_t *ret);
bool cache_read_u64(CacheReader *r, uint64_t *ret);
bool cache_read_bytes(CacheReader *r, void *buf, size_t n);
/* A string of at most max bytes, valid UTF-8 without NUL or control characters. Returns 0, -EBADMSG or
 * -ENOMEM. */
int cache_read_string(CacheReader *r, size_t max, char **ret);
/* The next record: its type and a reader over exactly its body. Returns 1, 0 at the end of the payload, or
 * -EBADMSG when the record does not fit what is left. */
int cache_read_record(CacheReader *r, uint8_t *ret_type, CacheReader *ret_body);
