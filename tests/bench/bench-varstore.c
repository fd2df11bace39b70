/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The CPU one varstore read costs (DESIGN section 8: under 1 ms for a 540 KiB edk2 store, whole: variables,
 * certificates, boot entries): from memory, and through a file descriptor with the file in the page cache.
 *   bench-varstore [STORE...]      default: Debian 12's OVMF_VARS_4M.ms.fd */

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

#include "efi/varstore-report.h"

#define ROUNDS 2000U

static uint64_t cpu_nsec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        return (uint64_t) ts.tv_sec * UINT64_C(1000000000) + (uint64_t) ts.tv_nsec;
}

static int bench(const char *path) {
        _cleanup_(closep) int fd = open(path, O_RDONLY | O_CLOEXEC);
        _cleanup_(freep) uint8_t *data = NULL;
        uint64_t start, parse, read;
        struct stat st;
        size_t n;

        if (fd < 0 || fstat(fd, &st) < 0) {
                fprintf(stderr, "skipping '%s': %m\n", path);
                return 0;
        }
        n = (size_t) st.st_size < EFI_VOLUME_MAX ? (size_t) st.st_size : EFI_VOLUME_MAX;
        data = malloc(n);
        if (!data || varstore_pread(fd, data, n, 0) != (ssize_t) n)
                return -EIO;
        start = cpu_nsec();
        for (unsigned i = 0; i < ROUNDS; i++) {
                VarstoreReport *r = NULL;

                if (varstore_report_parse(data, n, (uint64_t) st.st_size, (uint64_t) time(NULL), &r) < 0)
                        return -ENOMEM;
                varstore_report_free(r);
        }
        parse = (cpu_nsec() - start) / ROUNDS;
        start = cpu_nsec();
        for (unsigned i = 0; i < ROUNDS; i++) {
                VarstoreReport *r = NULL;
                int k = varstore_report_read_fd(fd, (uint64_t) time(NULL), &r);

                if (k < 0)
                        return k;
                varstore_report_free(r);
        }
        read = (cpu_nsec() - start) / ROUNDS;
        {
                _cleanup_(varstore_report_freep) VarstoreReport *r = NULL;

                if (varstore_report_read_fd(fd, (uint64_t) time(NULL), &r) < 0)
                        return -EIO;
                printf("%s: %" PRIu64 " bytes, volume 0x%" PRIx64 ", %zu variables, %zu certificates, %zu dbx "
                       "entries, %zu boot entries\n", path, (uint64_t) st.st_size, r->layout.volume_size,
                       r->variables ? r->variables->n : 0, r->n_certificates, r->n_dbx, r->n_boot_entries);
        }
        printf("  CPU per read, from memory:           %7.1f us\n", parse / 1000.0);
        printf("  CPU per read, through the fd (cached): %5.1f us   (target: under 1000 us)\n", read / 1000.0);
        return 0;
}

int main(int argc, char **argv) {
        static char *const defaults[] = { (char *) "/usr/share/OVMF/OVMF_VARS_4M.ms.fd", NULL };
        char *const *paths = argc > 1 ? argv + 1 : defaults;

        for (; *paths; paths++)
                if (bench(*paths) < 0) {
                        fprintf(stderr, "'%s': reading failed\n", *paths);
                        return 1;
                }
        return 0;
}
