/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* fwregistryd: parses the command line, loads the catalogue, takes the bus name and runs the event loop. */

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <systemd/sd-daemon.h>

#include "config.h"
#include "util/log.h"
#include "manager.h"

static bool arg_user = false;
static char *arg_root = NULL;
static char *arg_search_path = NULL;
static char **arg_extra_dirs = NULL;
static uint64_t arg_debounce_usec = MANAGER_DEBOUNCE_USEC_DEFAULT;
static char *arg_qemu_dirs = NULL;
static uint64_t arg_qemu_timeout_usec = QEMU_TIMEOUT_USEC_DEFAULT;
static uint64_t arg_poll_usec = MANAGER_POLL_USEC_DEFAULT;
static size_t arg_max_descriptors = CATALOGUE_ENTRIES_MAX;
static char *arg_cache_dir = NULL;
static bool arg_no_cache = false;

static void help(void) {
        printf("%s [OPTIONS...]\n\n"
               "Serves the QEMU firmware descriptor catalogue on D-Bus.\n\n"
               "  -h --help               Show this help\n"
               "     --version            Show the version\n"
               "     --system             Serve on the system bus (default)\n"
               "     --user               Serve on the session bus, with the user's directory\n"
               "     --root=DIR           Read every search directory below DIR\n"
               "     --search-path=DIRS   Colon-separated directories, most general first\n"
               "     --extra-dir=DIR      Add a most general directory (repeatable)\n"
               "     --debounce=MSEC      Collect file changes this long before rebuilding (default 50)\n"
               "     --qemu-dirs=DIRS     Where to find the QEMU binaries asked for machine aliases\n"
               "                          (default " QEMU_DIRS_DEFAULT ", none with --root)\n"
               "     --qemu-timeout=MSEC  How long QEMU may take to answer (default 5000)\n"
               "     --poll-interval=MSEC Rescan directories that cannot be watched this often\n"
               "                          (default 5000)\n"
               "     --max-descriptors=N  Serve at most N descriptor files, the first in rank order\n"
               "                          (default and most: %u)\n"
               "     --cache-dir=DIR      Keep image facts and QEMU's answers across restarts in DIR\n"
               "                          (default $CACHE_DIRECTORY, else ~/.cache/fwregistryd with\n"
               "                          --user, /var/cache/fwregistryd with --system; none with --root)\n"
               "     --no-cache           Neither read nor write a cache: learn everything afresh\n"
               "     --log-level=LEVEL    debug, info, notice, warning, err\n",
               program_invocation_short_name, CATALOGUE_ENTRIES_MAX);
}

static int parse_argv(int argc, char *argv[]) {
        enum {
                ARG_VERSION = 0x100, ARG_SYSTEM, ARG_USER, ARG_ROOT, ARG_SEARCH_PATH, ARG_EXTRA_DIR, ARG_LOG_LEVEL,
                ARG_DEBOUNCE, ARG_QEMU_DIRS, ARG_QEMU_TIMEOUT, ARG_POLL_INTERVAL,
                ARG_MAX_DESCRIPTORS, ARG_CACHE_DIR, ARG_NO_CACHE,
        };
        static const struct option options[] = {
                { "help",        no_argument,       NULL, 'h'             },
                { "version",     no_argument,       NULL, ARG_VERSION     },
                { "system",      no_argument,       NULL, ARG_SYSTEM      },
                { "user",        no_argument,       NULL, ARG_USER        },
                { "root",        required_argument, NULL, ARG_ROOT        },
                { "search-path", required_argument, NULL, ARG_SEARCH_PATH },
                { "extra-dir",   required_argument, NULL, ARG_EXTRA_DIR   },
                { "log-level",   required_argument, NULL, ARG_LOG_LEVEL   },
                { "debounce",    required_argument, NULL, ARG_DEBOUNCE    },
                { "qemu-dirs",   required_argument, NULL, ARG_QEMU_DIRS   },
                { "qemu-timeout", required_argument, NULL, ARG_QEMU_TIMEOUT },
                { "poll-interval", required_argument, NULL, ARG_POLL_INTERVAL },
                { "max-descriptors", required_argument, NULL, ARG_MAX_DESCRIPTORS },
                { "cache-dir",   required_argument, NULL, ARG_CACHE_DIR   },
                { "no-cache",    no_argument,       NULL, ARG_NO_CACHE    },
                {}
        };
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("fwregistryd %s\n", PACKAGE_VERSION);
                        return 0;
                case ARG_SYSTEM:
                case ARG_USER:
                        arg_user = c == ARG_USER;
                        break;
                case ARG_ROOT:
                        free(arg_root);
                        arg_root = strdup(optarg);
                        if (!arg_root)
                                return log_oom();
                        break;
                case ARG_SEARCH_PATH:
                        free(arg_search_path);
                        arg_search_path = strdup(optarg);
                        if (!arg_search_path)
                                return log_oom();
                        break;
                case ARG_EXTRA_DIR:
                        if (strv_extend(&arg_extra_dirs, optarg) < 0)
                                return log_oom();
                        break;
                case ARG_DEBOUNCE: {
                        char *end;
                        unsigned long ms;

                        errno = 0;
                        ms = strtoul(optarg, &end, 10);
                        if (errno != 0 || end == optarg || *end || ms > 60000)
                                return log_error_errno(EINVAL, "Invalid --debounce '%s': milliseconds, 0 to 60000.",
                                                       optarg);
                        arg_debounce_usec = (uint64_t) ms * 1000;
                        break;
                }
                case ARG_POLL_INTERVAL: {
                        char *end;
                        unsigned long ms;

                        errno = 0;
                        ms = strtoul(optarg, &end, 10);
                        if (errno != 0 || end == optarg || *end || ms < 10 || ms > 3600000)
                                return log_error_errno(EINVAL, "Invalid --poll-interval '%s': milliseconds, 10 to "
                                                       "3600000.", optarg);
                        arg_poll_usec = (uint64_t) ms * 1000;
                        break;
                }
                case ARG_MAX_DESCRIPTORS: {
                        char *end;
                        unsigned long n;

                        errno = 0;
                        n = strtoul(optarg, &end, 10);
                        if (errno != 0 || end == optarg || *end || n == 0 || n > CATALOGUE_ENTRIES_MAX)
                                return log_error_errno(EINVAL, "Invalid --max-descriptors '%s': 1 to %u.", optarg,
                                                       CATALOGUE_ENTRIES_MAX);
                        arg_max_descriptors = n;
                        break;
                }
                case ARG_CACHE_DIR:
                        if (optarg[0] != '/')
                                return log_error_errno(EINVAL, "Invalid --cache-dir '%s': an absolute path.", optarg);
                        free(arg_cache_dir);
                        arg_cache_dir = strdup(optarg);
                        if (!arg_cache_dir)
                                return log_oom();
                        break;
                case ARG_NO_CACHE:
                        arg_no_cache = true;
                        break;
                case ARG_QEMU_DIRS:
                        free(arg_qemu_dirs);
                        arg_qemu_dirs = strdup(optarg);
                        if (!arg_qemu_dirs)
                                return log_oom();
                        break;
                case ARG_QEMU_TIMEOUT: {
                        char *end;
                        unsigned long ms;

                        errno = 0;
                        ms = strtoul(optarg, &end, 10);
                        if (errno != 0 || end == optarg || *end || ms == 0 || ms > 60000)
                                return log_error_errno(EINVAL, "Invalid --qemu-timeout '%s': milliseconds, 1 to "
                                                       "60000.", optarg);
                        arg_qemu_timeout_usec = (uint64_t) ms * 1000;
                        break;
                }
                case ARG_LOG_LEVEL: {
                        int level = log_level_from_string(optarg);

                        /* the level in force until now decides whether this is printed: never the bad one */
                        if (level < 0)
                                return log_error_errno(EINVAL, "Unknown log level '%s' (expected emerg, alert, "
                                                       "crit, err, warning, notice, info, debug or 0 to 7).",
                                                       optarg);
                        log_max_level = level;
                        break;
                }
                case '?':       /* getopt said what was wrong */
                        return -EINVAL;
                default:
                        return log_error_errno(EINVAL, "Unhandled option.");
                }

        if (optind < argc)
                return log_error_errno(EINVAL, "This program takes no arguments.");
        return 1;
}

static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;

        log_info("Received SIGHUP from pid %" PRIu32 ", rescanning.", si->ssi_pid);
        manager_retry_watches(m);
        (void) manager_rescan_request(m, "SIGHUP", NULL);
        return 0;
}

static int on_sigterm(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;

        log_info("Received %s, exiting.", strsignal((int) si->ssi_signo));
        (void) sd_notify(false, "STOPPING=1");
        return sd_event_exit(m->event, 0);
}

static int run(int argc, char *argv[]) {
        _cleanup_(manager_freep) Manager *m = NULL;
        _cleanup_(strv_freep) char **dirs = NULL;
        _cleanup_(freep) char *status = NULL;
        sigset_t mask;
        int r;

        const char *level = getenv("FWREGISTRYD_LOG_LEVEL");
        if (level && log_level_from_string(level) >= 0)
                log_max_level = log_level_from_string(level);

        r = parse_argv(argc, argv);
        if (r <= 0)
                return r;

        r = catalogue_search_path(arg_user, arg_search_path, arg_extra_dirs, &dirs);
        if (r == -EINVAL)
                return log_error_errno(r, "Search directories must be absolute paths.");
        if (r < 0)
                return log_oom();

        r = manager_new(arg_user, arg_root, dirs, &m);
        if (r < 0)
                return log_error_errno(r, "Failed to set up: %m");
        m->debounce_usec = arg_debounce_usec;
        m->poll_usec = arg_poll_usec;
        m->max_entries = arg_max_descriptors;
        /* for the test suite: out of memory on demand, where nothing else can make it happen */
        const char *failing = getenv("FWREGISTRYD_TEST_FAILING_REBUILDS");
        if (failing)
                m->test_failing_rebuilds = (unsigned) strtoul(failing, NULL, 10);
        m->qemu_timeout_usec = arg_qemu_timeout_usec;
        /* a root's binaries are never run: without --qemu-dirs, the built-in aliases serve it */
        r = path_list_parse(arg_qemu_dirs ?: m->root ? "" : QEMU_DIRS_DEFAULT, &m->qemu_dirs);
        if (r == -EINVAL)
                return log_error_errno(r, "QEMU directories must be absolute paths.");
        if (r < 0)
                return log_oom();

        /* a root's tree is described, not served from: without --cache-dir it gets no cache of the host's */
        if (!arg_no_cache && arg_cache_dir) {
                m->cache_dir = strdup(arg_cache_dir);
                if (!m->cache_dir)
                        return log_oom();
        } else if (!arg_no_cache && !m->root) {
                r = manager_cache_default_dir(arg_user, &m->cache_dir);
                if (r == -ENXIO)
                        log_notice("No $XDG_CACHE_HOME or $HOME to keep a cache in, serving without one.");
                else if (r < 0)
                        return log_oom();
        }

        sigemptyset(&mask);
        sigaddset(&mask, SIGHUP);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return log_error_errno(errno, "Failed to block signals: %m");
        r = sd_event_add_signal(m->event, NULL, SIGHUP, on_sighup, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGTERM, on_sigterm, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGINT, on_sigterm, m);
        if (r < 0)
                return log_error_errno(r, "Failed to watch signals: %m");

        r = manager_load(m);
        if (r < 0)
                return r;
        r = manager_connect(m);
        if (r < 0)
                return r;

        status = manager_status_text(m);
        (void) sd_notifyf(false, "READY=1\nSTATUS=%s", strempty(status));
        log_info("%s on the %s bus.", strempty(status), arg_user ? "session" : "system");

        r = sd_event_loop(m->event);
        manager_cache_flush(m);         /* what a write due soon would have said */
        if (r == -ECONNRESET)
                return r;               /* the bus went away: logged already */
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m");
        return 0;
}

int main(int argc, char *argv[]) {
        int r = run(argc, argv);

        free(arg_root);
        free(arg_search_path);
        free(arg_qemu_dirs);
        free(arg_cache_dir);
        strv_free(arg_extra_dirs);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
