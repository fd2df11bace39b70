/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "convert-fd.h"

static int set_error(char **ret_error, int r, char *message) {
        if (ret_error) {
                free(*ret_error);
                *ret_error = message;
        } else
                free(message);
        return r;
}

/* Reads a whole regular file of at most max bytes from offset 0. Returns 0 with the bytes and their count, or
 * -EBADFD (not a regular file), -EFBIG (larger than max), or a negative errno. */
static int read_whole(int fd, size_t max, uint8_t **ret, size_t *ret_size) {
        _cleanup_(freep) uint8_t *buf = NULL;
        struct stat st;
        size_t n = 0;

        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        if ((uint64_t) st.st_size > max)
                return -EFBIG;
        buf = malloc(st.st_size > 0 ? (size_t) st.st_size : 1);
        if (!buf)
                return -ENOMEM;
        while (n < (size_t) st.st_size) {
                ssize_t k = pread(fd, buf + n, (size_t) st.st_size - n, (off_t) n);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                if (k == 0)
                        break;          /* the file shrank meanwhile: what is there */
                n += (size_t) k;
        }
        *ret = TAKE_PTR(buf);
        *ret_size = n;
        return 0;
}

static int read_source(int fd, EfiVariableList **ret, char **ret_error) {
        _cleanup_(freep) uint8_t *data = NULL;
        _cleanup_(efi_variable_list_freep) EfiVariableList *l = NULL;
        Varstore layout;
        size_t n;
        int r;

        r = read_whole(fd, EFI_VOLUME_MAX, &data, &n);
        if (r == -EBADFD)
                return set_error(ret_error, -EINVAL, strdup("the source is not a regular file"));
        if (r == -EFBIG)
                return set_error(ret_error, -EBADMSG, strdup_printf("the source is larger than %u bytes, which no "
                                                                     "varstore is", EFI_VOLUME_MAX));
        if (r < 0)
                return r;
        layout = varstore_parse(data, n < VARSTORE_HEAD_MAX ? n : VARSTORE_HEAD_MAX, n);
        if (varstore_is_edk2(&layout))
                r = efi_variables_parse_edk2(data, n, n, &l);
        else if (layout.format == VARSTORE_JSON)
                r = efi_variables_parse_json((const char *) data, n, &l);
        else {
                _cleanup_(freep) char *what = varstore_to_string(&layout);
                return set_error(ret_error, -EBADMSG, strdup_printf("the source holds no variables to move (%s)",
                                                                     what ? what : "?"));
        }
        if (r < 0)
                return r;
        if (l->problems)
                return set_error(ret_error, -EBADMSG, strdup_printf("the source cannot be read whole: %s%s",
                                                                     l->problems[0], l->problems[1] ? " (and more)" :
                                                                     ""));
        *ret = TAKE_PTR(l);
        return 0;
}

static int check_target(int fd, char **ret_error) {
        struct stat st;
        int flags;

        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return set_error(ret_error, -EINVAL, strdup("the target is not a regular file"));
        if (st.st_size != 0)
                return set_error(ret_error, -EINVAL, strdup_printf("the target is not empty (%jd bytes): the new "
                                                                     "store goes into an empty file",
                                                                     (intmax_t) st.st_size));
        flags = fcntl(fd, F_GETFL);
        if (flags < 0)
                return -errno;
        if ((flags & O_ACCMODE) == O_RDONLY || (flags & O_APPEND))
                return set_error(ret_error, -EINVAL, strdup("the target is not open for writing (O_WRONLY or "
                                                             "O_RDWR, without O_APPEND)"));
        return 0;
}

static int write_all(int fd, const uint8_t *p, size_t n) {
        for (size_t done = 0; done < n;) {
                ssize_t k = pwrite(fd, p + done, n - done, (off_t) done);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                done += (size_t) k;
        }
        return fsync(fd) < 0 ? -errno : 0;
}

int varstore_convert_fd(int source, int template, int target, ConvertKeys keys, ConvertResult **ret,
                        EfiStoreSpace *ret_space, char **ret_error) {
        _cleanup_(efi_variable_list_freep) EfiVariableList *vars = NULL;
        _cleanup_(convert_result_freep) ConvertResult *result = NULL;
        _cleanup_(freep) uint8_t *tmpl = NULL;
        size_t tmpl_size;
        int r;

        r = check_target(target, ret_error);
        if (r < 0)
                return r;
        r = read_source(source, &vars, ret_error);
        if (r < 0)
                return r;
        r = read_whole(template, EFI_VOLUME_MAX, &tmpl, &tmpl_size);
        if (r == -EBADFD || r == -EFBIG)
                return set_error(ret_error, -EINVAL, strdup("the template is not a regular file of a varstore's "
                                                             "size"));
        if (r < 0)
                return r;
        r = varstore_convert(vars, tmpl, tmpl_size, keys, &result, ret_space, ret_error);
        if (r < 0)
                return r;
        r = write_all(target, result->data, result->size);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(result);
        return 0;
}
