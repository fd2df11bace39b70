/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include "bus.h"
#include "config.h"
#include "log.h"
#include "render.h"
#include "resolver.h"

/* Limits on what a caller may send: far above any real request, far below anything that costs us. */
#define REQUEST_STRING_MAX 4096U
#define REQUEST_LIST_MAX 1024U

/* ---- request decoding ---------------------------------------------------------------------------------- */

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

/* The caller's varstore, read through the descriptor it sent (at most VARSTORE_HEAD_MAX bytes, with pread()
 * so its file offset stays where it was): never a path, which would be read with our privileges. */
static int read_nvram(sd_bus_message *msg, Request *req, sd_bus_error *error) {
        int fd, r;

        r = sd_bus_message_read_basic(msg, 'h', &fd);
        if (r < 0)
                return r;
        r = varstore_read_fd(fd, &req->nvram);
        if (r == -ENOMEM)
                return r;
        if (r == -EBADFD)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
                                        "Key 'nvram' must be an open regular file (a VM's varstore)");
        if (r < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Key 'nvram' is not readable: %s", strerror(-r));
        req->has_nvram = true;
        req->nvram_fd = -1;
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

static int read_request_value(sd_bus_message *msg, RequestKey k, Request *req, sd_bus_error *error) {
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
                return read_nvram(msg, req, error);
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

int bus_read_request(sd_bus_message *msg, bool list, Request *ret, sd_bus_error *error) {
        _cleanup_(request_done) Request req = {};
        bool seen[_KEY_MAX] = {};
        int r;

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
                r = read_request_value(msg, k, &req, error);
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
        return 0;
}

/* ---- entries as a{sv} and as Firmware properties ------------------------------------------------------- */

static int append_strv(sd_bus_message *m, char * const *l) {
        return sd_bus_message_append_strv(m, (char **) (l ?: (char *[]) { NULL }));
}

static const Descriptor empty_descriptor = {
        .device = _DEVICE_INVALID, .mode = _FLASH_MODE_INVALID,
        .executable.format = _FORMAT_INVALID, .nvram_template.format = _FORMAT_INVALID,
};

static const Descriptor *entry_descriptor(const Entry *e) {
        return e->descriptor ?: &empty_descriptor;
}

static const FlashFile *entry_flash_file(const Entry *e, bool nvram) {
        static const FlashFile none = { .format = _FORMAT_INVALID };
        const Descriptor *d = entry_descriptor(e);

        if (d->device != DEVICE_FLASH)
                return &none;
        return nvram ? &d->nvram_template : &d->executable;
}

static int append_name(sd_bus_message *m, const Entry *e) {
        return sd_bus_message_append_basic(m, 's', e->name);
}
static int append_path(sd_bus_message *m, const Entry *e) {
        return sd_bus_message_append_basic(m, 's', e->path);
}
static int append_rank(sd_bus_message *m, const Entry *e) {
        return sd_bus_message_append_basic(m, 'u', &e->rank);
}
static int append_description(sd_bus_message *m, const Entry *e) {
        return sd_bus_message_append_basic(m, 's', strempty(entry_descriptor(e)->description));
}
static int append_interface_types(sd_bus_message *m, const Entry *e) {
        return append_strv(m, entry_descriptor(e)->interface_types);
}
static int append_device(sd_bus_message *m, const Entry *e) {
        return sd_bus_message_append_basic(m, 's', strempty(device_to_string(entry_descriptor(e)->device)));
}
static int append_mode(sd_bus_message *m, const Entry *e) {
        const Descriptor *d = entry_descriptor(e);
        return sd_bus_message_append_basic(m, 's', d->device == DEVICE_FLASH ?
                                                   strempty(flash_mode_to_string(d->mode)) : "");
}
static int append_executable(sd_bus_message *m, const Entry *e) {
        return sd_bus_message_append_basic(m, 's', strempty(e->descriptor ? descriptor_image(e->descriptor) : NULL));
}
static int append_executable_format(sd_bus_message *m, const Entry *e) {
        return sd_bus_message_append_basic(m, 's', strempty(format_to_string(entry_flash_file(e, false)->format)));
}
static int append_nvram_template(sd_bus_message *m, const Entry *e) {
        return sd_bus_message_append_basic(m, 's', strempty(entry_flash_file(e, true)->filename));
}
static int append_nvram_template_format(sd_bus_message *m, const Entry *e) {
        return sd_bus_message_append_basic(m, 's', strempty(format_to_string(entry_flash_file(e, true)->format)));
}
static int append_uefi_vars_template(sd_bus_message *m, const Entry *e) {
        return sd_bus_message_append_basic(m, 's', strempty(entry_descriptor(e)->uefi_vars_template));
}
static int append_features(sd_bus_message *m, const Entry *e) {
        return append_strv(m, entry_descriptor(e)->features);
}
static int append_requires_smm(sd_bus_message *m, const Entry *e) {
        int b = descriptor_has_feature(entry_descriptor(e), FEATURE_REQUIRES_SMM);
        return sd_bus_message_append_basic(m, 'b', &b);
}
static int append_targets(sd_bus_message *m, const Entry *e) {
        const Descriptor *d = entry_descriptor(e);
        int r;

        r = sd_bus_message_open_container(m, 'a', "(sas)");
        for (size_t i = 0; r >= 0 && i < d->n_targets; i++) {
                r = sd_bus_message_open_container(m, 'r', "sas");
                if (r >= 0)
                        r = sd_bus_message_append_basic(m, 's',
                                                        strempty(architecture_to_string(d->targets[i].architecture)));
                if (r >= 0)
                        r = append_strv(m, d->targets[i].machines);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
        }
        return r < 0 ? r : sd_bus_message_close_container(m);
}
static int append_tags(sd_bus_message *m, const Entry *e) {
        return append_strv(m, entry_descriptor(e)->tags);
}
static int append_valid(sd_bus_message *m, const Entry *e) {
        int b = e->state == ENTRY_VALID;
        return sd_bus_message_append_basic(m, 'b', &b);
}
static int append_problems(sd_bus_message *m, const Entry *e) {
        int r;

        r = sd_bus_message_open_container(m, 'a', "s");
        if (r >= 0 && e->state == ENTRY_MASKED) {
                _cleanup_(freep) char *s = strdup_printf("masked by '%s'", e->path);
                r = s ? sd_bus_message_append_basic(m, 's', s) : -ENOMEM;
        }
        for (size_t i = 0; r >= 0 && e->descriptor && i < e->descriptor->n_problems; i++) {
                _cleanup_(freep) char *s = problem_to_string(&e->descriptor->problems[i]);
                r = s ? sd_bus_message_append_basic(m, 's', s) : -ENOMEM;
        }
        return r < 0 ? r : sd_bus_message_close_container(m);
}
static int append_files_ok(sd_bus_message *m, const Entry *e) {
        int b = e->state == ENTRY_VALID && entry_files_ok(e);
        return sd_bus_message_append_basic(m, 'b', &b);
}
static int append_masked(sd_bus_message *m, const Entry *e) {
        int b = e->state == ENTRY_MASKED;
        return sd_bus_message_append_basic(m, 'b', &b);
}
static int append_shadowed_paths(sd_bus_message *m, const Entry *e) {
        return append_strv(m, e->shadowed);
}
static int append_state(sd_bus_message *m, const Entry *e) {
        return sd_bus_message_append_basic(m, 's', entry_state_name(e));
}
static int append_executable_size(sd_bus_message *m, const Entry *e) {
        uint64_t n = e->image.facts ? e->image.facts->size : 0;
        return sd_bus_message_append_basic(m, 't', &n);
}
static int append_nvram_template_size(sd_bus_message *m, const Entry *e) {
        uint64_t n = e->vars.facts ? e->vars.facts->size : 0;
        return sd_bus_message_append_basic(m, 't', &n);
}
static int append_executable_sha256(sd_bus_message *m, const Entry *e) {
        return sd_bus_message_append_basic(m, 's', e->image.facts ? e->image.facts->sha256 : "");
}
static int append_nvram_template_sha256(sd_bus_message *m, const Entry *e) {
        return sd_bus_message_append_basic(m, 's', e->vars.facts ? e->vars.facts->sha256 : "");
}
static int append_varstore_format(sd_bus_message *m, const Entry *e) {
        return sd_bus_message_append_basic(m, 's', e->vars.facts ?
                                                   varstore_format_to_string(e->vars.facts->varstore.format) : "");
}
static int append_varstore_size(sd_bus_message *m, const Entry *e) {
        uint64_t n = e->vars.facts ? e->vars.facts->varstore.volume_size : 0;
        return sd_bus_message_append_basic(m, 't', &n);
}

typedef int (*FieldAppend)(sd_bus_message *m, const Entry *e);

/* The keys of a Resolve result and a List entry (DESIGN section 5), in this order; "generation" follows rank. */
static const struct {
        const char *key;
        const char *signature;
        FieldAppend append;
} entry_fields[] = {
        { "name", "s", append_name },
        { "path", "s", append_path },
        { "rank", "u", append_rank },
        { "description", "s", append_description },
        { "interface-types", "as", append_interface_types },
        { "device", "s", append_device },
        { "mode", "s", append_mode },
        { "executable", "s", append_executable },
        { "executable-format", "s", append_executable_format },
        { "nvram-template", "s", append_nvram_template },
        { "nvram-template-format", "s", append_nvram_template_format },
        { "uefi-vars-template", "s", append_uefi_vars_template },
        { "features", "as", append_features },
        { "requires-smm", "b", append_requires_smm },
        { "targets", "a(sas)", append_targets },
        { "tags", "as", append_tags },
        { "valid", "b", append_valid },
        { "problems", "as", append_problems },
        { "files-ok", "b", append_files_ok },
        { "state", "s", append_state },
        { "executable-size", "t", append_executable_size },
        { "nvram-template-size", "t", append_nvram_template_size },
        { "executable-sha256", "s", append_executable_sha256 },
        { "nvram-template-sha256", "s", append_nvram_template_sha256 },
        { "varstore-format", "s", append_varstore_format },
        { "varstore-size", "t", append_varstore_size },
};

static int append_generation(sd_bus_message *m, uint64_t generation) {
        int r;

        r = sd_bus_message_open_container(m, 'e', "sv");
        if (r >= 0)
                r = sd_bus_message_append_basic(m, 's', "generation");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'v', "t");
        if (r >= 0)
                r = sd_bus_message_append_basic(m, 't', &generation);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r < 0 ? r : sd_bus_message_close_container(m);
}

static int append_entry_dict(sd_bus_message *m, const Entry *e, uint64_t generation) {
        int r;

        r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(entry_fields); i++) {
                r = sd_bus_message_open_container(m, 'e', "sv");
                if (r >= 0)
                        r = sd_bus_message_append_basic(m, 's', entry_fields[i].key);
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'v', entry_fields[i].signature);
                if (r >= 0)
                        r = entry_fields[i].append(m, e);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                if (r >= 0 && entry_fields[i].append == append_rank)
                        r = append_generation(m, generation);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(m);
}

static char *firmware_path(const char *name) {
        char *p = NULL;

        if (sd_bus_path_encode(BUS_FIRMWARE_PREFIX, name, &p) < 0)
                return NULL;
        return p;
}

static int append_object_path(sd_bus_message *m, const Entry *e) {
        _cleanup_(freep) char *p = e ? firmware_path(e->name) : strdup("/");

        if (!p)
                return -ENOMEM;
        return sd_bus_message_append_basic(m, 'o', p);
}

/* ---- reply sizes --------------------------------------------------------------------------------------- */

/* Upper bounds of the wire size of what the append functions above write: every string with its length,
 * NUL and the most padding there can be, every key, signature and alignment generously. */
static size_t string_size(const char *s) {
        return 4 + strlen(strempty(s)) + 1 + 7;
}

static size_t strv_size(char * const *l) {
        size_t n = 8;

        STRV_FOREACH(s, l)
                n += string_size(*s);
        return n;
}

static size_t entry_size(const Entry *e) {
        const Descriptor *d = entry_descriptor(e);
        /* each key with its signature and alignment, and the generation, the fixed-size values and the
         * object path's prefix; new keys each come with at most 64 bytes of their own plus their strings */
        size_t n = 2048 + 64 * ELEMENTSOF(entry_fields);

        n += string_size(e->name) * 4 + string_size(e->path) * 2;      /* name, object path, masked by */
        n += string_size(d->description) + string_size(descriptor_image(d)) + string_size(d->filename);
        n += string_size(d->nvram_template.filename) + string_size(d->uefi_vars_template);
        n += strv_size(d->interface_types) + strv_size(d->features) + strv_size(d->tags) + strv_size(e->shadowed);
        for (size_t i = 0; i < d->n_targets; i++)
                n += 16 + strv_size(d->targets[i].machines);
        for (size_t i = 0; i < d->n_problems; i++)
                n += 64 + string_size(d->problems[i].path) + string_size(d->problems[i].message);
        return n;
}

static int reply_too_large(sd_bus_error *error, const char *what, const char *how) {
        return sd_bus_error_setf(error, BUS_ERROR_TOO_LARGE, "The reply to %s would be larger than %u MiB, the "
                                 "most this service sends in one message; %s", what, BUS_REPLY_SIZE_MAX >> 20,
                                 how);
}

/* Resolve answers the same few descriptors again and again: their object paths are kept by name (a path
 * depends on nothing else), which saves encoding and allocating one per call. */
static const char *object_path_memo(PathMemo *memo, const char *name) {
        PathMemoSlot *slot;

        for (size_t i = 0; i < PATH_MEMO_SLOTS; i++)
                if (memo->slots[i].name && streq(memo->slots[i].name, name))
                        return memo->slots[i].path;
        slot = &memo->slots[memo->next];
        free(slot->name);
        free(slot->path);
        slot->name = strdup(name);
        slot->path = firmware_path(name);
        if (!slot->name || !slot->path) {
                free(slot->name);
                free(slot->path);
                *slot = (PathMemoSlot) {};
                return NULL;
        }
        memo->next = (memo->next + 1) % PATH_MEMO_SLOTS;
        return slot->path;
}

void bus_path_memo_done(PathMemo *memo) {
        for (size_t i = 0; i < PATH_MEMO_SLOTS; i++) {
                free(memo->slots[i].name);
                free(memo->slots[i].path);
        }
        *memo = (PathMemo) {};
}

/* ---- Manager methods ----------------------------------------------------------------------------------- */

static int reply_no_match(Manager *m, const Request *req, sd_bus_error *error) {
        _cleanup_(freep) char *summary = NULL;
        int r;

        r = resolver_summarize(m->catalogue, req, &summary);
        if (r < 0)
                return r;
        size_t n = strlen(summary);
        if (n > BUS_ERROR_TEXT_MAX) {
                size_t cut = BUS_ERROR_TEXT_MAX;
                while (cut > 0 && (summary[cut] & 0xc0) == 0x80)        /* not inside a character */
                        cut--;
                summary[cut] = 0;
                return sd_bus_error_setf(error, BUS_ERROR_NO_MATCH, "%s ... (%zu more bytes left out)",
                                         summary, n - cut);
        }
        return sd_bus_error_set(error, BUS_ERROR_NO_MATCH, summary);
}

/* What every request is judged with besides its keys: the machine aliases in use, and consistency. */
static int request_prepare(Manager *m, Request *req, sd_bus_error *error) {
        _cleanup_(freep) char *message = NULL;
        int r;

        req->machines = machines_current(m->machines);
        r = request_check(req, &message);
        if (r == -EINVAL)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, message);
        return r;
}

/* A Resolve or Explain request: strictly decoded, and with the one key they cannot do without. */
static int read_resolve_request(Manager *m, sd_bus_message *msg, Request *req, sd_bus_error *error) {
        int r;

        r = bus_read_request(msg, false, req, error);
        if (r < 0)
                return r;
        if (!req->has_architecture)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
                                        "Missing key 'architecture' (for example 'x86_64')");
        return request_prepare(m, req, error);
}

static int method_resolve(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(request_done) Request req = {};
        Manager *m = userdata;
        const char *path;
        const Entry *e;
        int r;

        r = read_resolve_request(m, msg, &req, error);
        if (r < 0)
                return r;
        r = resolver_resolve(m->catalogue, &req, &e);
        if (r < 0)
                return r;
        if (r == 0)
                return reply_no_match(m, &req, error);

        path = object_path_memo(&m->paths, e->name);
        if (!path)
                return -ENOMEM;
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = sd_bus_message_append_basic(reply, 'o', path);
        if (r >= 0)
                r = append_entry_dict(reply, e, m->generation);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int append_list_item(sd_bus_message *reply, const Entry *e, uint64_t generation) {
        int r;

        r = sd_bus_message_open_container(reply, 'r', "oa{sv}");
        if (r >= 0)
                r = append_object_path(reply, e);
        if (r >= 0)
                r = append_entry_dict(reply, e, generation);
        return r < 0 ? r : sd_bus_message_close_container(reply);
}

/* include-shadowed lists the files behind an entry too; they are not objects, so their path is "/". */
static int append_shadowed_item(sd_bus_message *reply, const Entry *e, const char *shadowed, uint64_t generation) {
        Entry shadow = { .path = (char *) shadowed, .name = e->name, .rank = e->rank, .state = ENTRY_SHADOWED };
        _cleanup_(descriptor_unrefp) Descriptor *d = NULL;
        _cleanup_(freep) char *why = strdup_printf("shadowed by '%s'", e->path);
        int r;

        if (!why || descriptor_new_unreadable(why, &d) < 0)
                return -ENOMEM;
        shadow.descriptor = d;
        r = sd_bus_message_open_container(reply, 'r', "oa{sv}");
        if (r >= 0)
                r = append_object_path(reply, NULL);
        if (r >= 0)
                r = append_entry_dict(reply, &shadow, generation);
        return r < 0 ? r : sd_bus_message_close_container(reply);
}

/* Appends one item of the result unless it is before the page or after it. Returns 1 when appended, 0 when
 * passed over, -ENOBUFS when the reply would pass the bound. */
static int list_item(sd_bus_message *reply, const Request *req, const Entry *e, const char *shadowed,
                     uint64_t generation, size_t *seen, size_t *sent, size_t *size) {
        if ((*seen)++ < req->offset || (req->limit > 0 && *sent >= req->limit))
                return 0;
        *size += entry_size(e) + (shadowed ? string_size(shadowed) * 2 : 0);
        if (*size > BUS_REPLY_SIZE_MAX)
                return -ENOBUFS;
        (*sent)++;
        return shadowed ? append_shadowed_item(reply, e, shadowed, generation) :
                          append_list_item(reply, e, generation);
}

typedef struct ListWalk {
        sd_bus_message *reply;
        const Request *req;
        uint64_t generation;
        size_t seen, sent, size;        /* items before and in the page, and the reply's size bound so far */
} ListWalk;

static int list_entry(const Entry *e, bool included, void *userdata) {
        ListWalk *w = userdata;
        int r = 0;

        if (w->req->limit > 0 && w->sent >= w->req->limit)
                return 0;               /* the page is full */
        if (included)
                r = list_item(w->reply, w->req, e, NULL, w->generation, &w->seen, &w->sent, &w->size);
        /* what a mask hides is represented by the mask (include-masked) */
        if (w->req->include_shadowed && e->state != ENTRY_MASKED)
                STRV_FOREACH(sh, e->shadowed)
                        if (r >= 0)
                                r = list_item(w->reply, w->req, e, *sh, w->generation, &w->seen, &w->sent,
                                              &w->size);
        return r < 0 ? r : 0;
}

static int method_list(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(request_done) Request req = {};
        Manager *m = userdata;
        ListWalk w = { .req = &req, .generation = m->generation, .size = 64 };
        int r;

        r = bus_read_request(msg, true, &req, error);
        if (r >= 0)
                r = request_prepare(m, &req, error);
        if (r < 0)
                return r;
        /* once per call, not once per entry: what it tells the caller (whether a path exists, as this user
         * sees it) is then asked of the file system once, too */
        request_look_up_paths(&req, m->catalogue);

        r = sd_bus_message_new_method_return(msg, &reply);
        w.reply = reply;
        if (r >= 0)
                r = sd_bus_message_append(reply, "t", m->generation);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(oa{sv})");
        if (r >= 0)
                r = resolver_filter(m->catalogue, &req, list_entry, &w);
        if (r == -ENOBUFS) {
                size_t page = w.sent > 0 ? w.sent : 1;
                _cleanup_(freep) char *how = strdup_printf(
                        "ask for pages with the List keys 'offset' and 'limit' (u), for example limit=%zu, "
                        "then offset=%zu", page, (size_t) req.offset + page);
                return how ? reply_too_large(error, "List", how) : -ENOMEM;
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static bool path_is_object_path(const char *name) {
        return strncmp(name, BUS_FIRMWARE_PREFIX "/", strlen(BUS_FIRMWARE_PREFIX "/")) == 0;
}

const Entry *bus_find_entry(const Catalogue *c, const char *name) {
        _cleanup_(freep) char *decoded = NULL;
        const Entry *e;

        if (name[0] != '/')
                return catalogue_find(c, name);
        if (path_is_object_path(name)) {
                if (sd_bus_path_decode(name, BUS_FIRMWARE_PREFIX, &decoded) <= 0 || isempty(decoded))
                        return NULL;
                return catalogue_find(c, decoded);
        }
        e = catalogue_find(c, strrchr(name, '/') + 1);
        return e && streq(e->path, name) ? e : NULL;
}

static const Entry *find_entry(Manager *m, const char *name) {
        return bus_find_entry(m->catalogue, name);
}

static int method_describe(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(freep) char *json = NULL;
        Manager *m = userdata;
        const Entry *e;
        const char *name;
        int r;

        r = sd_bus_message_read(msg, "s", &name);
        if (r < 0)
                return r;
        if (isempty(name))
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "Empty firmware name");
        if (path_is_object_path(name) && !sd_bus_object_path_is_valid(name))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid object path '%s'", name);
        e = find_entry(m, name);
        if (!e && name[0] == '/' && !path_is_object_path(name))
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_FIRMWARE, "No firmware descriptor file '%s' in "
                                         "the catalogue", name);
        if (!e)
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_FIRMWARE, "No firmware descriptor '%s'", name);

        json = render_describe(e, manager_scope(m), m->generation);
        if (!json)
                return -ENOMEM;
        return sd_bus_reply_method_return(msg, "s", json);
}

/* Explain's reply, appended to as the resolver makes each verdict: what a request costs is bounded by the
 * reply, never by the catalogue times the reasons (a thousand unknown features make as many for each). */
typedef struct ExplainReply {
        sd_bus_message *reply;
        size_t size;                    /* an upper bound of the reply's size so far */
} ExplainReply;

/* Returns 0, or -ENOBUFS when the verdict would take the reply past the bound. */
static int append_verdict(Verdict *v, void *userdata) {
        ExplainReply *x = userdata;
        size_t n = verdict_reasons_total(v);   /* the resolver keeps 16 and counts the rest */
        int r;

        x->size += 64 + string_size(v->entry->name);
        for (size_t j = 0; j < n && j < BUS_EXPLAIN_REASONS_MAX; j++)
                x->size += string_size(v->reasons[j]);
        if (x->size > BUS_REPLY_SIZE_MAX)
                return -ENOBUFS;

        r = sd_bus_message_open_container(x->reply, 'r', "ssas");
        if (r >= 0)
                r = sd_bus_message_append(x->reply, "ss", v->entry->name, verdict_kind_to_string(v->kind));
        if (r >= 0)
                r = sd_bus_message_open_container(x->reply, 'a', "s");
        for (size_t j = 0; r >= 0 && j < n && j < BUS_EXPLAIN_REASONS_MAX; j++)
                r = sd_bus_message_append_basic(x->reply, 's', v->reasons[j]);
        if (r >= 0 && n > BUS_EXPLAIN_REASONS_MAX) {
                _cleanup_(freep) char *more = strdup_printf("%zu more left out", n - BUS_EXPLAIN_REASONS_MAX);
                r = more ? sd_bus_message_append_basic(x->reply, 's', more) : -ENOMEM;
        }
        if (r >= 0)
                r = sd_bus_message_close_container(x->reply);
        return r < 0 ? r : sd_bus_message_close_container(x->reply);
}

static int method_explain(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(request_done) Request req = {};
        Manager *m = userdata;
        const Entry *selected = NULL;
        ExplainReply x = { .size = 256 };
        int r;

        r = read_resolve_request(m, msg, &req, error);
        if (r < 0)
                return r;
        /* the path comes before the verdicts: the first match, which the walk calls selected */
        r = resolver_resolve(m->catalogue, &req, &selected);
        if (r >= 0)
                r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = append_object_path(reply, selected);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(ssas)");
        if (r >= 0) {
                x.reply = reply;
                r = resolver_explain_foreach(m->catalogue, &req, append_verdict, &x);
        }
        if (r == -ENOBUFS) {
                /* the megabytes of the refused reply and of the request go back to the system */
                reply = sd_bus_message_unref(reply);
                request_done(&req);
                manager_trim_memory();
                return reply_too_large(error, "Explain", "use List with the same keys and 'offset' and 'limit' "
                                       "to see which descriptors match");
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

/* ---- Reload and polkit --------------------------------------------------------------------------------- */

struct PolkitQuery {
        Manager *manager;
        uid_t uid;                      /* of the caller */
        sd_bus_message *request;
        sd_bus_slot *slot;
        PolkitQuery *prev, *next;
};

static PolkitQuery *polkit_query_free(PolkitQuery *q) {
        if (!q)
                return NULL;
        if (q->prev)
                q->prev->next = q->next;
        else if (q->manager->polkit_queries == q)
                q->manager->polkit_queries = q->next;
        if (q->next)
                q->next->prev = q->prev;
        q->manager->n_polkit_queries--;
        sd_bus_slot_unref(q->slot);
        sd_bus_message_unref(q->request);
        free(q);
        return NULL;
}

static int reload_and_reply(Manager *m, sd_bus_message *request) {
        _cleanup_(freep) char *why = strdup_printf("Reload() by %s", strna(sd_bus_message_get_sender(request)));
        int r;

        manager_retry_watches(m);
        r = manager_rescan(m, why ?: "Reload()");
        if (r < 0)
                return sd_bus_reply_method_errnof(request, r, "Failed to rescan: %m");
        return sd_bus_reply_method_return(request, NULL);
}

static int polkit_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        PolkitQuery *q = userdata;
        Manager *m = q->manager;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        int authorized = false, challenge = false, r;

        if (e) {
                log_warning("Authorization check for Reload() failed: %s", e->message ?: e->name);
                r = sd_bus_reply_method_errorf(q->request, SD_BUS_ERROR_ACCESS_DENIED,
                                               "Could not check authorization: %s", e->message ?: e->name);
        } else {
                r = sd_bus_message_enter_container(reply, 'r', "bba{ss}");
                if (r >= 0)
                        r = sd_bus_message_read(reply, "bb", &authorized, &challenge);
                if (r < 0)
                        r = sd_bus_reply_method_errorf(q->request, SD_BUS_ERROR_ACCESS_DENIED,
                                                       "Unexpected answer from polkit");
                else if (authorized)
                        r = reload_and_reply(m, q->request);
                else if (challenge && !sd_bus_message_get_allow_interactive_authorization(q->request))
                        r = sd_bus_reply_method_errorf(q->request, SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED,
                                                       "Reloading the firmware catalogue needs interactive "
                                                       "authorization");
                else
                        r = sd_bus_reply_method_errorf(q->request, SD_BUS_ERROR_ACCESS_DENIED,
                                                       "Not allowed to reload the firmware catalogue");
                if (r >= 0 && !authorized)
                        log_notice("Reload() by %s refused: not authorized.",
                                   strna(sd_bus_message_get_sender(q->request)));
        }
        if (r < 0)
                log_debug_errno(r, "Failed to answer Reload(): %m");
        polkit_query_free(q);
        return 0;
}

/* Interactive checks wait for a human for minutes: one user must not be able to take every slot. */
#define POLKIT_QUERIES_MAX 4096U
#define POLKIT_QUERIES_PER_USER_MAX 16U

static unsigned polkit_queries_of(const Manager *m, uid_t uid) {
        unsigned n = 0;

        for (const PolkitQuery *q = m->polkit_queries; q; q = q->next)
                n += q->uid == uid;
        return n;
}

static int polkit_check(Manager *m, sd_bus_message *request, uid_t uid, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        _cleanup_(freep) PolkitQuery *q = NULL;
        uint32_t flags = sd_bus_message_get_allow_interactive_authorization(request) ? 1 : 0;
        int r;

        if (m->n_polkit_queries >= POLKIT_QUERIES_MAX ||
            polkit_queries_of(m, uid) >= POLKIT_QUERIES_PER_USER_MAX)
                return sd_bus_error_setf(error, SD_BUS_ERROR_LIMITS_EXCEEDED,
                                         "Too many pending Reload() calls (at most %u per user)",
                                         POLKIT_QUERIES_PER_USER_MAX);

        r = sd_bus_message_new_method_call(m->bus, &call, "org.freedesktop.PolicyKit1",
                                           "/org/freedesktop/PolicyKit1/Authority",
                                           "org.freedesktop.PolicyKit1.Authority", "CheckAuthorization");
        if (r >= 0)
                r = sd_bus_message_append(call, "(sa{sv})sa{ss}us", "system-bus-name", 1, "name", "s",
                                          sd_bus_message_get_sender(request), BUS_POLKIT_ACTION_RELOAD, 0,
                                          flags, "");
        if (r < 0)
                return r;

        q = calloc(1, sizeof(PolkitQuery));
        if (!q)
                return -ENOMEM;
        q->manager = m;
        q->uid = uid;
        /* interactive authentication waits for a human: give it time; otherwise the bus default applies */
        r = sd_bus_call_async(m->bus, &q->slot, call, polkit_reply, q, flags ? UINT64_C(300000000) : 0);
        if (r < 0)
                return r;
        q->request = sd_bus_message_ref(request);
        q->next = m->polkit_queries;
        if (q->next)
                q->next->prev = q;
        m->polkit_queries = q;
        m->n_polkit_queries++;
        TAKE_PTR(q);
        return 1;
}

void bus_polkit_cancel_all(Manager *m) {
        while (m->polkit_queries) {
                PolkitQuery *q = m->polkit_queries;

                (void) sd_bus_reply_method_errorf(q->request, SD_BUS_ERROR_ACCESS_DENIED,
                                                  "The firmware registry is shutting down");
                polkit_query_free(q);
        }
}

static int method_reload(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        Manager *m = userdata;
        uid_t uid;
        int r;

        r = sd_bus_query_sender_creds(msg, SD_BUS_CREDS_EUID, &creds);
        if (r < 0)
                return log_debug_errno(r, "Failed to query the credentials of the Reload() caller: %m");
        r = sd_bus_creds_get_euid(creds, &uid);
        if (r < 0)
                return log_debug_errno(r, "Failed to get the uid of the Reload() caller: %m");
        log_info("Reload() called by %s (uid %u).", strna(sd_bus_message_get_sender(msg)), (unsigned) uid);
        if (uid == 0 || uid == geteuid())
                return reload_and_reply(m, msg);

        return polkit_check(m, msg, uid, error);
}

/* ---- Manager properties -------------------------------------------------------------------------------- */

static int property_version(sd_bus *bus, const char *path, const char *interface, const char *property,
                            sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append_basic(reply, 's', PACKAGE_VERSION);
}

static int property_scope(sd_bus *bus, const char *path, const char *interface, const char *property,
                          sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append_basic(reply, 's', manager_scope(userdata));
}

static int property_search_path(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        return append_strv(reply, m->search_path);
}

static int property_generation(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        return sd_bus_message_append_basic(reply, 't', &m->generation);
}

static int property_count(sd_bus *bus, const char *path, const char *interface, const char *property,
                          sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        uint32_t n = (uint32_t) (streq(property, "Count") ? m->catalogue->n_valid : m->catalogue->n_invalid);
        return sd_bus_message_append_basic(reply, 'u', &n);
}

static int property_architectures(sd_bus *bus, const char *path, const char *interface, const char *property,
                                  sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        int r;

        r = sd_bus_message_open_container(reply, 'a', "s");
        for (int a = 0; r >= 0 && a < _ARCH_MAX; a++)
                if (m->catalogue->architecture_mask & (1U << a))
                        r = sd_bus_message_append_basic(reply, 's', architecture_to_string(a));
        return r < 0 ? r : sd_bus_message_close_container(reply);
}

static int property_unwatched(sd_bus *bus, const char *path, const char *interface, const char *property,
                              sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        return append_strv(reply, m->unwatched);
}

static int property_manager_features(sd_bus *bus, const char *path, const char *interface, const char *property,
                             sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        return append_strv(reply, m->catalogue->features);
}

/* ---- Firmware objects ---------------------------------------------------------------------------------- */

/* MachineAliases: (architecture, alias, machine type, source) for every architecture. */
typedef struct AliasAppend {
        sd_bus_message *reply;
        Architecture architecture;
} AliasAppend;

static int append_alias(const char *alias, const char *machine, const char *source, void *userdata) {
        AliasAppend *x = userdata;
        return sd_bus_message_append(x->reply, "(ssss)", architecture_to_string(x->architecture), alias, machine,
                                     source);
}

static int property_machine_aliases(sd_bus *bus, const char *path, const char *interface, const char *property,
                                    sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        int r;

        r = sd_bus_message_open_container(reply, 'a', "(ssss)");
        for (int a = 0; r >= 0 && a < _ARCH_MAX; a++)
                r = machine_aliases_foreach(machines_current(m->machines), a, append_alias,
                                            &(AliasAppend) { reply, a });
        return r < 0 ? r : sd_bus_message_close_container(reply);
}

static int property_instance_id(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        return sd_bus_message_append_basic(reply, 's', m->instance_id);
}

int bus_emit_machines_changed(Manager *m) {
        if (!m->bus)
                return 0;
        return sd_bus_emit_properties_changed(m->bus, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, "MachineAliases",
                                              NULL);
}

static int firmware_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                         sd_bus_error *error) {
        const Entry *e = find_entry(userdata, path);

        if (!e)
                return 0;
        *found = (void *) e;
        return 1;
}

static int firmware_enumerate(sd_bus *bus, const char *prefix, void *userdata, char ***nodes,
                              sd_bus_error *error) {
        _cleanup_(strv_freep) char **l = NULL;
        Manager *m = userdata;

        l = calloc(m->catalogue->n_entries + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < m->catalogue->n_entries; i++) {
                l[i] = firmware_path(m->catalogue->entries[i].name);
                if (!l[i])
                        return -ENOMEM;
        }
        *nodes = TAKE_PTR(l);
        return 0;
}

#define DEFINE_FIRMWARE_PROPERTY(field)                                                                 \
        static int property_##field(sd_bus *bus, const char *path, const char *interface,               \
                                    const char *property, sd_bus_message *reply, void *userdata,        \
                                    sd_bus_error *error) {                                              \
                return append_##field(reply, userdata);                                                 \
        }

DEFINE_FIRMWARE_PROPERTY(name);
DEFINE_FIRMWARE_PROPERTY(path);
DEFINE_FIRMWARE_PROPERTY(rank);
DEFINE_FIRMWARE_PROPERTY(description);
DEFINE_FIRMWARE_PROPERTY(interface_types);
DEFINE_FIRMWARE_PROPERTY(device);
DEFINE_FIRMWARE_PROPERTY(mode);
DEFINE_FIRMWARE_PROPERTY(executable);
DEFINE_FIRMWARE_PROPERTY(executable_format);
DEFINE_FIRMWARE_PROPERTY(nvram_template);
DEFINE_FIRMWARE_PROPERTY(nvram_template_format);
DEFINE_FIRMWARE_PROPERTY(uefi_vars_template);
DEFINE_FIRMWARE_PROPERTY(features);
DEFINE_FIRMWARE_PROPERTY(requires_smm);
DEFINE_FIRMWARE_PROPERTY(targets);
DEFINE_FIRMWARE_PROPERTY(tags);
DEFINE_FIRMWARE_PROPERTY(valid);
DEFINE_FIRMWARE_PROPERTY(problems);
DEFINE_FIRMWARE_PROPERTY(files_ok);
DEFINE_FIRMWARE_PROPERTY(masked);
DEFINE_FIRMWARE_PROPERTY(shadowed_paths);
DEFINE_FIRMWARE_PROPERTY(state);
DEFINE_FIRMWARE_PROPERTY(executable_size);
DEFINE_FIRMWARE_PROPERTY(nvram_template_size);
DEFINE_FIRMWARE_PROPERTY(executable_sha256);
DEFINE_FIRMWARE_PROPERTY(nvram_template_sha256);
DEFINE_FIRMWARE_PROPERTY(varstore_format);
DEFINE_FIRMWARE_PROPERTY(varstore_size);

/* ---- signals ------------------------------------------------------------------------------------------- */

static int emit_for_names(Manager *m, char **names, int (*emit)(Manager *m, const char *path)) {
        STRV_FOREACH(n, names) {
                _cleanup_(freep) char *p = firmware_path(*n);
                int r;

                if (!p)
                        return -ENOMEM;
                r = emit(m, p);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int emit_removed(Manager *m, const char *path) {
        return sd_bus_emit_interfaces_removed(m->bus, path, BUS_FIRMWARE_INTERFACE, NULL);
}

static int emit_added(Manager *m, const char *path) {
        return sd_bus_emit_interfaces_added(m->bus, path, BUS_FIRMWARE_INTERFACE, NULL);
}

static int emit_modified(Manager *m, const char *path) {
        /* NULL: every property that announces changes */
        return sd_bus_emit_properties_changed_strv(m->bus, path, BUS_FIRMWARE_INTERFACE, NULL);
}

static int emit_catalogue_changed(Manager *m, char **added, char **removed, char **modified) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *signal = NULL;
        int r;

        r = sd_bus_message_new_signal(m->bus, &signal, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE,
                                      "CatalogueChanged");
        if (r >= 0)
                r = sd_bus_message_append_basic(signal, 't', &m->generation);
        if (r >= 0)
                r = append_strv(signal, added);
        if (r >= 0)
                r = append_strv(signal, removed);
        if (r >= 0)
                r = append_strv(signal, modified);
        if (r < 0)
                return r;
        return sd_bus_send(m->bus, signal, NULL);
}

int bus_emit_changes(Manager *m, char **added, char **removed, char **modified) {
        int r;

        if (!m->bus)
                return 0;
        r = emit_for_names(m, removed, emit_removed);
        if (r >= 0)
                r = emit_for_names(m, added, emit_added);
        if (r >= 0)
                r = emit_for_names(m, modified, emit_modified);
        if (r >= 0)
                r = sd_bus_emit_properties_changed(m->bus, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, "Generation",
                                                   "Count", "InvalidCount", "Architectures", "Features", NULL);
        if (r >= 0)
                r = emit_catalogue_changed(m, added, removed, modified);
        return r;
}

/* ---- vtables and setup --------------------------------------------------------------------------------- */

/* Every method may be called by anyone (Reload checks for itself): without UNPRIVILEGED, sd-bus would refuse
 * callers without privileges on the system bus. */
static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "s", property_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Scope", "s", property_scope, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("SearchPath", "as", property_search_path, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Generation", "t", property_generation, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Count", "u", property_count, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("InvalidCount", "u", property_count, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Architectures", "as", property_architectures, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Features", "as", property_manager_features, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("MachineAliases", "a(ssss)", property_machine_aliases, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("InstanceId", "s", property_instance_id, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("UnwatchedDirectories", "as", property_unwatched, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("Resolve",
                                SD_BUS_ARGS("a{sv}", request),
                                SD_BUS_RESULT("o", firmware, "a{sv}", result),
                                method_resolve, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("List",
                                SD_BUS_ARGS("a{sv}", filter),
                                SD_BUS_RESULT("t", generation, "a(oa{sv})", firmwares),
                                method_list, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Describe",
                                SD_BUS_ARGS("s", name),
                                SD_BUS_RESULT("s", json),
                                method_describe, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Explain",
                                SD_BUS_ARGS("a{sv}", request),
                                SD_BUS_RESULT("o", selected, "a(ssas)", verdicts),
                                method_explain, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Reload",
                                SD_BUS_NO_ARGS,
                                SD_BUS_NO_RESULT,
                                method_reload, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_ARGS("CatalogueChanged",
                                SD_BUS_ARGS("t", generation, "as", added, "as", removed, "as", modified),
                                0),
        SD_BUS_VTABLE_END
};

#define FIRMWARE_PROPERTY(name, sig, field, flags) \
        SD_BUS_PROPERTY(name, sig, property_##field, 0, flags)
#define CHANGES SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE

static const sd_bus_vtable firmware_vtable[] = {
        SD_BUS_VTABLE_START(0),
        FIRMWARE_PROPERTY("Name", "s", name, SD_BUS_VTABLE_PROPERTY_CONST),
        FIRMWARE_PROPERTY("Path", "s", path, CHANGES),
        /* a rank moves whenever a file sorting before it comes or goes: that is not announced per object */
        FIRMWARE_PROPERTY("Rank", "u", rank, 0),
        FIRMWARE_PROPERTY("Description", "s", description, CHANGES),
        FIRMWARE_PROPERTY("InterfaceTypes", "as", interface_types, CHANGES),
        FIRMWARE_PROPERTY("Device", "s", device, CHANGES),
        FIRMWARE_PROPERTY("Mode", "s", mode, CHANGES),
        FIRMWARE_PROPERTY("Executable", "s", executable, CHANGES),
        FIRMWARE_PROPERTY("ExecutableFormat", "s", executable_format, CHANGES),
        FIRMWARE_PROPERTY("NvramTemplate", "s", nvram_template, CHANGES),
        FIRMWARE_PROPERTY("NvramTemplateFormat", "s", nvram_template_format, CHANGES),
        FIRMWARE_PROPERTY("UefiVarsTemplate", "s", uefi_vars_template, CHANGES),
        FIRMWARE_PROPERTY("Features", "as", features, CHANGES),
        FIRMWARE_PROPERTY("RequiresSmm", "b", requires_smm, CHANGES),
        FIRMWARE_PROPERTY("Targets", "a(sas)", targets, CHANGES),
        FIRMWARE_PROPERTY("Tags", "as", tags, CHANGES),
        FIRMWARE_PROPERTY("Valid", "b", valid, CHANGES),
        FIRMWARE_PROPERTY("Problems", "as", problems, CHANGES),
        FIRMWARE_PROPERTY("FilesOk", "b", files_ok, CHANGES),
        FIRMWARE_PROPERTY("Masked", "b", masked, CHANGES),
        FIRMWARE_PROPERTY("ShadowedPaths", "as", shadowed_paths, CHANGES),
        FIRMWARE_PROPERTY("State", "s", state, CHANGES),
        FIRMWARE_PROPERTY("ExecutableSize", "t", executable_size, CHANGES),
        FIRMWARE_PROPERTY("NvramTemplateSize", "t", nvram_template_size, CHANGES),
        FIRMWARE_PROPERTY("ExecutableSha256", "s", executable_sha256, CHANGES),
        FIRMWARE_PROPERTY("NvramTemplateSha256", "s", nvram_template_sha256, CHANGES),
        FIRMWARE_PROPERTY("VarstoreFormat", "s", varstore_format, CHANGES),
        FIRMWARE_PROPERTY("VarstoreSize", "t", varstore_size, CHANGES),
        SD_BUS_VTABLE_END
};

/* The bus went away (restarted, or it dropped us): a daemon off the bus serves nobody. Exiting with a failure
 * lets the service manager's Restart= or bus activation bring it back on the new bus. */
static int on_disconnected(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;

        log_error("Lost the connection to the %s bus, exiting.", m->user ? "session" : "system");
        return sd_event_exit(m->event, -ECONNRESET);
}

/* Runs before sd-bus's own exit source, which flushes and closes the connection: afterwards nobody could be
 * told that their Reload() will not happen. */
static int on_exit_cancel_polkit(sd_event_source *s, void *userdata) {
        bus_polkit_cancel_all(userdata);
        return 0;
}

/* The name is taken: say by whom, so that nobody has to guess what "File exists" means. Returns -EEXIST. */
static int log_name_owner(Manager *m) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        _cleanup_(freep) char *cmdline = NULL;
        const char *owner = NULL;
        char **argv = NULL;
        pid_t pid = 0;

        if (sd_bus_get_name_creds(m->bus, BUS_NAME, SD_BUS_CREDS_UNIQUE_NAME | SD_BUS_CREDS_PID |
                                  SD_BUS_CREDS_CMDLINE | SD_BUS_CREDS_AUGMENT, &creds) >= 0) {
                (void) sd_bus_creds_get_unique_name(creds, &owner);
                (void) sd_bus_creds_get_pid(creds, &pid);
                if (sd_bus_creds_get_cmdline(creds, &argv) >= 0) {
                        StrBuf b = {};
                        STRV_FOREACH(a, argv)
                                strbuf_printf(&b, "%s%s", a == argv ? "" : " ", *a);
                        cmdline = strbuf_steal(&b);
                }
        }
        if (pid > 0)
                return log_error_errno(EEXIST, "The bus name '%s' is owned by %s (pid %d%s%s), another instance "
                                       "is running; exiting.", BUS_NAME, strna(owner), (int) pid,
                                       cmdline ? ": " : "", strempty(cmdline));
        return log_error_errno(EEXIST, "The bus name '%s' is owned by %s, another instance is running; exiting.",
                               BUS_NAME, strna(owner));
}

/* sd-bus answers GetManagedObjects by itself, with every object's properties: past the bound that reply
 * would knock the daemon off the bus, so it is refused first (List pages through the same). */
static int on_incoming(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        size_t size = 64;

        if (!sd_bus_message_is_method_call(msg, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects") ||
            !streq_ptr(sd_bus_message_get_path(msg), BUS_MANAGER_PATH) || !m->catalogue)
                return 0;
        for (size_t i = 0; i < m->catalogue->n_entries && size <= BUS_REPLY_SIZE_MAX; i++)
                size += entry_size(&m->catalogue->entries[i]) + 512;    /* and the Properties interfaces */
        if (size <= BUS_REPLY_SIZE_MAX)
                return 0;
        (void) sd_bus_reply_method_errorf(msg, BUS_ERROR_TOO_LARGE, "The reply to GetManagedObjects would be "
                                          "larger than %u MiB, the most this service sends in one message; "
                                          "page through the catalogue with List and the keys 'offset' and "
                                          "'limit' (u)", BUS_REPLY_SIZE_MAX >> 20);
        return 1;
}

int bus_setup(Manager *m) {
        int r;

        r = m->user ? sd_bus_open_user_with_description(&m->bus, "fwregistryd")
                    : sd_bus_open_system_with_description(&m->bus, "fwregistryd");
        if (r < 0)
                return log_error_errno(r, "Failed to connect to the %s bus: %m", m->user ? "session" : "system");

        r = sd_bus_add_object_vtable(m->bus, NULL, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, manager_vtable, m);
        if (r < 0)
                return log_error_errno(r, "Failed to register the Manager interface: %m");
        r = sd_bus_add_fallback_vtable(m->bus, NULL, BUS_FIRMWARE_PREFIX, BUS_FIRMWARE_INTERFACE, firmware_vtable,
                                       firmware_find, m);
        if (r < 0)
                return log_error_errno(r, "Failed to register the Firmware interface: %m");
        r = sd_bus_add_node_enumerator(m->bus, NULL, BUS_FIRMWARE_PREFIX, firmware_enumerate, m);
        if (r < 0)
                return log_error_errno(r, "Failed to register the firmware object enumerator: %m");
        r = sd_bus_add_object_manager(m->bus, NULL, BUS_MANAGER_PATH);
        if (r < 0)
                return log_error_errno(r, "Failed to register the object manager: %m");
        r = sd_bus_add_filter(m->bus, NULL, on_incoming, m);
        if (r < 0)
                return log_error_errno(r, "Failed to install the bus filter: %m");

        /* sd-bus's synthetic local signal, never seen on the wire */
        r = sd_bus_match_signal(m->bus, NULL, NULL, "/org/freedesktop/DBus/Local", "org.freedesktop.DBus.Local",
                                "Disconnected", on_disconnected, m);
        if (r < 0)
                return log_error_errno(r, "Failed to watch for the bus going away: %m");

        r = sd_bus_attach_event(m->bus, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "Failed to attach the bus to the event loop: %m");
        _cleanup_(sd_event_source_unrefp) sd_event_source *exit_source = NULL;
        r = sd_event_add_exit(m->event, &exit_source, on_exit_cancel_polkit, m);
        if (r >= 0)
                r = sd_event_source_set_priority(exit_source, SD_EVENT_PRIORITY_IMPORTANT);
        if (r >= 0)
                r = sd_event_source_set_floating(exit_source, true);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the answers to pending Reload() calls at exit: %m");

        /* the catalogue is loaded by now: nobody who finds the name sees an empty catalogue by accident */
        r = sd_bus_request_name(m->bus, BUS_NAME, 0);
        if (r == -EEXIST)
                return log_name_owner(m);
        if (r < 0)
                return log_error_errno(r, "Failed to acquire the bus name '%s': %m", BUS_NAME);
        return 0;
}
