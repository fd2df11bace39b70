/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Request decoding as the daemon does it: bytes turned into an a{sv} through sd-bus message construction
 * (keys, value types and values all chosen by the input), decoded by bus_read_request() and, when accepted,
 * resolved, explained and listed against a fixed catalogue. Strings reach past the request's 4,096 bytes
 * and lists past its 1,024 elements (made from a few input bytes: a length and a fill pattern), and every
 * D-Bus type a caller could send is built. */

#include "bus/bus-request.h"
#include "fuzz-util.h"
#include "resolver/resolver.h"

static sd_bus *bus;
static Catalogue *catalogue;

static const char *const keys[] = {
        "architecture", "machine", "interface", "features", "device", "mode", "formats", "smm", "check-files",
        "exclude", "executable", "nvram-template", "include-invalid", "include-masked", "include-shadowed",
        "offset", "limit", "archtecture", "", "x",
};

#define FUZZ_STRING_MAX 5000U     /* past REQUEST_STRING_MAX */
#define FUZZ_LIST_MAX 1100U       /* past REQUEST_LIST_MAX */

static uint16_t take_u16(FuzzInput *in) {
        return (uint16_t) (fuzz_take_byte(in) << 8 | fuzz_take_byte(in));
}

/* A string from the input: either up to 255 bytes copied from it, or (high bit of the first byte) up to
 * max bytes of a pattern (long lists get short elements, past the 256 bytes of a feature name: megabytes
 * of request only slow the fuzzer down), numbered by index so that list elements differ (sd-bus refuses
 * invalid UTF-8 itself). buf has FUZZ_STRING_MAX + 32 bytes. */
static void take_string(FuzzInput *in, char *buf, unsigned index, size_t max) {
        uint8_t b = fuzz_take_byte(in);

        if (b & 0x80) {
                size_t len = take_u16(in) % (max + 1);
                char fill = (char) (' ' + fuzz_take_byte(in) % 95);
                int n = snprintf(buf, 32, "%u", index);
                if ((size_t) n > len)
                        n = (int) len;
                memset(buf + n, fill, len - (size_t) n);
                buf[len] = 0;
                return;
        }
        buf[fuzz_take_bytes(in, buf, b)] = 0;
}

static unsigned take_count(FuzzInput *in) {
        uint8_t b = fuzz_take_byte(in);
        return b & 0x80 ? take_u16(in) % (FUZZ_LIST_MAX + 1) : b % 16;
}

static int append_value(sd_bus_message *m, FuzzInput *in) {
        static char s[FUZZ_STRING_MAX + 32];
        int r;

        switch (fuzz_take_byte(in) % 14) {
        case 0:
                take_string(in, s, 0, FUZZ_STRING_MAX);
                return sd_bus_message_append(m, "v", "s", s);
        case 1:
                return sd_bus_message_append(m, "v", "b", fuzz_take_byte(in) & 1);
        case 2:
                return sd_bus_message_append(m, "v", "u", (uint32_t) take_u16(in) << (fuzz_take_byte(in) % 17));
        case 3: {
                r = sd_bus_message_open_container(m, 'v', "as");
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'a', "s");
                unsigned n = take_count(in);
                FuzzInput saved = *in;
                for (unsigned i = 0; r >= 0 && i < n; i++) {
                        *in = saved;            /* the same recipe for each, numbered */
                        take_string(in, s, i, n > 64 ? 300 : FUZZ_STRING_MAX);
                        r = sd_bus_message_append_basic(m, 's', s);
                }
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                return r < 0 ? r : sd_bus_message_close_container(m);
        }
        case 4: {
                r = sd_bus_message_open_container(m, 'v', "a{sb}");
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'a', "{sb}");
                unsigned n = take_count(in);
                FuzzInput saved = *in;
                for (unsigned i = 0; r >= 0 && i < n; i++) {
                        *in = saved;
                        take_string(in, s, i, n > 64 ? 300 : FUZZ_STRING_MAX);
                        r = sd_bus_message_append(m, "{sb}", s, (int) (i & 1));
                }
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                return r < 0 ? r : sd_bus_message_close_container(m);
        }
        case 5:
                return sd_bus_message_append(m, "v", "a{sb}", 0);
        case 6:
                return sd_bus_message_append(m, "v", "i", (int32_t) fuzz_take_byte(in) - 128);
        case 7:
                return sd_bus_message_append(m, "v", "t", (uint64_t) take_u16(in) << 32);
        case 8:
                return sd_bus_message_append(m, "v", "y", fuzz_take_byte(in));
        case 9:
                return sd_bus_message_append(m, "v", "o", "/x/y");
        case 10:
                return sd_bus_message_append(m, "v", "d", (double) take_u16(in));
        case 11:
                return sd_bus_message_append(m, "v", "v", "s", "x86_64");       /* a variant in the variant */
        case 12:
                return sd_bus_message_append(m, "v", "a{sv}", 1, "architecture", "s", "x86_64");
        default:
                return sd_bus_message_append(m, "v", "(sb)", "secure-boot", 1);
        }
}

static int build_request(FuzzInput *in, sd_bus_message **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, "io.github.fwregistryd.FirmwareRegistry1", "/", "x.y", "Resolve");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        for (int i = 0; r >= 0 && i < 16 && in->n > 0; i++) {
                uint8_t k = fuzz_take_byte(in);
                static char custom[FUZZ_STRING_MAX + 32];
                const char *key = keys[k % ELEMENTSOF(keys)];

                if (k >= 0xf0) {
                        take_string(in, custom, 0, FUZZ_STRING_MAX);
                        key = custom;
                }
                r = sd_bus_message_open_container(m, 'e', "sv");
                if (r >= 0)
                        r = sd_bus_message_append_basic(m, 's', key);
                if (r >= 0)
                        r = append_value(m, in);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
        }
        r = fuzz_message_finish(m, r);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

static int setup(void) {
        char *dirs[] = { (char *) FUZZ_CATALOGUE_DIR, NULL };
        int r;

        r = fuzz_bus_new(&bus);
        if (r < 0)
                return r;
        return catalogue_build(dirs, NULL, NULL, &catalogue);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_(request_done) Request req = {};
        sd_bus_error error = SD_BUS_ERROR_NULL;
        FuzzInput in = { data + 1, size > 0 ? size - 1 : 0 };
        bool list = size > 0 && (data[0] & 1);

        if (size > 65536)
                return 0;
        if (!bus && setup() < 0)
                abort();
        if (build_request(&in, &m) < 0)
                return 0;

        int nvram_fd = -1;
        int r = bus_read_request(m, list, &req, &nvram_fd, &error);
        if (r >= 0 && nvram_fd >= 0) {
                /* what the daemon does off the event loop, here in line */
                Varstore nvram = {};
                r = bus_request_set_nvram(&req, varstore_read_fd(nvram_fd, &nvram), &nvram, &error);
        }
        if (r >= 0 && list) {
                request_look_up_paths(&req, catalogue);
                for (size_t i = 0; i < catalogue->n_entries; i++)
                        (void) resolver_match(catalogue, &catalogue->entries[i], &req, REQUEST_FILTER, NULL);
        }
        if (r >= 0 && req.has_architecture) {
                _cleanup_(explanation_done) Explanation x = {};
                const Entry *e = NULL;
                int resolved = resolver_resolve(catalogue, &req, &e);

                if (resolver_explain(catalogue, &req, &x) >= 0) {
                        _cleanup_(freep) char *kept = explanation_summary(&x, &req), *walked = NULL;

                        /* the bus makes NoMatch in one walk, fwregistryctl from kept verdicts: they agree */
                        if (resolved >= 0 && x.selected != e)
                                abort();
                        if (kept && resolver_summarize(catalogue, &req, &walked) >= 0 && !streq(kept, walked))
                                abort();
                }
                free(request_to_string(&req, REQUEST_RESOLVE));
        }
        sd_bus_error_free(&error);
        return 0;
}
