/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the targets that build structured input share: a cursor that hands out the input a few bytes at a
 * time (zeros once it runs dry), and a bus to build messages on. Only for the fuzz targets. */

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <systemd/sd-bus.h>

#include "fuzz.h"

/* A cursor over the input. */
typedef struct FuzzInput {
        const uint8_t *p;
        size_t n;
} FuzzInput;

/* The next byte, or 0 once the input is used up. */
static inline uint8_t fuzz_take_byte(FuzzInput *in) {
        uint8_t b = 0;

        if (in->n > 0) {
                b = *in->p++;
                in->n--;
        }
        return b;
}

/* Up to len bytes into buf (fewer when the input ends first); returns how many. */
static inline size_t fuzz_take_bytes(FuzzInput *in, void *buf, size_t len) {
        if (len > in->n)
                len = in->n;
        memcpy(buf, in->p, len);
        in->p += len;
        in->n -= len;
        return len;
}

/* A bus that messages can be built on: it has only begun to authenticate, so nothing is ever sent. Returns
 * 0 or a negative errno. */
static inline int fuzz_bus_new(sd_bus **ret) {
        sd_bus *bus = NULL;
        int fds[2];

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0)
                return -errno;
        if (sd_bus_new(&bus) < 0 || sd_bus_set_fd(bus, fds[0], fds[0]) < 0 || sd_bus_start(bus) < 0) {
                sd_bus_unref(bus);
                return -EIO;
        }
        *ret = bus;
        return 0;
}

/* Ends a message built on that bus: closes its outermost container (r: how building it went), seals it and
 * rewinds it for reading. Returns 0 or a negative errno (r, when that was one). */
static inline int fuzz_message_finish(sd_bus_message *m, int r) {
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_seal(m, 1, 0);
        if (r >= 0)
                r = sd_bus_message_rewind(m, true);
        return r < 0 ? r : 0;
}
