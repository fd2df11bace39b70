/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* A Boot#### variable's data as a load option, and the same bytes as a bare device path. */

#include "efi/device-path.h"
#include "efi/load-option.h"
#include "fuzz-efi.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(efi_problems_done) EfiProblems problems = {};
        _cleanup_(efi_load_option_done) EfiLoadOption o = {};
        _cleanup_(freep) char *path = NULL;

        if (size > FUZZ_INPUT_MAX)
                return 0;
        assert(efi_load_option_parse(data, size, "Boot0000", &problems, &o) == 0);
        assert(utf8_is_valid(o.description) && strlen(o.description) <= EFI_LOAD_OPTION_DESCRIPTION_MAX);
        assert(utf8_is_valid(o.device_path) && o.optional_data_size <= size);
        assert(efi_device_path_to_text(data, size, "Boot0000", &problems, &path) == 0);
        assert(utf8_is_valid(path) && strlen(path) < EFI_DEVICE_PATH_TEXT_MAX + 1024);
        fuzz_check_strv(problems.list, EFI_PROBLEMS_MAX);
        return 0;
}
