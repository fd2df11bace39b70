/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include "cursor.h"
#include "device-path.h"
#include "load-option.h"
#include "utf16.h"
#include "util/util.h"

void efi_load_option_done(EfiLoadOption *o) {
        free(o->description);
        free(o->device_path);
        *o = (EfiLoadOption) {};
}

/* The length in bytes of the NUL-terminated UTF-16 string at the cursor, its NUL included, or 0 when the
 * data ends first. */
static size_t utf16_length(const Cursor *c) {
        for (size_t i = 0; i + 1 < c->left; i += 2)
                if (c->p[i] == 0 && c->p[i + 1] == 0)
                        return i + 2;
        return 0;
}

int efi_load_option_parse(const uint8_t *p, size_t n, const char *what, EfiProblems *problems,
                          EfiLoadOption *ret) {
        _cleanup_(efi_load_option_done) EfiLoadOption o = {};
        Cursor c = cursor_make(p, n, 0), path;
        uint16_t path_length = 0;
        size_t description;
        int r;

        if (!cursor_u32(&c, &o.attributes) || !cursor_u16(&c, &path_length))
                efi_problems_add(problems, "%s: load option of %zu bytes, shorter than its header", what, n);
        description = utf16_length(&c);
        if (description == 0 && n >= 6)
                efi_problems_add(problems, "%s: description without a terminating NUL", what);
        r = utf16le_to_utf8(c.p, description, EFI_LOAD_OPTION_DESCRIPTION_MAX, &o.description, NULL);
        if (r < 0)
                return r;
        (void) cursor_skip(&c, description ?: c.left);
        if (!cursor_sub(&c, path_length, &path)) {
                if (description > 0)
                        efi_problems_add(problems, "%s: device path list of %u bytes runs past the %zu bytes of "
                                         "the load option", what, path_length, n);
                (void) cursor_sub(&c, c.left, &path);
        }
        r = efi_device_path_to_text(path.p, path.left, what, problems, &o.device_path);
        if (r < 0)
                return r;
        o.optional_data_size = c.left;
        *ret = o;
        o = (EfiLoadOption) {};
        return 0;
}
