/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include "bus-entry.h"

/* Whether the n bytes at s are all ASCII, eight at a time. */
static bool text_is_ascii(const char *s, size_t n) {
        uint64_t high = 0, w;
        size_t i = 0;

        for (; i + 8 <= n; i += 8) {
                memcpy(&w, s + i, 8);
                high |= w;
        }
        for (; i < n; i++)
                high |= (unsigned char) s[i];
        return !(high & UINT64_C(0x8080808080808080));
}

/* A string as sd_bus_message_append_basic() appends it, for less: sd-bus checks UTF-8 with a function call per
 * character, the largest single cost of a Resolve reply. Plain ASCII (nearly all we send) needs no check and is
 * copied in; anything else goes through sd-bus, whose verdict stands. Returns 0 or a negative errno. */
static int append_string(sd_bus_message *m, const char *s) {
        size_t n = strlen(s);
        char *p;
        int r;

        if (!text_is_ascii(s, n))
                return sd_bus_message_append_basic(m, 's', s);
        r = sd_bus_message_append_string_space(m, n, &p);
        if (r < 0)
                return r;
        memcpy(p, s, n);
        return 0;
}

int bus_append_strv(sd_bus_message *m, char * const *l) {
        int r;

        r = sd_bus_message_open_container(m, 'a', "s");
        STRV_FOREACH(s, l) {
                if (r < 0)
                        return r;
                r = append_string(m, *s);
        }
        return r < 0 ? r : sd_bus_message_close_container(m);
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
        return append_string(m, e->name);
}
static int append_path(sd_bus_message *m, const Entry *e) {
        return append_string(m, e->path);
}
static int append_rank(sd_bus_message *m, const Entry *e) {
        return sd_bus_message_append_basic(m, 'u', &e->rank);
}
static int append_description(sd_bus_message *m, const Entry *e) {
        return append_string(m, strempty(entry_descriptor(e)->description));
}
static int append_interface_types(sd_bus_message *m, const Entry *e) {
        return bus_append_strv(m, entry_descriptor(e)->interface_types);
}
static int append_device(sd_bus_message *m, const Entry *e) {
        return append_string(m, strempty(device_to_string(entry_descriptor(e)->device)));
}
static int append_mode(sd_bus_message *m, const Entry *e) {
        const Descriptor *d = entry_descriptor(e);
        return append_string(m, d->device == DEVICE_FLASH ?
                                                   strempty(flash_mode_to_string(d->mode)) : "");
}
static int append_executable(sd_bus_message *m, const Entry *e) {
        return append_string(m, strempty(e->descriptor ? descriptor_image(e->descriptor) : NULL));
}
static int append_executable_format(sd_bus_message *m, const Entry *e) {
        return append_string(m, strempty(format_to_string(entry_flash_file(e, false)->format)));
}
static int append_nvram_template(sd_bus_message *m, const Entry *e) {
        return append_string(m, strempty(entry_flash_file(e, true)->filename));
}
static int append_nvram_template_format(sd_bus_message *m, const Entry *e) {
        return append_string(m, strempty(format_to_string(entry_flash_file(e, true)->format)));
}
static int append_uefi_vars_template(sd_bus_message *m, const Entry *e) {
        return append_string(m, strempty(entry_descriptor(e)->uefi_vars_template));
}
static int append_features(sd_bus_message *m, const Entry *e) {
        return bus_append_strv(m, entry_descriptor(e)->features);
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
                        r = append_string(m, strempty(architecture_to_string(d->targets[i].architecture)));
                if (r >= 0)
                        r = bus_append_strv(m, d->targets[i].machines);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
        }
        return r < 0 ? r : sd_bus_message_close_container(m);
}
static int append_tags(sd_bus_message *m, const Entry *e) {
        return bus_append_strv(m, entry_descriptor(e)->tags);
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
                r = s ? append_string(m, s) : -ENOMEM;
        }
        for (size_t i = 0; r >= 0 && e->descriptor && i < e->descriptor->n_problems; i++) {
                _cleanup_(freep) char *s = problem_to_string(&e->descriptor->problems[i]);
                r = s ? append_string(m, s) : -ENOMEM;
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
        return bus_append_strv(m, e->shadowed);
}
static int append_state(sd_bus_message *m, const Entry *e) {
        return append_string(m, entry_state_name(e));
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
        return append_string(m, e->image.facts ? e->image.facts->sha256 : "");
}
static int append_nvram_template_sha256(sd_bus_message *m, const Entry *e) {
        return append_string(m, e->vars.facts ? e->vars.facts->sha256 : "");
}
static int append_varstore_format(sd_bus_message *m, const Entry *e) {
        return append_string(m, e->vars.facts ?
                                                   varstore_format_to_string(e->vars.facts->varstore.format) : "");
}
static int append_varstore_size(sd_bus_message *m, const Entry *e) {
        uint64_t n = e->vars.facts ? e->vars.facts->varstore.volume_size : 0;
        return sd_bus_message_append_basic(m, 't', &n);
}
static int append_template_secure_boot(sd_bus_message *m, const Entry *e) {
        return append_string(m, e->vars.facts ? secure_boot_state_to_string(e->vars.facts->secure_boot) : "");
}
static int append_template_certificates(sd_bus_message *m, const Entry *e) {
        return bus_append_strv(m, e->vars.facts ? e->vars.facts->certificates : NULL);
}

typedef struct EntryField {
        const char *key;                /* in a Resolve result and a List entry */
        const char *property;           /* on a Firmware object */
        const char *signature;
        int (*append)(sd_bus_message *m, const Entry *e);
} EntryField;

/* The keys of a Resolve result and a List entry (DESIGN section 5), in this order; "generation" follows rank. */
static const EntryField entry_fields[] = {
        { "name", "Name", "s", append_name },
        { "path", "Path", "s", append_path },
        { "rank", "Rank", "u", append_rank },
        { "description", "Description", "s", append_description },
        { "interface-types", "InterfaceTypes", "as", append_interface_types },
        { "device", "Device", "s", append_device },
        { "mode", "Mode", "s", append_mode },
        { "executable", "Executable", "s", append_executable },
        { "executable-format", "ExecutableFormat", "s", append_executable_format },
        { "nvram-template", "NvramTemplate", "s", append_nvram_template },
        { "nvram-template-format", "NvramTemplateFormat", "s", append_nvram_template_format },
        { "uefi-vars-template", "UefiVarsTemplate", "s", append_uefi_vars_template },
        { "features", "Features", "as", append_features },
        { "requires-smm", "RequiresSmm", "b", append_requires_smm },
        { "targets", "Targets", "a(sas)", append_targets },
        { "tags", "Tags", "as", append_tags },
        { "valid", "Valid", "b", append_valid },
        { "problems", "Problems", "as", append_problems },
        { "files-ok", "FilesOk", "b", append_files_ok },
        { "state", "State", "s", append_state },
        { "executable-size", "ExecutableSize", "t", append_executable_size },
        { "nvram-template-size", "NvramTemplateSize", "t", append_nvram_template_size },
        { "executable-sha256", "ExecutableSha256", "s", append_executable_sha256 },
        { "nvram-template-sha256", "NvramTemplateSha256", "s", append_nvram_template_sha256 },
        { "varstore-format", "VarstoreFormat", "s", append_varstore_format },
        { "varstore-size", "VarstoreSize", "t", append_varstore_size },
        { "nvram-template-secure-boot", "NvramTemplateSecureBoot", "s", append_template_secure_boot },
        { "nvram-template-certificates", "NvramTemplateCertificates", "as", append_template_certificates },
};

/* Firmware properties that the a{sv} leaves out. */
static const EntryField property_fields[] = {
        { NULL, "Masked", "b", append_masked },
        { NULL, "ShadowedPaths", "as", append_shadowed_paths },
};

static int append_generation(sd_bus_message *m, uint64_t generation) {
        int r;

        r = sd_bus_message_open_container(m, 'e', "sv");
        if (r >= 0)
                r = append_string(m, "generation");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'v', "t");
        if (r >= 0)
                r = sd_bus_message_append_basic(m, 't', &generation);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r < 0 ? r : sd_bus_message_close_container(m);
}

int bus_append_entry_dict(sd_bus_message *m, const Entry *e, uint64_t generation) {
        int r;

        r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(entry_fields); i++) {
                r = sd_bus_message_open_container(m, 'e', "sv");
                if (r >= 0)
                        r = append_string(m, entry_fields[i].key);
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

int bus_append_entry_property(sd_bus_message *m, const Entry *e, const char *property) {
        for (size_t i = 0; i < ELEMENTSOF(entry_fields); i++)
                if (streq(entry_fields[i].property, property))
                        return entry_fields[i].append(m, e);
        for (size_t i = 0; i < ELEMENTSOF(property_fields); i++)
                if (streq(property_fields[i].property, property))
                        return property_fields[i].append(m, e);
        return -ENOENT;
}

/* ---- object paths -------------------------------------------------------------------------------------- */

char *bus_firmware_path(const char *name) {
        char *p = NULL;

        if (sd_bus_path_encode(BUS_FIRMWARE_PREFIX, name, &p) < 0)
                return NULL;
        return p;
}

int bus_append_object_path(sd_bus_message *m, const Entry *e) {
        _cleanup_(freep) char *p = e ? bus_firmware_path(e->name) : strdup("/");

        if (!p)
                return -ENOMEM;
        return sd_bus_message_append_basic(m, 'o', p);
}

/* Resolve answers the same few descriptors again and again: their object paths are kept by name (a path
 * depends on nothing else), which saves encoding and allocating one per call. */
const char *bus_path_memo_get(PathMemo *memo, const char *name) {
        PathMemoSlot *slot;

        for (size_t i = 0; i < PATH_MEMO_SLOTS; i++)
                if (memo->slots[i].name && streq(memo->slots[i].name, name))
                        return memo->slots[i].path;
        slot = &memo->slots[memo->next];
        free(slot->name);
        free(slot->path);
        slot->name = strdup(name);
        slot->path = bus_firmware_path(name);
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

/* ---- reply sizes --------------------------------------------------------------------------------------- */

/* Upper bounds of the wire size of what the append functions above write: every string with its length,
 * NUL and the most padding there can be, every key, signature and alignment generously. */
size_t bus_string_size(const char *s) {
        return 4 + strlen(strempty(s)) + 1 + 7;
}

static size_t strv_size(char * const *l) {
        size_t n = 8;

        STRV_FOREACH(s, l)
                n += bus_string_size(*s);
        return n;
}

size_t bus_entry_size(const Entry *e) {
        const Descriptor *d = entry_descriptor(e);
        /* each key with its signature and alignment, and the generation, the fixed-size values and the
         * object path's prefix; new keys each come with at most 64 bytes of their own plus their strings */
        size_t n = 2048 + 64 * ELEMENTSOF(entry_fields);

        /* name, object path, masked by */
        n += bus_string_size(e->name) * 4 + bus_string_size(e->path) * 2;
        n += bus_string_size(d->description) + bus_string_size(descriptor_image(d)) +
             bus_string_size(d->filename);
        n += bus_string_size(d->nvram_template.filename) + bus_string_size(d->uefi_vars_template);
        n += strv_size(d->interface_types) + strv_size(d->features) + strv_size(d->tags) + strv_size(e->shadowed);
        n += strv_size(e->vars.facts ? e->vars.facts->certificates : NULL);
        for (size_t i = 0; i < d->n_targets; i++)
                n += 16 + strv_size(d->targets[i].machines);
        for (size_t i = 0; i < d->n_problems; i++)
                n += 64 + bus_string_size(d->problems[i].path) + bus_string_size(d->problems[i].message);
        return n;
}

bool bus_string_reply_fits(const char *s, size_t max) {
        /* the header names the caller, the reply serial and the signature: far less than this */
        return 256 + bus_string_size(s) <= max;
}

int bus_reply_too_large(sd_bus_error *error, const char *what, const char *how) {
        return sd_bus_error_setf(error, BUS_ERROR_TOO_LARGE, "The reply to %s would be larger than %u MiB, the "
                                 "most this service sends in one message; %s", what, BUS_REPLY_SIZE_MAX >> 20,
                                 how);
}
