/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The varstore layout parser on arbitrary heads, read as whole files, as the head of a larger file and cut
 * short, then the fit rule and the message text for whatever it made of them. */

#include "fuzz.h"
#include "efi/varstore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const Varstore templates[] = {
                { VARSTORE_EDK2_AUTHENTICATED, 540672, 540672, 0x84000 },
                { VARSTORE_BLANK, 67108864, 67108864, 0 },
        };
        Varstore v[3];

        if (size > VARSTORE_HEAD_MAX + 1)
                return 0;
        v[0] = varstore_parse(data, size, size);
        v[1] = varstore_parse(data, size, (uint64_t) size + (UINT64_C(64) << 20));
        v[2] = varstore_parse(data, size / 2, size);
        for (size_t i = 0; i < ELEMENTSOF(v); i++) {
                /* nothing read may claim more than the file holds, except qcow2's virtual size */
                if (varstore_is_edk2(&v[i]) && v[i].volume_size > v[i].file_size)
                        __builtin_trap();
                if (v[i].format != VARSTORE_QCOW2 && v[i].size != v[i].file_size)
                        __builtin_trap();
                free(varstore_to_string(&v[i]));
                for (size_t t = 0; t < ELEMENTSOF(templates); t++)
                        (void) varstore_fits(&v[i], &templates[t]);
                if (!varstore_fits(&v[i], &v[i]))
                        __builtin_trap();
        }
        return 0;
}
