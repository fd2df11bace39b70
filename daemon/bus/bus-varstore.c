/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* InspectVarstore and ConvertVarstore (DESIGN sections 10 and 11): a caller's varstore read, and for a
 * conversion a new store written into the caller's target, on a thread with a deadline (bus-io.c), never on
 * the event loop; the catalogue is consulted on the loop only, before and after. The daemon opens no path of a
 * caller's and writes nothing but the target the caller handed over. */

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include "bus-io.h"
#include "bus-request.h"
#include "bus-varstore.h"
#include "efi/convert-fd.h"
#include "resolver/varstore-fit.h"
#include "util/chase.h"
#include "util/log.h"

/* ---- InspectVarstore ------------------------------------------------------------------------------------- */

/* What the thread reads: its own copy of the caller's descriptor, and the report. */
typedef struct InspectRead {
        int fd;
        uint64_t now;
        int result;
        VarstoreReport *report;
} InspectRead;

static void inspect_read_free(void *p) {
        InspectRead *x = p;

        if (!x)
                return;
        if (x->fd >= 0)
                close(x->fd);
        varstore_report_free(x->report);
        free(x);
}

static int inspect_work(void *p) {
        InspectRead *x = p;

        x->result = varstore_report_read_fd(x->fd, x->now, &x->report);
        close(x->fd);
        x->fd = -1;
        return 0;
}

static int append_sv_string(sd_bus_message *m, const char *key, const char *value) {
        return sd_bus_message_append(m, "{sv}", key, "s", value ?: "");
}

static int append_sv_uint64(sd_bus_message *m, const char *key, uint64_t value) {
        return sd_bus_message_append(m, "{sv}", key, "t", value);
}

static int append_sv_strv(sd_bus_message *m, const char *key, char * const *l) {
        int r;

        r = sd_bus_message_open_container(m, 'e', "sv");
        if (r >= 0)
                r = sd_bus_message_append_basic(m, 's', key);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'v', "as");
        if (r >= 0)
                r = bus_append_strv(m, l);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r < 0 ? r : sd_bus_message_close_container(m);
}

/* Opens "{sv}" with key and a variant of signature sig, for the caller to fill and close_variant() to end. */
static int open_variant(sd_bus_message *m, const char *key, const char *sig) {
        int r;

        r = sd_bus_message_open_container(m, 'e', "sv");
        if (r >= 0)
                r = sd_bus_message_append_basic(m, 's', key);
        return r < 0 ? r : sd_bus_message_open_container(m, 'v', sig);
}

static int close_variant(sd_bus_message *m) {
        int r = sd_bus_message_close_container(m);

        return r < 0 ? r : sd_bus_message_close_container(m);
}

static int append_certificates(sd_bus_message *m, const VarstoreReport *rep) {
        int r;

        r = open_variant(m, "certificates", "aa{sv}");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "a{sv}");
        for (size_t i = 0; r >= 0 && i < rep->n_certificates; i++) {
                const EfiCertificate *c = &rep->certificates[i].certificate;
                char sha[65], owner[EFI_GUID_STRING_MAX];

                for (size_t k = 0; k < sizeof(c->sha256); k++)
                        snprintf(sha + 2 * k, 3, "%02x", c->sha256[k]);
                r = sd_bus_message_open_container(m, 'a', "{sv}");
                if (r >= 0)
                        r = append_sv_string(m, "database", efi_database_to_string(rep->certificates[i].database));
                if (r >= 0)
                        r = append_sv_string(m, "id", c->id);
                if (r >= 0)
                        r = append_sv_string(m, "subject", c->subject);
                if (r >= 0)
                        r = append_sv_string(m, "issuer", c->issuer);
                if (r >= 0)
                        r = append_sv_string(m, "serial", c->serial);
                if (r >= 0)
                        r = append_sv_uint64(m, "not-before", c->not_before);
                if (r >= 0)
                        r = append_sv_uint64(m, "not-after", c->not_after);
                if (r >= 0)
                        r = append_sv_string(m, "sha256", sha);
                if (r >= 0)
                        r = append_sv_string(m, "owner", efi_guid_to_string(&c->owner, owner));
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r < 0 ? r : close_variant(m);
}

static int append_hashes(sd_bus_message *m, const VarstoreReport *rep) {
        int r;

        r = open_variant(m, "hashes", "a{su}");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{su}");
        for (EfiDatabase d = 0; r >= 0 && d < _EFI_DATABASE_MAX; d++)
                if (rep->databases[d].present && rep->databases[d].sha256_count > 0)
                        r = sd_bus_message_append(m, "{su}", efi_database_to_string(d),
                                                  rep->databases[d].sha256_count);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r < 0 ? r : close_variant(m);
}

static int append_boot(sd_bus_message *m, const VarstoreReport *rep) {
        int r;

        r = open_variant(m, "boot-order", "aq");
        if (r >= 0)
                r = sd_bus_message_append_array(m, 'q', rep->boot_order, rep->n_boot_order * sizeof(uint16_t));
        if (r >= 0)
                r = close_variant(m);
        if (r >= 0)
                r = open_variant(m, "boot-entries", "aa{sv}");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "a{sv}");
        for (size_t i = 0; r >= 0 && i < rep->n_boot_entries; i++) {
                const VarstoreBootEntry *b = &rep->boot_entries[i];

                r = sd_bus_message_append(m, "a{sv}", 4, "number", "q", b->number,
                                          "description", "s", b->option.description ?: "",
                                          "active", "b", efi_load_option_is_active(&b->option),
                                          "device-path", "s", b->option.device_path ?: "");
        }
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r < 0 ? r : close_variant(m);
}

static int append_variables(sd_bus_message *m, const VarstoreReport *rep) {
        const EfiVariableList *l = rep->variables;
        int r;

        r = open_variant(m, "variables", "a(ssut)");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(ssut)");
        for (size_t i = 0; r >= 0 && l && i < l->n; i++) {
                char guid[EFI_GUID_STRING_MAX];

                r = sd_bus_message_append(m, "(ssut)", l->variables[i].name,
                                          efi_guid_to_string(&l->variables[i].guid, guid), l->variables[i].attributes,
                                          (uint64_t) l->variables[i].size);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r < 0 ? r : close_variant(m);
}

static int append_fits(Bus *b, sd_bus_message *m, const Entry *const *fits, size_t n) {
        int r;

        r = open_variant(m, "fits", "ao");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "o");
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = bus_append_object_path(m, fits[i]);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r < 0 ? r : close_variant(m);
}

/* The report of section 10, as InspectVarstore's a{sv}. */
static int append_report(Bus *b, sd_bus_message *m, const VarstoreReport *rep, const Entry *const *fits, size_t n) {
        int r;

        r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0)
                r = append_sv_string(m, "format", varstore_format_to_string(rep->layout.format));
        if (r >= 0)
                r = append_sv_uint64(m, "size", rep->layout.size);
        if (r >= 0)
                r = append_sv_uint64(m, "varstore-size", rep->layout.volume_size);
        if (r >= 0)
                r = append_sv_string(m, "secure-boot", secure_boot_state_to_string(rep->secure_boot));
        if (r >= 0)
                r = append_certificates(m, rep);
        if (r >= 0)
                r = append_hashes(m, rep);
        if (r >= 0)
                r = append_boot(m, rep);
        if (r >= 0)
                r = append_variables(m, rep);
        if (r >= 0)
                r = append_fits(b, m, fits, n);
        if (r >= 0)
                r = append_sv_strv(m, "warnings", rep->warnings);
        if (r >= 0)
                r = append_sv_strv(m, "problems", rep->problems);
        return r < 0 ? r : sd_bus_message_close_container(m);
}

static int inspect_answer(Bus *b, sd_bus_message *msg, InspectRead *x, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(freep) const Entry **fits = NULL;
        VarstoreReport *template = NULL;
        const Catalogue *c = bus_catalogue(b);
        size_t n = 0;
        int r;

        if (x->result == -EBADFD)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "The varstore is not a regular file");
        if (x->result < 0)
                return sd_bus_error_set_errnof(error, x->result, "Cannot read the varstore: %m");
        r = resolver_varstore_fits(c, &x->report->layout, &fits, &n);
        if (r < 0)
                return r;
        /* the template it is compared with is the registry's own file, as image facts are read */
        if (n > 0 && x->report->variables && resolver_template_report(c, fits[0], x->now, &b->templates, &template) >= 0) {
                r = varstore_report_compare(x->report, template);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = append_report(b, reply, x->report, fits, n);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static void inspect_done(int result, void *data, void *userdata) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        BusIoCall *call = userdata;
        int r = bus_io_call_error(call, result, "the varstore", &error);

        if (r >= 0)
                r = inspect_answer(call->bus, call->msg, data, &error);
        bus_io_call_finish(call, r, &error);
}

int bus_method_inspect_varstore(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Bus *b = userdata;
        InspectRead *x;
        int fd, r;

        r = sd_bus_message_read(msg, "h", &fd);
        if (r < 0)
                return r;
        x = calloc(1, sizeof(InspectRead));
        if (!x)
                return -ENOMEM;
        x->now = (uint64_t) time(NULL);
        x->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (x->fd < 0) {
                free(x);
                return -errno;
        }
        return bus_io_submit(b, msg, inspect_work, x, inspect_read_free, inspect_done, error);
}

/* ---- ConvertVarstore ------------------------------------------------------------------------------------- */

typedef struct ConvertWork {
        int source, target;
        char *root, *template;          /* the template's path, resolved inside root by the thread */
        char *firmware;                 /* whose template it is */
        ConvertKeys keys;
        int result;
        ConvertResult *converted;
        EfiStoreSpace space;
        char *error;
} ConvertWork;

static void convert_work_free(void *p) {
        ConvertWork *w = p;

        if (!w)
                return;
        if (w->source >= 0)
                close(w->source);
        if (w->target >= 0)
                close(w->target);
        free(w->root);
        free(w->template);
        free(w->firmware);
        convert_result_free(w->converted);
        free(w->error);
        free(w);
}

static int convert_work(void *p) {
        ConvertWork *w = p;
        _cleanup_(closep) int root_fd = -1, template = -1;

        root_fd = chase_root_open(w->root);
        if (root_fd < 0 && root_fd != AT_FDCWD) {
                w->result = root_fd;
                return 0;
        }
        template = chase_open(root_fd, w->template, O_RDONLY | O_NOCTTY | O_NONBLOCK);
        if (root_fd == AT_FDCWD)
                root_fd = -1;
        if (template < 0) {
                w->result = template;
                w->error = strdup_printf("cannot open the template '%s'", w->template);
                return 0;
        }
        w->result = varstore_convert_fd(w->source, template, w->target, w->keys, &w->converted, &w->space,
                                        &w->error);
        return 0;
}

/* Options of ConvertVarstore: keys (s). */
static int read_convert_options(sd_bus_message *msg, ConvertKeys *ret, sd_bus_error *error) {
        ConvertKeys keys = CONVERT_KEYS_KEEP;
        bool seen = false;
        int r;

        r = sd_bus_message_enter_container(msg, 'a', "{sv}");
        while (r >= 0 && (r = sd_bus_message_enter_container(msg, 'e', "sv")) > 0) {
                const char *key, *value;

                r = sd_bus_message_read_basic(msg, 's', &key);
                if (r < 0)
                        return r;
                if (!streq(key, "keys"))
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Unknown option '%s' (expected "
                                                 "'keys')", key);
                if (seen)
                        return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "Option 'keys' given twice");
                if (!sd_bus_message_verify_type(msg, 'v', "s") ||
                    sd_bus_message_read(msg, "v", "s", &value) < 0)
                        return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "Option 'keys' must be a string "
                                                "(s)");
                keys = convert_keys_from_string(value);
                if (keys < 0)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Unknown keys '%s' (expected "
                                                 "keep, template or add-missing)", value);
                seen = true;
                r = sd_bus_message_exit_container(msg);
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(msg);
        if (r < 0)
                return r;
        *ret = keys;
        return 0;
}

/* Reads the source and target descriptors and the options again from the call (the request in between): the
 * call is answered from its message alone, whether its paths were looked up first or not. */
static int read_convert_call(sd_bus_message *msg, int *ret_source, int *ret_target, ConvertKeys *ret_keys,
                             sd_bus_error *error) {
        int r;

        r = sd_bus_message_rewind(msg, true);
        if (r >= 0)
                r = sd_bus_message_read(msg, "hh", ret_source, ret_target);
        if (r >= 0)
                r = sd_bus_message_skip(msg, "a{sv}");
        if (r < 0)
                return r;
        return read_convert_options(msg, ret_keys, error);
}

static int convert_reply(Bus *b, sd_bus_message *msg, ConvertWork *w, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const ConvertResult *c = w->converted;
        const char *firmware = w->firmware;
        const char *path;
        int r;

        if (w->result == -ENOSPC)
                return sd_bus_error_setf(error, BUS_ERROR_NO_SPACE, "The variables need %" PRIu64 " bytes; the store "
                                         "of %s's template has %" PRIu64 ". Nothing was written.", w->space.needed,
                                         firmware, w->space.available);
        if (w->result == -EINVAL || w->result == -EBADMSG)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Cannot convert: %s",
                                         w->error ?: "invalid input");
        if (w->result < 0)
                return sd_bus_error_set_errnof(error, w->result, "Cannot convert: %s%s%m", strempty(w->error),
                                               w->error ? ": " : "");
        path = bus_path_memo_get(&b->paths, firmware);
        if (!path)
                return -ENOMEM;
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = sd_bus_message_append_basic(reply, 'o', path);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "{sv}");
        if (r >= 0)
                r = sd_bus_message_append(reply, "{sv}", "carried", "u", c->carried);
        if (r >= 0)
                r = append_sv_strv(reply, "added-certificates", c->added_certificates);
        if (r >= 0)
                r = append_sv_strv(reply, "dropped", c->dropped);
        if (r >= 0)
                r = append_sv_uint64(reply, "bytes-used", c->bytes_used);
        if (r >= 0)
                r = append_sv_uint64(reply, "bytes-free", c->bytes_free);
        if (r >= 0)
                r = append_sv_strv(reply, "warnings", c->warnings);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        log_info("Converted a varstore for %s onto %s's template (keys=%s): %u variables carried, %zu "
                 "certificates added.", strna(sd_bus_message_get_sender(msg)), firmware,
                 convert_keys_to_string(w->keys), c->carried, strv_length(c->added_certificates));
        return sd_bus_send(NULL, reply, NULL);
}

static void convert_done(int result, void *data, void *userdata) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        BusIoCall *call = userdata;
        int r = bus_io_call_error(call, result, "the source or target varstore", &error);

        if (r >= 0)
                r = convert_reply(call->bus, call->msg, data, &error);
        bus_io_call_finish(call, r, &error);
}

/* Once the request is complete (its paths looked up): resolve, then convert on a thread. */
static int convert_answer(Bus *b, sd_bus_message *msg, Request *req, sd_bus_error *error) {
        const Catalogue *c = bus_catalogue(b);
        ConvertWork *w = NULL;
        const char *template;
        int source, target, r;
        ConvertKeys keys;
        const Entry *e;

        r = read_convert_call(msg, &source, &target, &keys, error);
        if (r < 0)
                return r;
        r = resolver_resolve(c, req, &e);
        if (r < 0)
                return r;
        if (r == 0)
                return bus_reply_no_match(b, req, error);
        template = e->descriptor ? descriptor_vars_template(e->descriptor) : NULL;
        if (!template)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "%s has no variable store template to "
                                         "write a varstore for", e->name);
        w = calloc(1, sizeof(ConvertWork));
        if (!w)
                return -ENOMEM;
        *w = (ConvertWork) { .source = -1, .target = -1, .keys = keys };
        w->source = fcntl(source, F_DUPFD_CLOEXEC, 3);
        w->target = fcntl(target, F_DUPFD_CLOEXEC, 3);
        w->template = strdup(template);
        w->firmware = strdup(e->name);
        if (w->source < 0 || w->target < 0 || !w->template || !w->firmware ||
            (c->root && !(w->root = strdup(c->root)))) {
                convert_work_free(w);
                return -ENOMEM;
        }
        return bus_io_submit(b, msg, convert_work, w, convert_work_free, convert_done, error);
}

int bus_method_convert_varstore(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(request_done) Request req = {};
        Bus *b = userdata;
        int source, target, nvram_fd = -1, r;
        ConvertKeys keys;

        r = sd_bus_message_read(msg, "hh", &source, &target);
        if (r < 0)
                return r;
        r = bus_read_resolve_request(b, msg, &req, &nvram_fd, error);
        if (r < 0)
                return r;
        if (nvram_fd >= 0)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "Key 'nvram' is not allowed here: the "
                                        "source varstore is the first argument");
        r = read_convert_options(msg, &keys, error);    /* refused now, rather than after the paths are read */
        if (r < 0)
                return r;
        if (bus_io_needed(&req, -1))
                return bus_io_start(b, msg, &req, -1, convert_answer, error);
        return convert_answer(b, msg, &req, error);
}
