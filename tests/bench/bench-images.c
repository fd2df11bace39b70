/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Image facts: a scan of 10,000 descriptors sharing 100 distinct images with no facts cached (every image
 * hashed) and with the previous catalogue's cache (none hashed), a rebuild after one image changed (that
 * image hashed, nothing else), and Debian's installed set with a cold and a warm page cache. It prints
 * figures; it fails only on errors or when a rebuild hashes more than it should. */

#undef NDEBUG
#include <assert.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>

#include "catalogue/catalogue.h"
#include "bench-tree.h"

#define RUNS 5

static const char *const dirs[] = { SHARE_DIR, NULL };

static int compare_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y;
}

static double median(double *v, size_t n) {
        qsort(v, n, sizeof(double), compare_double);
        return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int write_image(const char *path, unsigned index, unsigned revision, size_t size) {
        _cleanup_(freep) uint8_t *buf = malloc(size);
        _cleanup_(closep) int fd = -1;

        if (!buf)
                return -ENOMEM;
        for (size_t i = 0; i < size; i++)
                buf[i] = (uint8_t) (i * 31 + index * 7 + revision);
        fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0 || pwrite(fd, buf, size, 0) != (ssize_t) size)
                return -errno;
        return 0;
}

static int write_tree(const char *root, unsigned n, unsigned n_images, size_t image_size) {
        _cleanup_(freep) char *share = path_join(root, SHARE_DIR + 1), *fw = path_join(root, "fw");
        char path[PATH_MAX];
        int r;

        if (!share || !fw)
                return -ENOMEM;
        snprintf(path, sizeof(path), "mkdir -p '%s' '%s'", share, fw);
        if (system(path) != 0)
                return -EIO;
        for (unsigned i = 0; i < n_images; i++) {
                snprintf(path, sizeof(path), "%s/IMG_%03u.fd", fw, i);
                r = write_image(path, i, 0, image_size);
                if (r < 0)
                        return r;
        }
        /* half the images are code, half templates: every descriptor names one of each */
        for (unsigned i = 0; i < n; i++) {
                FILE *f;

                snprintf(path, sizeof(path), "%s/%05u-bulk.json", share, i);
                f = fopen(path, "we");
                if (!f)
                        return -errno;
                fprintf(f, "{ \"description\": \"bulk %u\", \"interface-types\": [\"uefi\"], \"mapping\": {"
                        " \"device\": \"flash\", \"executable\": { \"filename\": \"/fw/IMG_%03u.fd\", \"format\": "
                        "\"raw\" }, \"nvram-template\": { \"filename\": \"/fw/IMG_%03u.fd\", "
                        "\"format\": \"raw\" } },"
                        " \"targets\": [ { \"architecture\": \"x86_64\", \"machines\": [\"pc-q35-*\"] } ],"
                        " \"features\": [], \"tags\": [] }\n", i, i % (n_images / 2),
                        n_images / 2 + i % (n_images / 2));
                fclose(f);
        }
        return 0;
}

/* Drops a file's pages from the page cache (clean pages only, no privileges needed). */
static void evict(const char *path) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);

        if (fd >= 0) {
                (void) fdatasync(fd);
                (void) posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
                close(fd);
        }
}

static double ms_since(uint64_t start) {
        return (double) (now_nsec() - start) / 1e6;
}

static int bench_bulk(unsigned n, unsigned n_images, size_t image_size) {
        _cleanup_(freep) char *root = strdup("/tmp/bench-images.XXXXXX");
        double cold[RUNS], warm[RUNS], update[RUNS], rescan[RUNS];
        Catalogue *c = NULL, *next = NULL;
        int r;

        if (!root || !mkdtemp(root))
                return -errno;
        r = write_tree(root, n, n_images, image_size);
        if (r < 0)
                goto finish;
        printf("tree: %u descriptors naming %u distinct images of %zu KiB in %s\n", n, n_images, image_size / 1024,
               root);

        for (int i = 0; i < RUNS; i++) {
                uint64_t start = now_nsec();

                catalogue_free(c);
                c = NULL;
                r = catalogue_build((char **) dirs, root, NULL, &c);
                if (r < 0)
                        goto finish;
                cold[i] = ms_since(start);
                assert(c->n_hashed == n_images);
        }
        for (int i = 0; i < RUNS; i++) {
                uint64_t start = now_nsec();

                r = catalogue_build((char **) dirs, root, c, &next);
                if (r < 0)
                        goto finish;
                warm[i] = ms_since(start);
                assert(next->n_hashed == 0);
                catalogue_free(c);
                c = TAKE_PTR(next);
        }
        for (int i = 0; i < RUNS; i++) {
                char path[PATH_MAX];
                uint64_t start;

                /* one image rewritten in place, as an upgrade that keeps the inode would */
                snprintf(path, sizeof(path), "%s/fw/IMG_%03u.fd", root, 7U);
                r = write_image(path, 7, (unsigned) i + 1, image_size);
                if (r < 0)
                        goto finish;
                start = now_nsec();
                r = catalogue_update(c, (char *[]) { NULL }, true, &next);
                if (r < 0)
                        goto finish;
                update[i] = ms_since(start);
                if (next->n_hashed != 1) {
                        fprintf(stderr, "a rebuild after one image changed hashed %" PRIu64 " images\n",
                                next->n_hashed);
                        r = -EBADMSG;
                        goto finish;
                }
                catalogue_free(c);
                c = TAKE_PTR(next);

                r = write_image(path, 7, (unsigned) i + 100, image_size);
                if (r < 0)
                        goto finish;
                start = now_nsec();
                r = catalogue_build((char **) dirs, root, c, &next);
                if (r < 0)
                        goto finish;
                rescan[i] = ms_since(start);
                assert(next->n_hashed == 1);
                catalogue_free(c);
                c = TAKE_PTR(next);
        }
        printf("scan, no facts cached:      median %8.2f ms (%u images hashed, %.0f MiB/s)\n", median(cold, RUNS),
               n_images, (double) n_images * (double) image_size / (1 << 20) / (median(cold, RUNS) / 1000));
        printf("scan, facts cached:         median %8.2f ms (0 images hashed)\n", median(warm, RUNS));
        printf("update, one image changed:  median %8.2f ms (catalogue_update, 1 image hashed)\n",
               median(update, RUNS));
        printf("rescan, one image changed:  median %8.2f ms (catalogue_build with the previous one, 1 hashed)\n",
               median(rescan, RUNS));
finish:
        catalogue_free(c);
        catalogue_free(next);
        tree_remove_path(root);
        if (r < 0)
                fprintf(stderr, "bulk benchmark failed: %s\n", strerror(-r));
        return r;
}

/* Debian's installed descriptors and images, hashed from a cold and from a warm page cache. */
static int bench_debian(void) {
        static const char *const debian[] = { "/usr/share/qemu/firmware", NULL };
        double cold[RUNS], warm[RUNS];
        uint64_t bytes = 0;
        Catalogue *c = NULL;
        int r;

        if (access("/usr/share/qemu/firmware/60-edk2-x86_64.json", R_OK) < 0) {
                printf("debian: ovmf is not installed, skipping\n");
                return 0;
        }
        for (int pass = 0; pass < 2; pass++)
                for (int i = 0; i < RUNS; i++) {
                        uint64_t start;

                        if (c && pass == 0)
                                for (size_t k = 0; k < c->n_entries; k++) {
                                        const Descriptor *d = c->entries[k].descriptor;
                                        if (c->entries[k].state != ENTRY_VALID)
                                                continue;
                                        evict(descriptor_image(d));
                                        if (descriptor_vars_template(d))
                                                evict(descriptor_vars_template(d));
                                }
                        catalogue_free(c);
                        c = NULL;
                        start = now_nsec();
                        r = catalogue_build((char **) debian, NULL, NULL, &c);
                        if (r < 0)
                                return r;
                        (pass == 0 ? cold : warm)[i] = ms_since(start);
                }
        /* what was hashed: every distinct file once */
        {
                struct stat st;
                dev_t seen_dev[64];
                ino_t seen_ino[64];
                size_t n_seen = 0;

                for (size_t k = 0; k < c->n_entries; k++)
                        for (int which = 0; which < 2; which++) {
                                const Entry *e = &c->entries[k];
                                const char *p = which ? descriptor_vars_template(e->descriptor)
                                                      : descriptor_image(e->descriptor);
                                bool dup = false;

                                if (e->state != ENTRY_VALID || !p || stat(p, &st) < 0)
                                        continue;
                                for (size_t s = 0; s < n_seen; s++)
                                        dup = dup || (seen_dev[s] == st.st_dev && seen_ino[s] == st.st_ino);
                                if (!dup && n_seen < ELEMENTSOF(seen_dev)) {
                                        seen_dev[n_seen] = st.st_dev;
                                        seen_ino[n_seen++] = st.st_ino;
                                        bytes += (uint64_t) st.st_size;
                                }
                        }
                printf("debian: %zu descriptors, %zu distinct images, %.1f MiB hashed per scan\n", c->n_entries,
                       n_seen, (double) bytes / (1 << 20));
        }
        printf("debian scan, page cache cold:  median %8.2f ms (%.0f MiB/s)\n", median(cold, RUNS),
               (double) bytes / (1 << 20) / (median(cold, RUNS) / 1000));
        printf("debian scan, page cache warm:  median %8.2f ms (%.0f MiB/s)\n", median(warm, RUNS),
               (double) bytes / (1 << 20) / (median(warm, RUNS) / 1000));
        catalogue_free(c);
        return 0;
}

int main(int argc, char *argv[]) {
        unsigned n = 10000, n_images = 100;
        size_t image_size = 1024 * 1024;
        int c;

        while ((c = getopt(argc, argv, "n:i:s:")) >= 0)
                switch (c) {
                case 'n':
                        n = (unsigned) strtoul(optarg, NULL, 10);
                        break;
                case 'i':
                        n_images = (unsigned) strtoul(optarg, NULL, 10);
                        break;
                case 's':
                        image_size = (size_t) strtoul(optarg, NULL, 10) * 1024;
                        break;
                default:
                        fprintf(stderr, "%s [-n DESCRIPTORS] [-i IMAGES] [-s IMAGE_KIB]\n", argv[0]);
                        return EXIT_FAILURE;
                }
        if (n < 1 || n_images < 2 || n_images % 2 || n_images > 1000 || image_size < 1024) {
                fprintf(stderr, "Need at least one descriptor and an even number of images from 2 to 1000.\n");
                return EXIT_FAILURE;
        }
        if (bench_bulk(n, n_images, image_size) < 0 || bench_debian() < 0)
                return EXIT_FAILURE;
        return EXIT_SUCCESS;
}
