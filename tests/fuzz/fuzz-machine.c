/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Machine type matching: fnmatch() globs from a descriptor against a requested machine type, with alias
 * expansion. Input: one byte picks the architecture, then newline-separated lines: the requested machine
 * first, the target's globs after it. */

#include "fuzz.h"
#include "resolver/resolver.h"

static char **split_lines(const uint8_t *data, size_t size) {
        char **l = NULL;
        size_t start = 0;

        for (size_t i = 0; i <= size; i++) {
                if (i < size && data[i] != '\n')
                        continue;
                if (strv_consume(&l, strndup((const char *) data + start, i - start)) < 0)
                        return strv_free(l);
                start = i + 1;
        }
        return l;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(strv_freep) char **lines = NULL;
        _cleanup_(descriptor_unrefp) Descriptor *d = NULL;
        _cleanup_(strv_freep) char **reasons = NULL;
        Catalogue c = {};
        Architecture a;

        if (size < 1 || size > 4096)
                return 0;
        a = (Architecture) (data[0] % _ARCH_MAX);
        lines = split_lines(data + 1, size - 1);
        if (!lines || !lines[0])
                return 0;

        (void) machine_alias_expand(lines[0], a);

        d = descriptor_new();
        if (!d)
                return 0;
        d->targets = calloc(1, sizeof(Target));
        if (!d->targets)
                return 0;
        d->n_targets = 1;
        d->targets[0].architecture = a;
        d->targets[0].machines = strv_copy(lines + 1);
        d->architecture_mask = 1U << a;
        d->interface_mask = 1U << INTERFACE_UEFI;
        d->device = DEVICE_FLASH;
        d->mode = FLASH_MODE_SPLIT;
        if (!d->targets[0].machines)
                return 0;
        (void) descriptor_matches_target(d, a, lines[0]);

        /* and through the resolver, which tries the alias too */
        Entry e = { .path = (char *) "/fuzz.json", .name = "fuzz.json", .state = ENTRY_VALID, .descriptor = d,
                    .image.ok = true, .vars.ok = true };
        Request req = { .has_architecture = true, .architecture = a, .machine = lines[0] };
        (void) resolver_match(&c, &e, &req, REQUEST_FILTER, &reasons);
        return 0;
}
