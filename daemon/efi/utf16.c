/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include "util/util.h"
#include "utf16.h"

static size_t utf8_put(char *out, uint32_t c) {
        if (c < 0x80) {
                out[0] = (char) c;
                return 1;
        }
        if (c < 0x800) {
                out[0] = (char) (0xc0 | c >> 6);
                out[1] = (char) (0x80 | (c & 0x3f));
                return 2;
        }
        if (c < 0x10000) {
                out[0] = (char) (0xe0 | c >> 12);
                out[1] = (char) (0x80 | (c >> 6 & 0x3f));
                out[2] = (char) (0x80 | (c & 0x3f));
                return 3;
        }
        out[0] = (char) (0xf0 | c >> 18);
        out[1] = (char) (0x80 | (c >> 12 & 0x3f));
        out[2] = (char) (0x80 | (c >> 6 & 0x3f));
        out[3] = (char) (0x80 | (c & 0x3f));
        return 4;
}

/* What D-Bus would refuse, and what would let a name start a line of its own in a message. */
static bool code_point_unwanted(uint32_t c) {
        return c < 0x20 || c == 0x7f || (c >= 0xd800 && c <= 0xdfff) || (c >= 0xfdd0 && c <= 0xfdef) ||
                (c & 0xfffe) == 0xfffe;
}

int utf16le_to_utf8(const uint8_t *p, size_t n, size_t max_out, char **ret, size_t *ret_replaced) {
        size_t units = n / 2, len = 0, replaced = 0;
        char *out;

        /* four bytes of UTF-8 at most for each unit, and never more than the caller allows */
        out = malloc((units < max_out / 3 ? units * 3 : max_out) + 4 + 1);
        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < units; i++) {
                uint32_t c = (uint32_t) (p[2 * i] | p[2 * i + 1] << 8);
                char buf[4];
                size_t k;

                if (c == 0)
                        break;
                if (c >= 0xd800 && c <= 0xdbff && i + 1 < units) {
                        uint32_t d = (uint32_t) (p[2 * i + 2] | p[2 * i + 3] << 8);

                        if (d >= 0xdc00 && d <= 0xdfff) {
                                c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
                                i++;
                        }
                }
                if (code_point_unwanted(c)) {
                        c = 0xfffd;
                        replaced++;
                }
                k = utf8_put(buf, c);
                if (len + k > max_out) {
                        replaced++;
                        break;
                }
                memcpy(out + len, buf, k);
                len += k;
        }
        out[len] = 0;
        *ret = out;
        if (ret_replaced)
                *ret_replaced = replaced;
        return 0;
}

bool utf16le_is_terminated(const uint8_t *p, size_t n) {
        if (n < 2 || n % 2 != 0)
                return false;
        for (size_t i = 0; i + 2 < n; i += 2)
                if (p[i] == 0 && p[i + 1] == 0)
                        return false;
        return p[n - 2] == 0 && p[n - 1] == 0;
}
