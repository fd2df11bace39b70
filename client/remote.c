/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Calling fwregistryd: requests encoded as a{sv}, each Manager method, the monitor's signal loop, and the
 * daemon's errors told in the client's words (option names, not request keys). Replies are decoded in
 * remote-reply.c. */

#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <systemd/sd-event.h>

#include "resolver/render.h"
#include "remote.h"


int remote_connect(bool user, sd_bus **ret) {
        int r = user ? sd_bus_open_user(ret) : sd_bus_open_system(ret);

        if (r < 0)
                fprintf(stderr, "Failed to connect to the %s bus: %s; fwregistryd is not reachable, use --offline "
                        "to read the descriptors directly.\n", user ? "session" : "system", strerror(-r));
        return r;
}

/* The daemon names request keys; the user typed options. */
static const struct {
        const char *key;
        const char *option;
} key_options[] = {
        { "architecture", "--arch" },           { "machine", "--machine" },
        { "interface", "--interface" },         { "features", "--feature" },
        { "device", "--device" },               { "mode", "--mode" },
        { "formats", "--format" },              { "smm", "--smm" },
        { "check-files", "--no-check-files" },  { "exclude", "--exclude" },
        { "executable", "--executable" },       { "nvram-template", "--nvram-template" },
        { "nvram", "--nvram" },                 { "include-invalid", "--include-invalid" },
        { "include-masked", "--include-masked" }, { "include-shadowed", "--include-shadowed" },
        { "certificates", "--certificate" },
};

/* The length of "<prefix><key>'" at p, or 0. */
static size_t quoted_key_at(const char *p, const char *prefix, const char *key) {
        size_t n = strlen(prefix), k = strlen(key);

        if (strncmp(p, prefix, n) != 0 || strncmp(p + n, key, k) != 0 || p[n + k] != '\'')
                return 0;
        return n + k + 1;
}

/* "Key 'machine' must not be empty" becomes "--machine must not be empty"; a key this daemon does not know
 * says that it is older than the client. Returns a new string, or NULL on ENOMEM. */
static char *options_for_keys(const char *message) {
        static const char *const forms[] = { "Unknown key '", "Key '", "key '" };
        StrBuf b = {};

        for (const char *p = message; *p;) {
                size_t len = 0;

                for (size_t i = 0; i < ELEMENTSOF(key_options) && len == 0; i++)
                        for (size_t f = 0; f < ELEMENTSOF(forms) && len == 0; f++) {
                                len = quoted_key_at(p, forms[f], key_options[i].key);
                                if (len > 0 && f == 0)
                                        strbuf_printf(&b, "%s is not known to this fwregistryd (older than "
                                                      "fwregistryctl)", key_options[i].option);
                                else if (len > 0)
                                        strbuf_puts(&b, key_options[i].option);
                        }
                if (len == 0)
                        strbuf_append(&b, p, 1);
                p += len ?: 1;
        }
        return strbuf_steal(&b);
}

int remote_print_error(const sd_bus_error *error, int r) {
        if (sd_bus_error_has_name(error, SD_BUS_ERROR_SERVICE_UNKNOWN) ||
            sd_bus_error_has_name(error, SD_BUS_ERROR_NAME_HAS_NO_OWNER))
                fprintf(stderr, "fwregistryd is not running (%s); use --offline to read the descriptors "
                        "directly.\n", error->message);
        else if (sd_bus_error_has_name(error, SD_BUS_ERROR_INVALID_ARGS) && error->message) {
                _cleanup_(freep) char *s = options_for_keys(error->message);
                fprintf(stderr, "%s\n", s ?: error->message);
        } else if (sd_bus_error_has_name(error, SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED))
                fprintf(stderr, "%s (allow fwregistryctl to ask for a password: drop --no-ask-password)\n",
                        error->message);
        else
                fprintf(stderr, "%s\n", error->message ?: strerror(-r));
        if (sd_bus_error_has_name(error, BUS_NAME ".Error.NoMatch"))
                return -ENOENT;
        return r < 0 ? r : -EIO;
}

/* ---- requests ------------------------------------------------------------------------------------------ */

static int append_key(sd_bus_message *m, const char *key, const char *sig, ...) {
        va_list ap;
        int r;

        r = sd_bus_message_open_container(m, 'e', "sv");
        if (r >= 0)
                r = sd_bus_message_append_basic(m, 's', key);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'v', sig);
        if (r >= 0) {
                va_start(ap, sig);
                r = sd_bus_message_appendv(m, sig, ap);
                va_end(ap);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r;
}

static int append_key_strv(sd_bus_message *m, const char *key, char **l) {
        int r;

        r = sd_bus_message_open_container(m, 'e', "sv");
        if (r >= 0)
                r = sd_bus_message_append_basic(m, 's', key);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'v', "as");
        if (r >= 0)
                r = sd_bus_message_append_strv(m, l);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r < 0 ? r : sd_bus_message_close_container(m);
}

static int append_features(sd_bus_message *m, const Request *req) {
        int r;

        r = sd_bus_message_open_container(m, 'e', "sv");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", "features");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'v', "a{sb}");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sb}");
        for (int f = 0; r >= 0 && f < _FEATURE_MAX; f++) {
                uint64_t bit = UINT64_C(1) << f;
                if ((req->features_required | req->features_forbidden) & bit)
                        r = sd_bus_message_append(m, "{sb}", feature_to_string(f),
                                                  (int) !!(req->features_required & bit));
        }
        STRV_FOREACH(s, req->unknown_required)
                if (r >= 0)
                        r = sd_bus_message_append(m, "{sb}", *s, 1);
        STRV_FOREACH(s, req->unknown_forbidden)
                if (r >= 0)
                        r = sd_bus_message_append(m, "{sb}", *s, 0);
        for (int i = 0; i < 3 && r >= 0; i++)
                r = sd_bus_message_close_container(m);
        return r;
}

/* The request's keys as a{sv}: exactly those that were set. */
static int append_request(sd_bus_message *m, const Request *req, bool list) {
        int r;

        r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0 && req->has_architecture)
                r = append_key(m, "architecture", "s", architecture_to_string(req->architecture));
        if (r >= 0 && req->machine)
                r = append_key(m, "machine", "s", req->machine);
        if (r >= 0 && req->has_interface)
                r = append_key(m, "interface", "s", interface_type_to_string(req->interface));
        if (r >= 0 && (req->features_required || req->features_forbidden || req->unknown_required ||
                       req->unknown_forbidden))
                r = append_features(m, req);
        if (r >= 0 && req->has_device)
                r = append_key(m, "device", "s", device_to_string(req->device));
        if (r >= 0 && req->has_mode)
                r = append_key(m, "mode", "s", flash_mode_to_string(req->mode));
        if (r >= 0 && req->has_formats) {
                char *formats[_FORMAT_MAX + 1] = {};
                size_t n = 0;
                for (int f = 0; f < _FORMAT_MAX; f++)
                        if (req->formats & (1U << f))
                                formats[n++] = (char *) format_to_string(f);
                r = append_key_strv(m, "formats", formats);
        }
        if (r >= 0 && req->has_smm)
                r = append_key(m, "smm", "b", (int) req->smm);
        if (r >= 0 && req->has_check_files)
                r = append_key(m, "check-files", "b", (int) req->check_files);
        if (r >= 0 && req->exclude)
                r = append_key_strv(m, "exclude", req->exclude);
        if (r >= 0 && req->executable)
                r = append_key(m, "executable", "s", req->executable);
        if (r >= 0 && req->nvram_template)
                r = append_key(m, "nvram-template", "s", req->nvram_template);
        if (r >= 0 && req->has_nvram && req->nvram_fd >= 0)
                r = append_key(m, "nvram", "h", req->nvram_fd);
        if (r >= 0 && req->certificates)
                r = append_key_strv(m, "certificates", req->certificates);
        if (r >= 0 && list && req->include_invalid)
                r = append_key(m, "include-invalid", "b", 1);
        if (r >= 0 && list && req->include_masked)
                r = append_key(m, "include-masked", "b", 1);
        if (r >= 0 && list && req->include_shadowed)
                r = append_key(m, "include-shadowed", "b", 1);
        if (r >= 0 && list && req->offset > 0)
                r = append_key(m, "offset", "u", req->offset);
        if (r >= 0 && list && req->limit > 0)
                r = append_key(m, "limit", "u", req->limit);
        return r < 0 ? r : sd_bus_message_close_container(m);
}

int remote_append_request(sd_bus_message *m, const Request *req) {
        return append_request(m, req, false);
}

static int call_with_request_error(sd_bus *bus, const char *method, const Request *req, bool list,
                                   sd_bus_message **ret, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, BUS_NAME, MANAGER_PATH, MANAGER_INTERFACE, method);
        if (r >= 0)
                r = append_request(m, req, list);
        if (r < 0)
                return r;
        return sd_bus_call(bus, m, 0, error, ret);
}

static int call_with_request(sd_bus *bus, const char *method, const Request *req, bool list,
                             sd_bus_message **ret) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = call_with_request_error(bus, method, req, list, ret, &error);
        if (r < 0)
                r = remote_print_error(&error, r);
        sd_bus_error_free(&error);
        return r;
}

/* ---- calls --------------------------------------------------------------------------------------------- */

int remote_list(sd_bus *bus, const Request *filter, uint64_t *ret_generation, RemoteEntry **ret, size_t *ret_n) {
        RemoteEntry *entries = NULL;
        uint64_t generation = 0, first = 0;
        Request page = *filter;         /* shallow: only offset and limit are ours */
        size_t n = 0;
        int r = 0;

        /* in pages, so that no reply passes the daemon's bound; when the catalogue changes meanwhile, the
         * pages would not fit together: start again (a few times, then take what is there) */
        page.limit = REMOTE_LIST_PAGE;
        for (unsigned attempt = 0;; ) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
                sd_bus_error error = SD_BUS_ERROR_NULL;
                size_t items = 0;

                r = call_with_request_error(bus, "List", &page, true, &reply, &error);
                if (r < 0 && sd_bus_error_has_name(&error, BUS_NAME ".Error.TooLarge") && page.limit > 1) {
                        sd_bus_error_free(&error);
                        page.limit /= 2;        /* large entries: smaller pages */
                        continue;
                }
                if (r < 0)
                        r = remote_print_error(&error, r);
                sd_bus_error_free(&error);
                if (r >= 0)
                        r = remote_read_list_page(reply, &generation, &entries, &n, &items);
                if (r < 0)
                        break;
                if (page.offset == 0)
                        first = generation;
                else if (generation != first && ++attempt < 3) {
                        remote_entries_free(entries, n);
                        entries = NULL;
                        n = 0;
                        page.offset = 0;
                        continue;
                }
                if (items < page.limit)
                        break;
                page.offset += items;
        }
        if (r < 0) {
                remote_entries_free(entries, n);
                return r;
        }
        *ret_generation = generation;
        *ret = entries;
        *ret_n = n;
        return 0;
}

int remote_resolve(sd_bus *bus, const Request *req, uint64_t *ret_generation, RemoteEntry *ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = call_with_request(bus, "Resolve", req, false, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_skip(reply, "o");
        if (r < 0)
                return r;
        return remote_read_entry(reply, ret_generation, ret);
}

void remote_verdicts_free(RemoteVerdict *v, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(v[i].name);
                free(v[i].verdict);
                strv_free(v[i].reasons);
        }
        free(v);
}

int remote_explain(sd_bus *bus, const Request *req, char **ret_selected, RemoteVerdict **ret, size_t *ret_n) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(freep) char *selected = NULL;
        RemoteVerdict *v = NULL;
        const char *path;
        size_t n = 0;
        int r;

        r = call_with_request(bus, "Explain", req, false, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_read_basic(reply, 'o', &path);
        if (r >= 0 && !streq(path, "/"))
                r = sd_bus_path_decode(path, MANAGER_PATH "/firmware", &selected);
        if (r >= 0)
                r = sd_bus_message_enter_container(reply, 'a', "(ssas)");
        while (r >= 0 && (r = sd_bus_message_enter_container(reply, 'r', "ssas")) > 0) {
                RemoteVerdict *nv = realloc(v, sizeof(RemoteVerdict) * (n + 1));
                const char *name, *verdict;

                if (!nv) {
                        r = -ENOMEM;
                        break;
                }
                v = nv;
                v[n] = (RemoteVerdict) {};
                r = sd_bus_message_read(reply, "ss", &name, &verdict);
                if (r >= 0) {
                        v[n].name = strdup(name);
                        v[n].verdict = strdup(verdict);
                        n++;
                        r = v[n - 1].name && v[n - 1].verdict ? 0 : -ENOMEM;
                }
                if (r >= 0)
                        r = sd_bus_message_read_strv(reply, &v[n - 1].reasons);
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
        }
        if (r < 0) {
                remote_verdicts_free(v, n);
                return r;
        }
        *ret_selected = TAKE_PTR(selected);
        *ret = v;
        *ret_n = n;
        return 0;
}

int remote_describe(sd_bus *bus, const char *name, char **ret_json) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        const char *json;
        int r;

        r = sd_bus_call_method(bus, BUS_NAME, MANAGER_PATH, MANAGER_INTERFACE, "Describe", &error, &reply, "s",
                               name);
        if (r < 0) {
                r = remote_print_error(&error, r);
                sd_bus_error_free(&error);
                return r;
        }
        r = sd_bus_message_read(reply, "s", &json);
        if (r < 0)
                return r;
        *ret_json = strdup(json);
        return *ret_json ? 0 : -ENOMEM;
}

void status_done(Status *st) {
        free(st->version);
        free(st->scope);
        free(st->instance_id);
        strv_free(st->search_path);
        strv_free(st->architectures);
        strv_free(st->features);
        strv_free(st->unwatched);
}

static int read_property(sd_bus_message *m, const char *name, void *userdata) {
        static const RemoteField properties[] = {
                { "Version", 's', offsetof(Status, version) },
                { "Scope", 's', offsetof(Status, scope) },
                { "InstanceId", 's', offsetof(Status, instance_id) },
                { "SearchPath", 'a', offsetof(Status, search_path) },
                { "Architectures", 'a', offsetof(Status, architectures) },
                { "Features", 'a', offsetof(Status, features) },
                { "UnwatchedDirectories", 'a', offsetof(Status, unwatched) },
                { "Generation", 't', offsetof(Status, generation) },
                { "Count", 'u', offsetof(Status, count) },
                { "InvalidCount", 'u', offsetof(Status, invalid_count) },
        };
        int r;

        r = remote_read_field(m, name, properties, ELEMENTSOF(properties), userdata);
        if (r != 0)
                return r;
        return sd_bus_message_skip(m, NULL);
}

int remote_status(sd_bus *bus, Status *ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        Status st = { .online = true };
        int r;

        r = sd_bus_call_method(bus, BUS_NAME, MANAGER_PATH, "org.freedesktop.DBus.Properties", "GetAll", &error,
                               &reply, "s", MANAGER_INTERFACE);
        if (r < 0) {
                r = remote_print_error(&error, r);
                sd_bus_error_free(&error);
                return r;
        }
        r = remote_read_dict(reply, read_property, &st);
        if (r < 0) {
                status_done(&st);
                return r;
        }
        *ret = st;
        return 0;
}

int remote_reload(sd_bus *bus, bool interactive) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        (void) sd_bus_set_allow_interactive_authorization(bus, interactive);
        r = sd_bus_call_method(bus, BUS_NAME, MANAGER_PATH, MANAGER_INTERFACE, "Reload", &error, NULL, NULL);
        if (r < 0)
                r = remote_print_error(&error, r);
        sd_bus_error_free(&error);
        return r < 0 ? r : 0;
}

static int on_interrupt(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

typedef struct MonitorState {
        bool json;
        char *instance_id;      /* NULL when the daemon has none */
} MonitorState;

static void print_change(uint64_t generation, char **added, char **removed, char **modified,
                         const MonitorState *st) {
        if (st->json) {
                _cleanup_(yajl_gen_freep) yajl_gen g = render_gen_new(false);
                int r = gen_map_open(g);

                if (st->instance_id)
                        r = r ?: gen_key_string(g, "instance-id", st->instance_id);
                r = r ?: gen_key_uint(g, "generation", generation);
                r = r ?: gen_key_strv(g, "added", added);
                r = r ?: gen_key_strv(g, "removed", removed);
                r = r ?: gen_key_strv(g, "modified", modified);
                r = r ?: gen_map_close(g);
                _cleanup_(freep) char *s = r ? NULL : render_gen_steal(g);
                printf("%s\n", strempty(s));
        } else {
                printf("generation %" PRIu64 ":", generation);   /* the instance is in the first line */
                STRV_FOREACH(s, added)
                        printf(" +%s", *s);
                STRV_FOREACH(s, removed)
                        printf(" -%s", *s);
                STRV_FOREACH(s, modified)
                        printf(" ~%s", *s);
                printf("\n");
        }
        fflush(stdout);
}

static int on_catalogue_changed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_(strv_freep) char **added = NULL, **removed = NULL, **modified = NULL;
        uint64_t generation;
        int r;

        r = sd_bus_message_read_basic(m, 't', &generation);
        if (r >= 0)
                r = sd_bus_message_read_strv(m, &added);
        if (r >= 0)
                r = sd_bus_message_read_strv(m, &removed);
        if (r >= 0)
                r = sd_bus_message_read_strv(m, &modified);
        if (r < 0)
                return 0;
        print_change(generation, added, removed, modified, userdata);
        return 0;
}

int remote_monitor(sd_bus *bus, bool json) {
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        _cleanup_(freep) char *instance_id = NULL;
        MonitorState st = { .json = json };
        uint64_t generation = 0;
        sigset_t mask;
        int r;

        r = sd_bus_match_signal(bus, &slot, BUS_NAME, MANAGER_PATH, MANAGER_INTERFACE, "CatalogueChanged",
                                on_catalogue_changed, &st);
        if (r < 0) {
                fprintf(stderr, "Failed to subscribe to CatalogueChanged: %s\n", strerror(-r));
                return r;
        }
        /* after the match is in place: a restart from here on shows as a new instance */
        (void) sd_bus_get_property_string(bus, BUS_NAME, MANAGER_PATH, MANAGER_INTERFACE, "InstanceId", NULL,
                                          &instance_id);
        (void) sd_bus_get_property_trivial(bus, BUS_NAME, MANAGER_PATH, MANAGER_INTERFACE, "Generation", NULL, 't',
                                           &generation);
        st.instance_id = instance_id;

        /* Ctrl-C as an event of the loop: a flag set by a handler could come between its check and the
         * wait, and the wait would not end */
        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return -errno;
        r = sd_event_new(&event);
        if (r >= 0)
                r = sd_event_add_signal(event, NULL, SIGINT, on_interrupt, NULL);
        if (r >= 0)
                r = sd_event_add_signal(event, NULL, SIGTERM, on_interrupt, NULL);
        if (r >= 0)
                r = sd_bus_attach_event(bus, event, SD_EVENT_PRIORITY_NORMAL);
        if (r >= 0)     /* the loop ends with EXIT_FAILURE */
                r = sd_bus_set_exit_on_disconnect(bus, true);
        if (r < 0)
                return r;
        if (instance_id)
                fprintf(stderr, "Monitoring catalogue changes of instance %s from generation %" PRIu64 ", press "
                        "Ctrl-C to stop.\n", instance_id, generation);
        else
                fprintf(stderr, "Monitoring catalogue changes, press Ctrl-C to stop.\n");
        r = sd_event_loop(event);
        (void) sd_bus_detach_event(bus);
        if (r > 0)
                return -ECONNRESET;
        if (r < 0)
                return r;
        return 0;
}
