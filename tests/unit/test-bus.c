/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The bound on Describe's reply: the size check itself, with small bounds, and the worst descriptor the
 * limits allow, rendered as Describe renders it, against BUS_REPLY_SIZE_MAX. */

#include "bus/bus-entry.h"
#include "resolver/render.h"
#include "tests.h"

static void test_string_reply_fits(void) {
        size_t size = 256 + 4 + strlen("abcd") + 1 + 7;

        CHECK(bus_string_reply_fits("abcd", size));
        CHECK(!bus_string_reply_fits("abcd", size - 1));
        CHECK(bus_string_reply_fits("", size - 4));
        CHECK(!bus_string_reply_fits("abcde", size));
}

static void test_too_large(void) {
        sd_bus_error error = SD_BUS_ERROR_NULL;

        CHECK(bus_reply_too_large(&error, "Describe", "read the file") < 0);
        CHECK_STREQ(error.name, BUS_ERROR_TOO_LARGE);
        CHECK(strstr(error.message, "Describe") && strstr(error.message, "read the file"));
        sd_bus_error_free(&error);
}

/* Appends s, or aborts: the generator has room for one descriptor. */
static void put(char *buf, size_t *n, const char *s) {
        size_t len = strlen(s);

        CHECK(*n + len < DESCRIPTOR_SIZE_MAX + 4096);
        memcpy(buf + *n, s, len + 1);
        *n += len;
}

/* The descriptor that grows most when rendered. Indentation and punctuation are added per value, and a
 * document holds at most 100,000 values (json.h's max_values in descriptor.c): so as many values as that
 * allows, each as short as it can be (an empty machine type, then one character each, as duplicates are
 * dropped), nested where the schema nests deepest (targets[].machines[]); then the rest of the 1 MiB in
 * long tags, which are rendered at their own size. */
static char *worst_descriptor(size_t *ret_size) {
        static const char *const head =
                "{\"description\":\"\",\"interface-types\":[\"uefi\"],"
                "\"mapping\":{\"device\":\"memory\",\"filename\":\"/x\"},\"targets\":[";
        char *buf = malloc(DESCRIPTOR_SIZE_MAX + 4096);
        size_t n = 0;

        CHECK(buf);
        put(buf, &n, head);
        for (size_t t = 0; t < DESCRIPTOR_LIST_MAX; t++) {
                put(buf, &n, t > 0 ? ",{\"architecture\":\"arm\",\"machines\":[\"\"" :
                                     "{\"architecture\":\"arm\",\"machines\":[\"\"");
                for (int c = 0x20; c < 0x7f; c++)       /* one character, but no quote or backslash */
                        if (c != '"' && c != '\\')
                                put(buf, &n, (char[]) { ',', '"', (char) c, '"', 0 });
                put(buf, &n, "]}");
        }
        put(buf, &n, "],\"features\":[],\"tags\":[");
        for (int k = 0; n + 64 < DESCRIPTOR_SIZE_MAX; k++) {
                size_t len = DESCRIPTOR_SIZE_MAX - n - 64;

                if (len > DESCRIPTOR_STRING_MAX - 1)
                        len = DESCRIPTOR_STRING_MAX - 1;
                put(buf, &n, k > 0 ? ",\"" : "\"");
                memset(buf + n, 'a' + k % 26, len);
                n += len;
                put(buf, &n, "\"");
        }
        put(buf, &n, "]}");
        *ret_size = n;
        return buf;
}

static void test_describe_worst_case(void) {
        _cleanup_(descriptor_unrefp) Descriptor *d = NULL;
        _cleanup_(freep) char *doc = NULL, *json = NULL;
        char path[] = "/usr/share/qemu/firmware/50-worst.json";
        size_t size;

        doc = worst_descriptor(&size);
        CHECK(size <= DESCRIPTOR_SIZE_MAX);
        CHECK(size > DESCRIPTOR_SIZE_MAX / 100 * 99);
        CHECK(descriptor_parse(doc, size, &d) >= 0);
        CHECK(d->n_targets == DESCRIPTOR_LIST_MAX);
        CHECK(strv_length(d->targets[DESCRIPTOR_LIST_MAX - 1].machines) == 94);

        Entry e = { .path = path, .name = strrchr(path, '/') + 1, .descriptor = d, .state = ENTRY_INVALID };
        json = render_describe(&e, "system", UINT64_MAX);
        CHECK(json);
        fprintf(stderr, "worst descriptor: %zu bytes, Describe's JSON: %zu bytes (%.2fx)\n", size, strlen(json),
                (double) strlen(json) / (double) size);
        /* what io.github.fwregistryd.FirmwareRegistry1(5) says: under 2 MiB, a quarter of the bound, which
         * leaves room for the problems and paths this file does not have */
        CHECK(strlen(json) < 2 * DESCRIPTOR_SIZE_MAX);
        CHECK(bus_string_reply_fits(json, BUS_REPLY_SIZE_MAX / 4));
}

int main(void) {
        RUN(test_string_reply_fits);
        RUN(test_too_large);
        RUN(test_describe_worst_case);
        return 0;
}
