/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include "efi/known-certificates.h"
#include "bus-request.h"

/* Limits on what a caller may send: far above any real request, far below anything that costs us. */
#define REQUEST_STRING_MAX 4096U
#define REQUEST_LIST_MAX 1024U

typedef enum RequestKey {
        KEY_ARCHITECTURE,
        KEY_MACHINE,
        KEY_INTERFACE,
        KEY_FEATURES,
        KEY_DEVICE,
        KEY_MODE,
        KEY_FORMATS,
        KEY_SMM,
        KEY_CHECK_FILES,
        KEY_EXCLUDE,
        KEY_EXECUTABLE,
        KEY_NVRAM_TEMPLATE,
        KEY_NVRAM,
        KEY_CERTIFICATES,
        KEY_INCLUDE_INVALID,            /* List only from here on */
        KEY_INCLUDE_MASKED,
        KEY_INCLUDE_SHADOWED,
        KEY_OFFSET,
        KEY_LIMIT,
        _KEY_MAX,
} RequestKey;

static const struct {
        const char *name;
        const char *signature;
} request_keys[_KEY_MAX] = {
        [KEY_ARCHITECTURE] = { "architecture", "s" },
        [KEY_MACHINE] = { "machine", "s" },
        [KEY_INTERFACE] = { "interface", "s" },
        [KEY_FEATURES] = { "features", "a{sb}" },
        [KEY_DEVICE] = { "device", "s" },
        [KEY_MODE] = { "mode", "s" },
        [KEY_FORMATS] = { "formats", "as" },
        [KEY_SMM] = { "smm", "b" },
        [KEY_CHECK_FILES] = { "check-files", "b" },
        [KEY_EXCLUDE] = { "exclude", "as" },
        [KEY_EXECUTABLE] = { "executable", "s" },
        [KEY_NVRAM_TEMPLATE] = { "nvram-template", "s" },
        [KEY_NVRAM] = { "nvram", "h" },
        [KEY_CERTIFICATES] = { "certificates", "as" },
        [KEY_INCLUDE_INVALID] = { "include-invalid", "b" },
        [KEY_INCLUDE_MASKED] = { "include-masked", "b" },
        [KEY_INCLUDE_SHADOWED] = { "include-shadowed", "b" },
        [KEY_OFFSET] = { "offset", "u" },
        [KEY_LIMIT] = { "limit", "u" },
};

static int request_key_lookup(const char *name, bool list) {
        for (int k = 0; k < (list ? _KEY_MAX : KEY_INCLUDE_INVALID); k++)
                if (streq(request_keys[k].name, name))
                        return k;
        return -EINVAL;
}

static int read_string(sd_bus_message *msg, const char *key, const char **ret, sd_bus_error *error) {
        const char *s;
        int r;

        r = sd_bus_message_read_basic(msg, 's', &s);
        if (r < 0)
                return r;
        if (isempty(s))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Key '%s' must not be empty", key);
        if (strlen(s) > REQUEST_STRING_MAX)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Key '%s' is longer than %u bytes",
                                         key, REQUEST_STRING_MAX);
        *ret = s;
        return 0;
}

/* Reads an "as" of at most REQUEST_LIST_MAX non-empty strings into a strv. */
static int read_strv(sd_bus_message *msg, const char *key, char ***ret, sd_bus_error *error) {
        _cleanup_(strv_freep) char **l = NULL;
        size_t n = 0;
        int r;

        r = sd_bus_message_enter_container(msg, 'a', "s");
        if (r < 0)
                return r;
        for (;;) {
                const char *s;

                r = sd_bus_message_read_basic(msg, 's', &s);
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                if (++n > REQUEST_LIST_MAX)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Key '%s' has more than %u elements", key, REQUEST_LIST_MAX);
                if (isempty(s) || strlen(s) > REQUEST_STRING_MAX)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Key '%s' has an empty or overlong element", key);
                if (!strv_contains(l, s) && strv_extend(&l, s) < 0)
                        return -ENOMEM;
        }
        r = sd_bus_message_exit_container(msg);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(l);
        return 0;
}

static int read_features(sd_bus_message *msg, Request *req, sd_bus_error *error) {
        size_t n = 0;
        int r;

        r = sd_bus_message_enter_container(msg, 'a', "{sb}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(msg, 'e', "sb")) > 0) {
                const char *name;
                int want;

                r = sd_bus_message_read_basic(msg, 's', &name);
                if (r >= 0)
                        r = sd_bus_message_read_basic(msg, 'b', &want);
                if (r < 0)
                        return r;
                if (++n > REQUEST_LIST_MAX)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Key 'features' has more than %u elements", REQUEST_LIST_MAX);
                if (isempty(name) || strlen(name) > 256)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Key 'features' has an empty or overlong feature name");
                r = request_set_feature(req, name, want);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(msg);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(msg);
}

static int read_path(sd_bus_message *msg, const char *key, char **ret, sd_bus_error *error) {
        const char *s;
        int r;

        r = read_string(msg, key, &s, error);
        if (r < 0)
                return r;
        if (s[0] != '/')
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Key '%s' must be an absolute path, got '%s'", key, s);
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

/* The caller's varstore: only the descriptor it sent is taken here (borrowed from the message), never a path,
 * which would be read with our privileges. It is read off the event loop (bus-io.c): the file may be on a
 * file system that never answers. */
static int read_nvram(sd_bus_message *msg, int *ret_fd) {
        return sd_bus_message_read_basic(msg, 'h', ret_fd);
}

int bus_request_set_nvram(Request *req, int result, const Varstore *nvram, sd_bus_error *error) {
        if (result == -ENOMEM)
                return result;
        if (result == -EBADFD)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
                                        "Key 'nvram' must be an open regular file (a VM's varstore)");
        if (result < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Key 'nvram' is not readable: %s", strerror(-result));
        req->nvram = *nvram;
        req->has_nvram = true;
        req->nvram_fd = -1;
        return 0;
}

/* Certificate ids as section 10 of the design names them: a known id or sha256:<64 lower-case hex>. */
static int read_certificates(sd_bus_message *msg, Request *req, sd_bus_error *error) {
        int r;

        r = read_strv(msg, "certificates", &req->certificates, error);
        if (r < 0)
                return r;
        STRV_FOREACH(id, req->certificates)
                if (!certificate_id_is_valid(*id))
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Unknown certificate '%s' in key 'certificates' (expected a known "
                                                 "id such as microsoft-kek-2023, or sha256: and 64 lower-case hex "
                                                 "digits)", *id);
        return 0;
}

#define READ_ENUM(lookup, field, has, what, expected)                                                   \
        do {                                                                                            \
                r = read_string(msg, key, &s, error);                                                   \
                if (r < 0)                                                                              \
                        return r;                                                                       \
                req->field = lookup(s);                                                                 \
                if ((int) req->field < 0)                                                               \
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,                      \
                                                 "Unknown " what " '%s' (expected %s)", s, expected);   \
                req->has = true;                                                                        \
        } while (0)

static int read_formats(sd_bus_message *msg, Request *req, sd_bus_error *error) {
        _cleanup_(strv_freep) char **l = NULL;
        int r;

        r = read_strv(msg, "formats", &l, error);
        if (r < 0)
                return r;
        STRV_FOREACH(f, l) {
                Format x = format_from_string(*f);
                if (x < 0)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Unknown format '%s' in key 'formats' (expected raw or qcow2)", *f);
                req->formats |= 1U << x;
        }
        req->has_formats = true;
        return 0;
}

static int read_request_value(sd_bus_message *msg, RequestKey k, Request *req, int *nvram_fd,
                              sd_bus_error *error) {
        const char *key = request_keys[k].name, *s;
        int b, r;

        switch (k) {
        case KEY_ARCHITECTURE:
                READ_ENUM(architecture_from_string, architecture, has_architecture, "architecture",
                          architecture_expected());
                return 0;
        case KEY_MACHINE:
                r = read_string(msg, key, &s, error);
                if (r < 0)
                        return r;
                req->machine = strdup(s);
                return req->machine ? 0 : -ENOMEM;
        case KEY_INTERFACE:
                READ_ENUM(interface_type_from_string, interface, has_interface, "interface",
                          "uefi, bios, openfirmware or uboot");
                return 0;
        case KEY_FEATURES:
                return read_features(msg, req, error);
        case KEY_DEVICE:
                READ_ENUM(device_from_string, device, has_device, "device", "flash, memory, kernel or igvm");
                return 0;
        case KEY_MODE:
                READ_ENUM(flash_mode_from_string, mode, has_mode, "mode", "split, combined or stateless");
                return 0;
        case KEY_FORMATS:
                return read_formats(msg, req, error);
        case KEY_EXCLUDE:
                return read_strv(msg, key, &req->exclude, error);
        case KEY_EXECUTABLE:
                return read_path(msg, key, &req->executable, error);
        case KEY_NVRAM_TEMPLATE:
                return read_path(msg, key, &req->nvram_template, error);
        case KEY_NVRAM:
                return read_nvram(msg, nvram_fd);
        case KEY_CERTIFICATES:
                return read_certificates(msg, req, error);
        case KEY_OFFSET:
                return sd_bus_message_read_basic(msg, 'u', &req->offset);
        case KEY_LIMIT:
                return sd_bus_message_read_basic(msg, 'u', &req->limit);
        default:
                break;
        }

        r = sd_bus_message_read_basic(msg, 'b', &b);
        if (r < 0)
                return r;
        switch (k) {
        case KEY_SMM:
                req->has_smm = true;
                req->smm = b;
                break;
        case KEY_CHECK_FILES:
                req->has_check_files = true;
                req->check_files = b;
                break;
        case KEY_INCLUDE_INVALID:
                req->include_invalid = b;
                break;
        case KEY_INCLUDE_MASKED:
                req->include_masked = b;
                break;
        default:
                req->include_shadowed = b;
                break;
        }
        return 0;
}

int bus_read_request(sd_bus_message *msg, bool list, Request *ret, int *ret_nvram_fd, sd_bus_error *error) {
        _cleanup_(request_done) Request req = {};
        bool seen[_KEY_MAX] = {};
        int nvram_fd = -1, r;

        r = sd_bus_message_enter_container(msg, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(msg, 'e', "sv")) > 0) {
                const char *key, *contents;
                char type;
                int k;

                r = sd_bus_message_read_basic(msg, 's', &key);
                if (r < 0)
                        return r;
                k = request_key_lookup(key, list);
                if (k < 0)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Unknown key '%s'%s", key,
                                                 request_key_lookup(key, true) >= 0 ? " (only List takes it)" : "");
                if (seen[k])
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Key '%s' given twice", key);
                seen[k] = true;

                /* enter with the expected type: only when that fails is it worth looking at what came */
                r = sd_bus_message_enter_container(msg, 'v', request_keys[k].signature);
                if (r == -ENXIO) {
                        r = sd_bus_message_peek_type(msg, &type, &contents);
                        if (r < 0)
                                return r;
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Key '%s' takes a value of type '%s', got '%s'", key,
                                                 request_keys[k].signature, contents);
                }
                if (r < 0)
                        return r;
                r = read_request_value(msg, k, &req, &nvram_fd, error);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(msg);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(msg);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(msg);
        if (r < 0)
                return r;

        *ret = req;
        req = (Request) {};
        *ret_nvram_fd = nvram_fd;
        return 0;
}
