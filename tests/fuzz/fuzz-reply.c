/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The client's reply decoding: a List reply built from the input (generation, items with object paths and
 * a{sv} entries whose keys are the API's, a newer daemon's or made up, each with a value of the right type
 * or another) is read by remote_read_list_page(), as fwregistryctl reads every page. */

#include "fuzz-util.h"
#include "remote-reply.h"

static sd_bus *bus;

static const char *const keys[] = {
        "name", "path", "rank", "generation", "description", "interface-types", "device", "mode", "executable",
        "executable-format", "nvram-template", "nvram-template-format", "uefi-vars-template", "features",
        "requires-smm", "targets", "tags", "valid", "problems", "files-ok", "state", "executable-size", "x",
};

/* Up to 255 bytes of the input, as a string. */
static void take_string(FuzzInput *in, char buf[static 256]) {
        buf[fuzz_take_bytes(in, buf, fuzz_take_byte(in))] = 0;
}

static int append_value(sd_bus_message *m, FuzzInput *in) {
        char s[256];

        switch (fuzz_take_byte(in) % 9) {
        case 0:
                take_string(in, s);
                return sd_bus_message_append(m, "v", "s", s);
        case 1:
                return sd_bus_message_append(m, "v", "b", fuzz_take_byte(in) & 1);
        case 2:
                return sd_bus_message_append(m, "v", "u", (uint32_t) fuzz_take_byte(in) << 24);
        case 3:
                return sd_bus_message_append(m, "v", "t", (uint64_t) fuzz_take_byte(in) << 40);
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
        FuzzInput in = { data, size };
        RemoteEntry *entries = NULL;
        uint64_t generation;
        size_t n = 0, items;
        int r;

        if (size > 65536)
                return 0;
        if (!bus && fuzz_bus_new(&bus) < 0)
                abort();

        r = sd_bus_message_new_method_call(bus, &m, "x.y", "/", "x.y", "List");
        if (r >= 0)
                r = sd_bus_message_append(m, "t", (uint64_t) fuzz_take_byte(&in));
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(oa{sv})");
        for (unsigned i = fuzz_take_byte(&in) % 8; r >= 0 && i > 0; i--) {
                r = sd_bus_message_open_container(m, 'r', "oa{sv}");
                if (r >= 0)
                        r = sd_bus_message_append(m, "o", fuzz_take_byte(&in) & 1 ? "/" : "/a/b");
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'a', "{sv}");
                for (unsigned k = fuzz_take_byte(&in) % 32; r >= 0 && k > 0; k--) {
                        r = sd_bus_message_open_container(m, 'e', "sv");
                        if (r >= 0)
                                r = sd_bus_message_append_basic(m, 's', keys[fuzz_take_byte(&in) % ELEMENTSOF(keys)]);
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
        r = fuzz_message_finish(m, r);
        if (r < 0)
                return 0;

        (void) remote_read_list_page(m, &generation, &entries, &n, &items);
        remote_entries_free(entries, n);
        return 0;
}
