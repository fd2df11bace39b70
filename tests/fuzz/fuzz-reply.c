/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The client's reply decoding: a List reply built from the input (generation, items with object paths and
 * a{sv} entries whose keys are the API's, a newer daemon's or made up, each with a value of the right type
 * or another) is read by remote_read_list_page(), as fwregistryctl reads every page. */

#include <sys/socket.h>

#include "fuzz.h"
#include "remote.h"

static sd_bus *bus;

static const char *const keys[] = {
        "name", "path", "rank", "generation", "description", "interface-types", "device", "mode", "executable",
        "executable-format", "nvram-template", "nvram-template-format", "uefi-vars-template", "features",
        "requires-smm", "targets", "tags", "valid", "problems", "files-ok", "state", "executable-size", "x",
};

typedef struct Input {
        const uint8_t *p;
        size_t n;
} Input;

static uint8_t take_byte(Input *in) {
        uint8_t b = 0;
        if (in->n > 0) {
                b = *in->p++;
                in->n--;
        }
        return b;
}

static void take_string(Input *in, char buf[static 256]) {
        size_t len = take_byte(in);

        if (len > in->n)
                len = in->n;
        if (len > 255)
                len = 255;
        memcpy(buf, in->p, len);
        buf[len] = 0;
        in->p += len;
        in->n -= len;
}

static int append_value(sd_bus_message *m, Input *in) {
        char s[256];

        switch (take_byte(in) % 9) {
        case 0:
                take_string(in, s);
                return sd_bus_message_append(m, "v", "s", s);
        case 1:
                return sd_bus_message_append(m, "v", "b", take_byte(in) & 1);
        case 2:
                return sd_bus_message_append(m, "v", "u", (uint32_t) take_byte(in) << 24);
        case 3:
                return sd_bus_message_append(m, "v", "t", (uint64_t) take_byte(in) << 40);
        case 4: {
                char a[256], b[256];
                take_string(in, a);
                take_string(in, b);
                return sd_bus_message_append(m, "v", "as", 2, a, b);
        }
        case 5: {
                char a[256], b[256];
                take_string(in, a);
                take_string(in, b);
                return sd_bus_message_append(m, "v", "a(sas)", 2, a, 1, b, "x86_64", 0);
        }
        case 6:
                return sd_bus_message_append(m, "v", "as", 0);
        case 7:
                return sd_bus_message_append(m, "v", "a(sas)", 0);
        default:
                return sd_bus_message_append(m, "v", "i", -1);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        Input in = { data, size };
        RemoteEntry *entries = NULL;
        uint64_t generation;
        size_t n = 0, items;
        int r;

        if (size > 65536)
                return 0;
        if (!bus) {
                int fds[2];
                if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0 || sd_bus_new(&bus) < 0 ||
                    sd_bus_set_fd(bus, fds[0], fds[0]) < 0 || sd_bus_start(bus) < 0)
                        abort();
        }

        r = sd_bus_message_new_method_call(bus, &m, "x.y", "/", "x.y", "List");
        if (r >= 0)
                r = sd_bus_message_append(m, "t", (uint64_t) take_byte(&in));
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(oa{sv})");
        for (unsigned i = take_byte(&in) % 8; r >= 0 && i > 0; i--) {
                r = sd_bus_message_open_container(m, 'r', "oa{sv}");
                if (r >= 0)
                        r = sd_bus_message_append(m, "o", take_byte(&in) & 1 ? "/" : "/a/b");
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'a', "{sv}");
                for (unsigned k = take_byte(&in) % 32; r >= 0 && k > 0; k--) {
                        r = sd_bus_message_open_container(m, 'e', "sv");
                        if (r >= 0)
                                r = sd_bus_message_append_basic(m, 's', keys[take_byte(&in) % ELEMENTSOF(keys)]);
                        if (r >= 0)
                                r = append_value(m, &in);
                        if (r >= 0)
                                r = sd_bus_message_close_container(m);
                }
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_seal(m, 1, 0);
        if (r >= 0)
                r = sd_bus_message_rewind(m, true);
        if (r < 0)
                return 0;

        (void) remote_read_list_page(m, &generation, &entries, &n, &items);
        remote_entries_free(entries, n);
        return 0;
}
