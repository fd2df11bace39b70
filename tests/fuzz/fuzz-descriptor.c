/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The descriptor parser (and the bounded JSON reader under it) on arbitrary bytes, then everything that
 * renders a parsed descriptor: problem strings and the Describe JSON. */

#undef NDEBUG
#include <assert.h>

#include "fuzz.h"
#include "util/json.h"
#include "resolver/render.h"

/* results go here, so that calls to _pure_ functions are not optimised away */
static volatile size_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(descriptor_unrefp) Descriptor *d = NULL;
        Entry e = { .name = "fuzz.json", .state = ENTRY_INVALID, .vars.ok = true };

        if (size > FUZZ_INPUT_MAX)
                return 0;
        if (descriptor_parse((const char *) data, size, &d) < 0)
                return 0;

        for (size_t i = 0; i < d->n_problems; i++) {
                unsigned line, column;

                free(problem_to_string(&d->problems[i]));
                if (json_locate((const char *) data, size, d->problems[i].path, &line, &column) >= 0)
                        assert(line >= 1 && column >= 1);
        }
        const char *image = descriptor_image(d), *vars = descriptor_vars_template(d);
        sink += image ? strlen(image) : 0;
        sink += vars ? strlen(vars) : 0;

        e.path = (char *) "/fuzz/fuzz.json";
        e.descriptor = d;
        e.state = descriptor_is_valid(d) ? ENTRY_VALID : ENTRY_INVALID;
        free(render_describe(&e, "system", 1));
        return 0;
}
