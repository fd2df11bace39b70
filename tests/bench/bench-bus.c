/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The bus benchmark of DESIGN section 8: Resolve round trips to the real daemon on a private bus, compared
 * with a stand-in service on the same bus that answers the same request with a stored copy of the daemon's
 * reply (the floor the bus sets for that message) and with Peer.Ping; then throughput with 1 and 4 clients.
 * It reports against the targets; it fails only on errors. */

#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <systemd/sd-bus.h>

#include "bench-tree.h"
#include "bus/bus.h"

#define STAND_IN_NAME "io.github.fwregistryd.BenchStandIn"
#define PEER_INTERFACE "org.freedesktop.DBus.Peer"

#define CALLS_DEFAULT 20000U
#define CALLS_MAX 10000000U
#define WARMUP_CALLS 1000U
#define BLOCK_CALLS 100U                        /* calls in a row to one callee before the next one's turn */
#define LATENCY_BUDGET_NSEC 30000000000ULL      /* for all latency series of one size, after the warm-up */
#define DURATION_DEFAULT_MS 2000U
#define DURATION_MAX_MS 60000U
#define START_TIMEOUT_NSEC 30000000000ULL       /* for a process to take its bus name */
#define STOP_TIMEOUT_NSEC 10000000000ULL        /* for a process to exit after SIGTERM */
#define N_SIZES_MAX 16
#define CLIENTS_MAX 4

#define NSEC_PER_MSEC 1000000ULL

/* The sum of what bench-bus was asked to do. */
typedef struct Options {
        unsigned sizes[N_SIZES_MAX];
        size_t n_sizes;
        size_t calls;
        uint64_t duration_nsec;                 /* throughput per service and client count, in two halves */
        bool copy;                              /* the stand-in sd_bus_message_copy()s the stored reply */
        int cpu;                                /* >= 0: everything runs on this CPU only */
        const char *daemon;
} Options;

/* ---- child processes ----------------------------------------------------------------------------------- */

/* A child that dies with us (PR_SET_PDEATHSIG), watched through a pidfd so that waits have deadlines. */
typedef struct Process {
        const char *what;
        pid_t pid;
        int pidfd;
} Process;

/* In the child, right after fork(): only async-signal-safe calls until exec or _exit. */
static void process_child_setup(pid_t parent, int log_fd, int keep_fd) {
        if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
                _exit(EXIT_FAILURE);
        if (log_fd >= 0 && (dup2(log_fd, STDOUT_FILENO) < 0 || dup2(log_fd, STDERR_FILENO) < 0))
                _exit(EXIT_FAILURE);
        if (keep_fd >= 0 && fcntl(keep_fd, F_SETFD, 0) < 0)
                _exit(EXIT_FAILURE);
}

/* Forks; in the child, runs exec_argv (when given) or returns 0 to the caller, which must _exit(). Returns 1
 * in the parent, 0 in the child, or a negative errno. */
static int process_fork(const char *what, char * const *exec_argv, int log_fd, int keep_fd, Process *ret) {
        pid_t parent = getpid(), pid;
        int pidfd;

        fflush(NULL);
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                process_child_setup(parent, log_fd, keep_fd);
                if (!exec_argv)
                        return 0;
                execvp(exec_argv[0], exec_argv);
                _exit(127);
        }
        pidfd = pidfd_open(pid, 0);
        if (pidfd < 0) {
                int r = -errno;
                (void) kill(pid, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                return r;
        }
        *ret = (Process) { .what = what, .pid = pid, .pidfd = pidfd };
        return 1;
}

/* Waits up to timeout_nsec for the process to exit, reaping it. Returns 1 with its wait status, 0 when it is
 * still running, or a negative errno. */
static int process_wait(Process *p, uint64_t timeout_nsec, int *ret_status) {
        struct pollfd pfd = { .fd = p->pidfd, .events = POLLIN };
        int r, status;

        r = poll(&pfd, 1, (int) (timeout_nsec / NSEC_PER_MSEC));
        if (r < 0)
                return -errno;
        if (r == 0)
                return 0;
        if (waitpid(p->pid, &status, 0) < 0)
                return -errno;
        p->pid = 0;
        if (ret_status)
                *ret_status = status;
        return 1;
}

/* SIGTERM, then SIGKILL when it does not exit in time. Returns 0 for a clean exit (0 or by SIGTERM),
 * -EPROTO for any other, or a negative errno. Safe to call again or on a process never started. */
static int process_stop(Process *p) {
        int r, status = 0;

        if (p->pid > 0) {
                (void) kill(p->pid, SIGTERM);
                r = process_wait(p, STOP_TIMEOUT_NSEC, &status);
                if (r == 0) {
                        fprintf(stderr, "%s did not exit after SIGTERM, killing it.\n", p->what);
                        (void) kill(p->pid, SIGKILL);
                        r = process_wait(p, STOP_TIMEOUT_NSEC, &status);
                }
                if (r <= 0)
                        return r < 0 ? r : -ETIMEDOUT;  /* not reaped: a later call tries again */
        }
        closep(&p->pidfd);
        p->pidfd = -1;
        if ((WIFEXITED(status) && WEXITSTATUS(status) == 0) ||
            (WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM))
                return 0;
        fprintf(stderr, "%s exited with status 0x%x.\n", p->what, (unsigned) status);
        return -EPROTO;
}

static void process_stopp(Process *p) {
        (void) process_stop(p);
}

static void print_log(const char *path) {
        _cleanup_(freep) char *line = NULL;
        size_t allocated = 0;
        FILE *f = fopen(path, "re");

        if (!f)
                return;
        fprintf(stderr, "--- %s ---\n", path);
        while (getline(&line, &allocated, f) > 0)
                fputs(line, stderr);
        fprintf(stderr, "--- end of log ---\n");
        fclose(f);
}

/* ---- the private bus ----------------------------------------------------------------------------------- */

/* Like the system bus, lets everyone connect, call and own names (tests/integration/fwtest.py BUS_CONFIG). */
static int bus_config_write(const char *dir, char **ret_path) {
        _cleanup_(freep) char *path = path_join(dir, "bus.conf");
        FILE *f;

        if (!path)
                return -ENOMEM;
        f = fopen(path, "we");
        if (!f)
                return -errno;
        fprintf(f, "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
                   " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
                   "<busconfig>\n"
                   "  <type>system</type>\n"
                   "  <listen>unix:dir=%s</listen>\n"
                   "  <auth>EXTERNAL</auth>\n"
                   "  <policy context=\"default\">\n"
                   "    <allow user=\"*\"/>\n"
                   "    <allow own=\"*\"/>\n"
                   "    <allow send_destination=\"*\" eavesdrop=\"true\"/>\n"
                   "    <allow eavesdrop=\"true\"/>\n"
                   "  </policy>\n"
                   "</busconfig>\n", dir);
        if (fclose(f) != 0)
                return -errno;
        *ret_path = TAKE_PTR(path);
        return 0;
}

/* Reads one line from fd within the deadline; EOF before the newline is -EPIPE. */
static int read_line(int fd, uint64_t deadline, char *buf, size_t size) {
        size_t n = 0;

        for (;;) {
                struct pollfd pfd = { .fd = fd, .events = POLLIN };
                uint64_t now = now_nsec();
                ssize_t k;

                if (now >= deadline)
                        return -ETIMEDOUT;
                if (poll(&pfd, 1, (int) ((deadline - now) / NSEC_PER_MSEC) + 1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                k = read(fd, buf + n, size - 1 - n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                if (k == 0)
                        return -EPIPE;
                n += (size_t) k;
                buf[n] = 0;
                char *nl = strchr(buf, '\n');
                if (nl) {
                        *nl = 0;
                        return 0;
                }
                if (n >= size - 1)
                        return -E2BIG;
        }
}

/* Starts dbus-daemon on a socket in dir and returns its address. */
static int bus_daemon_start(const char *dir, Process *ret, char **ret_address) {
        _cleanup_(freep) char *conf = NULL, *config_arg = NULL, *print_arg = NULL;
        _cleanup_(freep) char *log_path = path_join(dir, "dbus-daemon.log");
        _cleanup_(closep) int rfd = -1, wfd = -1, log_fd = -1;
        char address[1024];
        int fds[2], r;

        if (!log_path)
                return -ENOMEM;
        r = bus_config_write(dir, &conf);
        if (r < 0)
                return r;
        /* it complains about the fd limit it may not raise: not worth showing unless it fails */
        log_fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (log_fd < 0)
                return -errno;
        if (pipe2(fds, O_CLOEXEC) < 0)
                return -errno;
        rfd = fds[0];
        wfd = fds[1];
        config_arg = strdup_printf("--config-file=%s", conf);
        print_arg = strdup_printf("--print-address=%d", wfd);
        if (!config_arg || !print_arg)
                return -ENOMEM;

        char *argv[] = { (char *) "dbus-daemon", config_arg, (char *) "--nofork", print_arg, NULL };
        r = process_fork("dbus-daemon", argv, log_fd, wfd, ret);
        if (r < 0)
                return r;
        closep(&wfd);
        wfd = -1;
        r = read_line(rfd, now_nsec() + START_TIMEOUT_NSEC, address, sizeof(address));
        if (r < 0) {
                fprintf(stderr, "dbus-daemon did not print its address: %s\n", strerror(-r));
                (void) process_stop(ret);
                print_log(log_path);
                return r;
        }
        *ret_address = strdup(address);
        return *ret_address ? 0 : -ENOMEM;
}

/* A client connection of its own to the private bus. */
static int bus_connect(const char *address, const char *description, sd_bus **ret) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        r = sd_bus_new(&bus);
        if (r < 0)
                return r;
        r = sd_bus_set_address(bus, address);
        if (r >= 0)
                r = sd_bus_set_bus_client(bus, true);
        if (r >= 0)
                r = sd_bus_set_description(bus, description);
        if (r >= 0)
                r = sd_bus_start(bus);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(bus);
        return 0;
}

/* Whether the name is owned by the process (the previous owner may not be gone from the bus yet). */
static int name_owned_by(sd_bus *bus, const char *name, pid_t pid) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        uint32_t owner;
        int r;

        r = sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                               "GetConnectionUnixProcessID", &error, &reply, "s", name);
        if (sd_bus_error_has_name(&error, "org.freedesktop.DBus.Error.NameHasNoOwner"))
                return 0;
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "u", &owner);
        if (r < 0)
                return r;
        return (pid_t) owner == pid;
}

static int on_name_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        bool *changed = userdata;

        *changed = true;
        return 0;
}

/* Waits until the process owns the name, without sleeping: on NameOwnerChanged or the process's exit.
 * Returns 0, -ESRCH when the process exited, -ETIMEDOUT, or a negative errno. */
static int name_wait(sd_bus *bus, const char *name, Process *p, uint64_t timeout_nsec) {
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        _cleanup_(freep) char *match = NULL;
        uint64_t deadline = now_nsec() + timeout_nsec;
        bool changed = true;                    /* check once after the match is in place */
        int r;

        match = strdup_printf("type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
                              "interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='%s'", name);
        if (!match)
                return -ENOMEM;
        r = sd_bus_add_match(bus, &slot, match, on_name_owner_changed, &changed);
        if (r < 0)
                return r;
        for (;;) {
                struct pollfd pfd[2] = { { .fd = sd_bus_get_fd(bus) }, { .fd = p->pidfd, .events = POLLIN } };
                uint64_t now;

                while ((r = sd_bus_process(bus, NULL)) > 0)
                        ;
                if (r < 0)
                        return r;
                if (changed) {
                        changed = false;
                        r = name_owned_by(bus, name, p->pid);
                        if (r != 0)
                                return r < 0 ? r : 0;
                }
                r = sd_bus_get_events(bus);
                if (r < 0)
                        return r;
                pfd[0].events = (short) r;
                now = now_nsec();
                if (now >= deadline)
                        return -ETIMEDOUT;
                if (poll(pfd, 2, (int) ((deadline - now) / NSEC_PER_MSEC) + 1) < 0 && errno != EINTR)
                        return -errno;
                if (pfd[1].revents & POLLIN)
                        return -ESRCH;
        }
}

/* ---- the reply, flattened ------------------------------------------------------------------------------ */

/* One step of a message body: open a container, append a basic value, or close (type 0). Plain memory, so a
 * forked child may use it. */
typedef struct Op {
        char type;
        char *text;                     /* a string value, or a container's contents */
        union {
                uint8_t y;
                int b;
                int16_t n;
                uint16_t q;
                int32_t i;
                uint32_t u;
                int64_t x;
                uint64_t t;
                double d;
        } value;
} Op;

typedef struct Body {
        Op *ops;
        size_t n_ops, allocated;
        size_t size;                    /* marshalled, in bytes */
} Body;

static void body_done(Body *b) {
        for (size_t i = 0; i < b->n_ops; i++)
                free(b->ops[i].text);
        free(b->ops);
        *b = (Body) {};
}

static Op *body_push(Body *b, char type, const char *text) {
        if (b->n_ops == b->allocated) {
                size_t allocated = b->allocated ? b->allocated * 2 : 64;
                Op *ops = reallocarray(b->ops, allocated, sizeof(Op));

                if (!ops)
                        return NULL;
                b->ops = ops;
                b->allocated = allocated;
        }
        Op *op = &b->ops[b->n_ops];
        *op = (Op) { .type = type };
        if (text && !(op->text = strdup(text)))
                return NULL;
        b->n_ops++;
        return op;
}

static bool type_is_container(char type) {
        return strchr("arev", type) && type != 0;
}

static bool type_is_string(char type) {
        return type == 's' || type == 'o' || type == 'g';
}

/* Reads the rest of the current container of m into the body. Returns 0 or a negative errno. */
static int body_read(Body *b, sd_bus_message *m, unsigned depth) {
        for (;;) {
                const char *contents, *s;
                char type;
                Op *op;
                int r;

                r = sd_bus_message_peek_type(m, &type, &contents);
                if (r <= 0)
                        return r;
                if (depth > 32 || type == 'h')
                        return -EOPNOTSUPP;
                if (type_is_container(type)) {
                        if (!body_push(b, type, contents))
                                return -ENOMEM;
                        r = sd_bus_message_enter_container(m, type, contents);
                        if (r >= 0)
                                r = body_read(b, m, depth + 1);
                        if (r >= 0)
                                r = sd_bus_message_exit_container(m);
                        if (r < 0)
                                return r;
                        if (!body_push(b, 0, NULL))
                                return -ENOMEM;
                        continue;
                }
                op = body_push(b, type, NULL);
                if (!op)
                        return -ENOMEM;
                r = sd_bus_message_read_basic(m, type,
                                              type_is_string(type) ? (void *) &s : (void *) &op->value);
                if (r < 0)
                        return r;
                if (type_is_string(type) && !(op->text = strdup(s)))
                        return -ENOMEM;
        }
}

static size_t align_to(size_t offset, size_t alignment) {
        return (offset + alignment - 1) / alignment * alignment;
}

static size_t type_alignment(char type) {
        switch (type) {
        case 'y': case 'g': case 'v':
                return 1;
        case 'n': case 'q':
                return 2;
        case 'x': case 't': case 'd': case 'r': case 'e': case '(': case '{':
                return 8;
        default:
                return 4;
        }
}

/* The body's marshalled size by the D-Bus specification: what travels besides the header. */
static size_t body_size(const Body *b) {
        size_t offset = 0;

        for (size_t i = 0; i < b->n_ops; i++) {
                const Op *op = &b->ops[i];

                if (op->type == 0)
                        continue;
                offset = align_to(offset, type_alignment(op->type));
                if (op->type == 'a')
                        offset = align_to(offset + 4, type_alignment(op->text[0]));
                else if (op->type == 'v')
                        offset += strlen(op->text) + 2;
                else if (op->type == 'g')
                        offset += strlen(op->text) + 2;
                else if (type_is_string(op->type))
                        offset += 4 + strlen(op->text) + 1;
                else if (!type_is_container(op->type))
                        offset += type_alignment(op->type);     /* fixed-size types: size = alignment */
        }
        return offset;
}

static int body_from_message(sd_bus_message *m, Body *ret) {
        _cleanup_(body_done) Body b = {};
        int r;

        r = sd_bus_message_rewind(m, true);
        if (r >= 0)
                r = body_read(&b, m, 0);
        if (r < 0)
                return r;
        b.size = body_size(&b);
        *ret = b;
        b = (Body) {};
        return 0;
}

/* Appends the body to m as it was read: no lookups, no formatting, only what sd-bus needs to marshal it. */
static int body_append(const Body *b, sd_bus_message *m) {
        int r = 0;

        for (size_t i = 0; r >= 0 && i < b->n_ops; i++) {
                const Op *op = &b->ops[i];

                if (op->type == 0)
                        r = sd_bus_message_close_container(m);
                else if (type_is_container(op->type))
                        r = sd_bus_message_open_container(m, op->type, op->text);
                else if (type_is_string(op->type))
                        r = sd_bus_message_append_basic(m, op->type, op->text);
                else
                        r = sd_bus_message_append_basic(m, op->type, &op->value);
        }
        return r;
}

/* The body as sd_bus_message_dump() prints it, to compare two replies. Returns NULL on failure. */
static char *body_dump(sd_bus_message *m) {
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);

        if (!f)
                return NULL;
        if (sd_bus_message_dump(m, f, 0) < 0) {
                fclose(f);
                free(text);
                return NULL;
        }
        if (fclose(f) != 0) {
                free(text);
                return NULL;
        }
        return text;
}

/* ---- the stand-in service ------------------------------------------------------------------------------ */

typedef struct StandIn {
        const Body *body;
        sd_bus_message *stored;         /* with --stand-in-copy: the body, sealed, to sd_bus_message_copy() */
} StandIn;

/* Answers without looking at the request beyond what sd-bus checks anyway (header and signature). */
static int stand_in_resolve(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        StandIn *s = userdata;
        int r;

        r = sd_bus_message_new_method_return(msg, &reply);
        if (r < 0)
                return r;
        if (s->stored) {
                r = sd_bus_message_rewind(s->stored, true);
                if (r >= 0)
                        r = sd_bus_message_copy(reply, s->stored, true);
        } else
                r = body_append(s->body, reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static const sd_bus_vtable stand_in_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_ARGS("Resolve",
                                SD_BUS_ARGS("a{sv}", request),
                                SD_BUS_RESULT("o", firmware, "a{sv}", result),
                                stand_in_resolve, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};

static int stand_in_store(sd_bus *bus, StandIn *s) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = sd_bus_message_new_signal(bus, &m, "/", "io.github.fwregistryd.Bench", "Stored");
        if (r >= 0)
                r = body_append(s->body, m);
        if (r >= 0)
                r = sd_bus_message_seal(m, 1, 0);
        if (r < 0)
                return r;
        s->stored = TAKE_PTR(m);
        return 0;
}

/* The child's life: a connection, the object, the name, then answering until the bus goes or SIGTERM. */
static int stand_in_run(const char *address, const Body *body, bool copy) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *stored = NULL;
        StandIn s = { .body = body };
        int r;

        r = bus_connect(address, "bench-stand-in", &bus);
        if (r >= 0 && copy)
                r = stand_in_store(bus, &s);
        stored = s.stored;
        if (r >= 0)
                r = sd_bus_add_object_vtable(bus, NULL, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE,
                                             stand_in_vtable, &s);
        if (r >= 0)
                r = sd_bus_request_name(bus, STAND_IN_NAME, 0);
        while (r >= 0) {
                r = sd_bus_process(bus, NULL);
                if (r == 0)
                        r = sd_bus_wait(bus, UINT64_MAX);
        }
        if (r == -ECONNRESET || r == -ENOTCONN)
                return 0;
        fprintf(stderr, "stand-in: %s\n", strerror(-r));
        return r;
}

static int stand_in_start(const char *address, const Body *body, bool copy, Process *ret) {
        int r;

        r = process_fork("the stand-in", NULL, -1, -1, ret);
        if (r != 0)
                return r;
        /* the child: the parent's bus connections are not ours to touch, so no cleanup, just _exit() */
        _exit(stand_in_run(address, body, copy) < 0 ? EXIT_FAILURE : EXIT_SUCCESS);
}

/* ---- calls --------------------------------------------------------------------------------------------- */

typedef enum Callee {
        CALLEE_DAEMON,                  /* Resolve on fwregistryd */
        CALLEE_STAND_IN,                /* Resolve on the stand-in */
        CALLEE_PING,                    /* Peer.Ping on fwregistryd: the bus's floor for an empty reply */
        CALLEE_STAND_IN_PING,           /* Peer.Ping on the stand-in: the same, for the other process */
        _CALLEE_MAX,
} Callee;

static const char *const callee_names[_CALLEE_MAX] = {
        [CALLEE_DAEMON] = "Resolve, daemon",
        [CALLEE_STAND_IN] = "Resolve, stand-in",
        [CALLEE_PING] = "Ping, daemon",
        [CALLEE_STAND_IN_PING] = "Ping, stand-in",
};

/* x86_64, secure-boot required, and each call (per thread) another versioned machine type: EXPECTED in
 * every tree, behind the tree's decoys, and no cache of whole requests can answer it. */
static int call_new(sd_bus *bus, Callee t, sd_bus_message **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        static _Thread_local unsigned n_calls;
        int r;

        if (t == CALLEE_PING || t == CALLEE_STAND_IN_PING)
                return sd_bus_message_new_method_call(bus, ret, t == CALLEE_PING ? BUS_NAME : STAND_IN_NAME,
                                                      BUS_MANAGER_PATH, PEER_INTERFACE, "Ping");
        r = sd_bus_message_new_method_call(bus, &m, t == CALLEE_DAEMON ? BUS_NAME : STAND_IN_NAME,
                                           BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, "Resolve");
        if (r >= 0)
                r = sd_bus_message_append(m, "a{sv}", 3, "architecture", "s", "x86_64", "machine", "s",
                                          tree_machine(n_calls++), "features", "a{sb}", 1, "secure-boot", 1);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

/* One round trip; the call is built before the clock starts. Returns 0 or a negative errno. */
static int call_once(sd_bus *bus, Callee t, uint64_t *ret_nsec, sd_bus_message **ret_reply) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        uint64_t start;
        int r;

        r = call_new(bus, t, &m);
        if (r < 0)
                return r;
        start = now_nsec();
        r = sd_bus_call(bus, m, 0, &error, &reply);
        if (ret_nsec)
                *ret_nsec = now_nsec() - start;
        if (r < 0) {
                fprintf(stderr, "%s failed: %s: %s\n", callee_names[t], error.name ?: strerror(-r),
                        error.message ?: "");
                return r;
        }
        if (ret_reply)
                *ret_reply = TAKE_PTR(reply);
        return 0;
}

/* ---- latency ------------------------------------------------------------------------------------------- */

/* Who does the work for a callee, to see the CPU time it costs apart from waiting. */
typedef struct Pids {
        pid_t bus;                              /* dbus-daemon */
        pid_t service[_CALLEE_MAX];
} Pids;

/* Nanoseconds the process's main thread has spent on a CPU so far (/proc/PID/schedstat), 0 if unknown. */
static uint64_t cpu_nsec(pid_t pid) {
        _cleanup_(closep) int fd = -1;
        char path[64], buf[128];
        ssize_t k;

        snprintf(path, sizeof(path), "/proc/%d/schedstat", (int) pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return 0;
        k = read(fd, buf, sizeof(buf) - 1);
        if (k <= 0)
                return 0;
        buf[k] = 0;
        return strtoull(buf, NULL, 10);
}

/* CPU time of the service and of dbus-daemon, to subtract from a later reading. */
typedef struct CpuMark {
        uint64_t service, bus;
} CpuMark;

static CpuMark cpu_mark(const Pids *pids, Callee t) {
        return (CpuMark) { .service = cpu_nsec(pids->service[t]), .bus = cpu_nsec(pids->bus) };
}

static void cpu_add_since(CpuMark *sum, const CpuMark *start, const Pids *pids, Callee t) {
        CpuMark now = cpu_mark(pids, t);

        sum->service += now.service - start->service;
        sum->bus += now.bus - start->bus;
}

typedef struct Series {
        uint64_t *nsec;
        size_t n;
        double median_us, p99_us, mean_us;
        CpuMark cpu;                            /* summed over the measured calls */
} Series;

static int compare_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? -1 : x > y;
}

static void series_finish(Series *s) {
        double sum = 0;

        if (s->n == 0)
                return;
        qsort(s->nsec, s->n, sizeof(uint64_t), compare_u64);
        for (size_t i = 0; i < s->n; i++)
                sum += (double) s->nsec[i];
        s->mean_us = sum / (double) s->n / 1e3;
        s->median_us = (s->n % 2 ? (double) s->nsec[s->n / 2]
                                 : ((double) s->nsec[s->n / 2 - 1] + (double) s->nsec[s->n / 2]) / 2) / 1e3;
        /* nearest rank: the ceil(0.99 n)-th smallest */
        s->p99_us = (double) s->nsec[(99 * s->n + 99) / 100 - 1] / 1e3;
}

/* Up to BLOCK_CALLS timed calls to one callee, and what they cost the service and the bus in CPU time. */
static int latency_block(sd_bus *bus, Callee t, size_t calls, const Pids *pids, Series *s) {
        CpuMark start = cpu_mark(pids, t);
        int r;

        for (size_t i = 0; i < BLOCK_CALLS && s->n < calls; i++) {
                r = call_once(bus, t, &s->nsec[s->n], NULL);
                if (r < 0)
                        return r;
                s->n++;
        }
        cpu_add_since(&s->cpu, &start, pids, t);
        return 0;
}

/* Warms up, then takes the series in turns of BLOCK_CALLS calls, so that whatever else the machine does
 * meanwhile falls on all alike. Stops at the given count or when the time budget runs out. */
static int bench_latency(sd_bus *bus, size_t calls, const Pids *pids, Series series[static _CALLEE_MAX]) {
        uint64_t start = now_nsec();
        int r;

        for (Callee t = 0; t < _CALLEE_MAX; t++) {
                series[t] = (Series) { .nsec = calloc(calls, sizeof(uint64_t)) };
                if (!series[t].nsec)
                        return -ENOMEM;
                for (size_t i = 0; i < WARMUP_CALLS; i++) {
                        r = call_once(bus, t, NULL, NULL);
                        if (r < 0)
                                return r;
                }
        }
        while (series[0].n < calls && now_nsec() - start < LATENCY_BUDGET_NSEC)
                for (Callee t = 0; t < _CALLEE_MAX; t++) {
                        r = latency_block(bus, t, calls, pids, &series[t]);
                        if (r < 0)
                                return r;
                }
        for (Callee t = 0; t < _CALLEE_MAX; t++)
                series_finish(&series[t]);
        return 0;
}

static void series_done(Series *s) {
        for (Callee t = 0; t < _CALLEE_MAX; t++)
                free(s[t].nsec);
}

/* ---- throughput ---------------------------------------------------------------------------------------- */

/* Where the clients wait, connected, for the start; or are told to give up. */
typedef struct Gate {
        pthread_mutex_t lock;
        pthread_cond_t cond;
        unsigned ready;
        int state;                      /* 0 waiting, 1 go, -1 give up */
} Gate;

/* A client: reports ready and waits. Returns the state it was released with. */
static int gate_pass(Gate *g) {
        int state;

        pthread_mutex_lock(&g->lock);
        g->ready++;
        pthread_cond_broadcast(&g->cond);
        while (g->state == 0)
                pthread_cond_wait(&g->cond, &g->lock);
        state = g->state;
        pthread_mutex_unlock(&g->lock);
        return state;
}

/* The main thread: waits for n clients to be ready. */
static void gate_wait(Gate *g, unsigned n) {
        pthread_mutex_lock(&g->lock);
        while (g->ready < n)
                pthread_cond_wait(&g->cond, &g->lock);
        pthread_mutex_unlock(&g->lock);
}

/* The main thread: releases the clients, to run (1) or to give up (-1). */
static void gate_open(Gate *g, int state) {
        pthread_mutex_lock(&g->lock);
        g->state = state;
        pthread_cond_broadcast(&g->cond);
        pthread_mutex_unlock(&g->lock);
}

/* One client thread: a connection of its own (sd-bus connections are not thread-safe), Resolve in a loop. */
typedef struct Worker {
        const char *address;
        Callee callee;
        uint64_t duration_nsec;
        Gate *gate;
        pthread_t thread;
        uint64_t calls, elapsed_nsec;
        int error;
} Worker;

static void *worker_run(void *userdata) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        Worker *w = userdata;
        uint64_t start, now;

        w->error = bus_connect(w->address, "bench-client", &bus);
        /* connected or not, everyone passes the gate: the others must not wait for a client that failed */
        if (gate_pass(w->gate) < 0 || w->error < 0)
                return NULL;
        start = now = now_nsec();
        while (now - start < w->duration_nsec) {
                w->error = call_once(bus, w->callee, NULL, NULL);
                if (w->error < 0)
                        return NULL;
                w->calls++;
                now = now_nsec();
        }
        w->elapsed_nsec = now - start;
        return NULL;
}

/* What one throughput measurement found. */
typedef struct Rate {
        double per_sec;                 /* calls/s summed over the clients */
        uint64_t calls;
        CpuMark cpu;                    /* spent by the service and the bus meanwhile */
} Rate;

/* n concurrent clients calling one callee. Returns 0 or the first client's error. */
static int throughput_once(const char *address, Callee t, unsigned n, uint64_t duration_nsec,
                           const Pids *pids, Rate *ret) {
        Gate gate = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };
        Worker workers[CLIENTS_MAX] = {};
        unsigned started = 0;
        Rate rate = {};
        CpuMark start;
        int r = 0;

        for (; started < n; started++) {
                workers[started] = (Worker) { .address = address, .callee = t, .duration_nsec = duration_nsec,
                                              .gate = &gate };
                r = -pthread_create(&workers[started].thread, NULL, worker_run, &workers[started]);
                if (r < 0)
                        break;
        }
        /* connections are set up before the clocks start */
        if (r >= 0)
                gate_wait(&gate, n);
        start = cpu_mark(pids, t);
        gate_open(&gate, r < 0 ? -1 : 1);
        for (unsigned i = 0; i < started; i++) {
                (void) pthread_join(workers[i].thread, NULL);
                if (r >= 0 && workers[i].error < 0)
                        r = workers[i].error;
                if (workers[i].elapsed_nsec > 0)
                        rate.per_sec += (double) workers[i].calls * 1e9 / (double) workers[i].elapsed_nsec;
                rate.calls += workers[i].calls;
        }
        if (r < 0)
                return r;
        cpu_add_since(&rate.cpu, &start, pids, t);
        *ret = rate;
        return 0;
}

/* Daemon and stand-in in the order A B B A, each for half the duration, so that a drift in what else the
 * machine does cancels out. */
static int bench_throughput(const char *address, unsigned n, uint64_t duration_nsec, const Pids *pids,
                            Rate ret[static 2]) {
        static const Callee order[] = { CALLEE_DAEMON, CALLEE_STAND_IN, CALLEE_STAND_IN, CALLEE_DAEMON };
        Rate sum[2] = {};
        int r;

        for (size_t i = 0; i < ELEMENTSOF(order); i++) {
                Rate rate;

                r = throughput_once(address, order[i], n, duration_nsec / 2, pids, &rate);
                if (r < 0)
                        return r;
                sum[order[i]].per_sec += rate.per_sec / 2;
                sum[order[i]].calls += rate.calls;
                sum[order[i]].cpu.service += rate.cpu.service;
                sum[order[i]].cpu.bus += rate.cpu.bus;
        }
        ret[0] = sum[0];
        ret[1] = sum[1];
        return 0;
}

/* ---- one size ------------------------------------------------------------------------------------------ */

typedef struct Result {
        unsigned n;
        Series series[_CALLEE_MAX];
        Rate rate[2][2];                /* [1 or 4 clients][daemon, stand-in] */
} Result;

static const unsigned clients[2] = { 1, CLIENTS_MAX };

static int daemon_start(const char *binary, const char *root, const char *log_path, Process *ret) {
        _cleanup_(closep) int log_fd = -1;
        char *argv[] = { (char *) binary, (char *) "--system", (char *) "--root", (char *) root, NULL };

        log_fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (log_fd < 0)
                return -errno;
        return process_fork("fwregistryd", argv, log_fd, -1, ret);
}

/* Waits until a process we started has taken its bus name; shows its log when it has not. */
static int service_wait(sd_bus *bus, const char *name, Process *p, const char *log_path) {
        uint64_t start = now_nsec();
        int r;

        r = name_wait(bus, name, p, START_TIMEOUT_NSEC);
        if (r < 0) {
                fprintf(stderr, "%s (pid %d) did not take the name '%s': %s\n", p->what, (int) p->pid, name,
                        r == -ESRCH ? "it exited" : strerror(-r));
                if (log_path)
                        print_log(log_path);
                return r;
        }
        printf("%-10s pid %d owns %s after %.1f ms\n", p->what, (int) p->pid, name,
               (double) (now_nsec() - start) / 1e6);
        return 0;
}

/* The daemon's first answer: which descriptor, how many it serves, the body to store. */
static int daemon_reply(sd_bus *bus, sd_bus_message **ret_reply, Body *ret_body) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(freep) char *expected = NULL;
        uint32_t count = 0, invalid = 0;
        const char *path;
        int r;

        r = call_once(bus, CALLEE_DAEMON, NULL, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                return r;
        r = sd_bus_path_encode(BUS_FIRMWARE_PREFIX, EXPECTED, &expected);
        if (r < 0)
                return r;
        if (!streq(path, expected)) {
                fprintf(stderr, "Resolve answered '%s', expected '%s'\n", path, expected);
                return -EBADMSG;
        }
        r = sd_bus_get_property_trivial(bus, BUS_NAME, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE, "Count",
                                        &error, 'u', &count);
        if (r >= 0)
                r = sd_bus_get_property_trivial(bus, BUS_NAME, BUS_MANAGER_PATH, BUS_MANAGER_INTERFACE,
                                                "InvalidCount", &error, 'u', &invalid);
        if (r >= 0)
                r = body_from_message(reply, ret_body);
        if (r < 0)
                return r;
        printf("catalogue: Count %u, InvalidCount %u; Resolve -> %s\n", count, invalid, path);
        printf("reply:     signature '%s', %zu body elements, body %zu bytes marshalled\n",
               sd_bus_message_get_signature(reply, true), ret_body->n_ops, ret_body->size);
        *ret_reply = TAKE_PTR(reply);
        return 0;
}

/* The stand-in's answer must read exactly like the daemon's. */
static int stand_in_check(sd_bus *bus, sd_bus_message *daemon_reply) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(freep) char *a = NULL, *b = NULL;
        int r;

        r = call_once(bus, CALLEE_STAND_IN, NULL, &reply);
        if (r < 0)
                return r;
        a = body_dump(daemon_reply);
        b = body_dump(reply);
        if (!a || !b)
                return -ENOMEM;
        if (!streq(a, b) || !streq(sd_bus_message_get_signature(daemon_reply, true),
                                   sd_bus_message_get_signature(reply, true))) {
                fprintf(stderr, "The stand-in's reply differs from the daemon's.\n");
                return -EBADMSG;
        }
        printf("stand-in:  answers with the same signature and body (sd_bus_message_dump() compared)\n");
        return 0;
}

/* Microseconds of CPU time per call. */
static double per_call_us(uint64_t nsec, uint64_t calls) {
        return calls > 0 ? (double) nsec / (double) calls / 1e3 : 0;
}

static void print_latency(const Series *s) {
        printf("latency:   %zu round trips each after %u warm-up calls, in turns of %u; microseconds;\n"
               "           CPU time per call: the service's main thread, dbus-daemon (/proc/PID/schedstat)\n",
               s[0].n, WARMUP_CALLS, BLOCK_CALLS);
        printf("           %-20s %9s %9s %9s %12s %12s\n", "", "median", "p99", "mean", "service CPU",
               "bus CPU");
        for (Callee t = 0; t < _CALLEE_MAX; t++)
                printf("           %-20s %9.1f %9.1f %9.1f %12.1f %12.1f\n", callee_names[t], s[t].median_us,
                       s[t].p99_us, s[t].mean_us, per_call_us(s[t].cpu.service, s[t].n),
                       per_call_us(s[t].cpu.bus, s[t].n));
        /* what Resolve costs a service beyond answering at all, in the same process and run */
        printf("           Resolve - Ping, service CPU: daemon %.1f us, stand-in %.1f us\n",
               per_call_us(s[CALLEE_DAEMON].cpu.service, s[CALLEE_DAEMON].n) -
               per_call_us(s[CALLEE_PING].cpu.service, s[CALLEE_PING].n),
               per_call_us(s[CALLEE_STAND_IN].cpu.service, s[CALLEE_STAND_IN].n) -
               per_call_us(s[CALLEE_STAND_IN_PING].cpu.service, s[CALLEE_STAND_IN_PING].n));
        printf("           daemon/stand-in: median %.3f, p99 %.3f; stand-in/Ping: median %.3f\n",
               s[CALLEE_DAEMON].median_us / s[CALLEE_STAND_IN].median_us,
               s[CALLEE_DAEMON].p99_us / s[CALLEE_STAND_IN].p99_us,
               s[CALLEE_STAND_IN].median_us / s[CALLEE_PING].median_us);
}

static void print_throughput(unsigned n, const Rate rate[static 2]) {
        printf("           %u client%s: daemon %7.0f/s, stand-in %7.0f/s, ratio %.3f; CPU us/call service "
               "%.1f vs %.1f, bus %.1f vs %.1f\n", n, n > 1 ? "s" : " ", rate[0].per_sec, rate[1].per_sec,
               rate[0].per_sec / rate[1].per_sec, per_call_us(rate[0].cpu.service, rate[0].calls),
               per_call_us(rate[1].cpu.service, rate[1].calls), per_call_us(rate[0].cpu.bus, rate[0].calls),
               per_call_us(rate[1].cpu.bus, rate[1].calls));
}

static int bench_service(const Options *o, sd_bus *bus, const char *address, const Pids *pids, Result *res) {
        int r;

        r = bench_latency(bus, o->calls, pids, res->series);
        if (r < 0)
                return r;
        print_latency(res->series);
        printf("throughput: Resolve, %.1f s per service (halves in the order daemon, stand-in, stand-in, "
               "daemon), a connection per client\n", (double) o->duration_nsec / 1e9);
        for (size_t i = 0; i < ELEMENTSOF(clients); i++) {
                r = bench_throughput(address, clients[i], o->duration_nsec, pids, res->rate[i]);
                if (r < 0)
                        return r;
                print_throughput(clients[i], res->rate[i]);
        }
        return 0;
}

typedef struct Context {
        char *dir;                      /* everything temporary: bus config and socket, logs, trees */
        char *address;
        sd_bus *bus;                    /* the measuring client */
        pid_t bus_pid;
} Context;

static int bench_size(const Options *o, Context *ctx, unsigned n, Result *res) {
        _cleanup_(process_stopp) Process service = { .pidfd = -1 }, stand_in = { .pidfd = -1 };
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(freep) char *log_path = strdup_printf("%s/fwregistryd-%u.log", ctx->dir, n);
        _cleanup_(body_done) Body body = {};
        _cleanup_(tree_done) Tree t = {};
        int r;

        printf("\n== N = %u\n", n);
        res->n = n;
        if (!log_path)
                return -ENOMEM;
        /* DESIGN section 8: a quarter of the catalogue (2,500 of 10,000) ahead of the answer */
        r = tree_create(ctx->dir, "tree", n, n / 4, &t);
        if (r < 0)
                return r;
        printf("tree:      %s: %u files, %u images; %u x86_64/uefi decoys ahead of the answer, failing only "
               "on the machine glob\n", t.root, t.n_share + t.n_etc, t.n_images, t.n_decoys);
        r = daemon_start(o->daemon, t.root, log_path, &service);
        if (r >= 0)
                r = service_wait(ctx->bus, BUS_NAME, &service, log_path);
        if (r >= 0)
                r = daemon_reply(ctx->bus, &reply, &body);
        if (r >= 0)
                r = stand_in_start(ctx->address, &body, o->copy, &stand_in);
        if (r >= 0)
                r = service_wait(ctx->bus, STAND_IN_NAME, &stand_in, NULL);
        if (r >= 0)
                r = stand_in_check(ctx->bus, reply);
        if (r >= 0) {
                Pids pids = { .bus = ctx->bus_pid,
                              .service = { service.pid, stand_in.pid, service.pid, stand_in.pid } };
                r = bench_service(o, ctx->bus, ctx->address, &pids, res);
        }
        if (r >= 0)
                r = process_stop(&stand_in);
        if (r >= 0) {
                r = process_stop(&service);
                if (r < 0) {
                        fprintf(stderr, "fwregistryd did not exit cleanly.\n");
                        print_log(log_path);
                }
        }
        /* on failure too, before their tree goes */
        (void) process_stop(&stand_in);
        (void) process_stop(&service);
        if (tree_remove(&t) < 0)
                fprintf(stderr, "Failed to remove '%s': %m, ignoring.\n", t.root);
        return r;
}

/* ---- summary and command line -------------------------------------------------------------------------- */

static const char *verdict(bool ok) {
        return ok ? "PASS" : "MISS";
}

static void print_summary(const Result *res, size_t n) {
        printf("\n%7s %10s %10s %7s %7s %8s %7s %9s %9s %9s %9s %7s\n", "N", "daemon us", "s-in us", "ratio",
               "p99 r.", "ping us", "s-in/p.", "d CPU us", "s CPU us", "4cl d/s", "4cl s/s", "ratio");
        for (size_t i = 0; i < n; i++) {
                const Series *s = res[i].series;
                const Rate *r = res[i].rate[1];

                printf("%7u %10.1f %10.1f %7.3f %7.3f %8.1f %7.3f %9.1f %9.1f %9.0f %9.0f %7.3f\n", res[i].n,
                       s[CALLEE_DAEMON].median_us, s[CALLEE_STAND_IN].median_us,
                       s[CALLEE_DAEMON].median_us / s[CALLEE_STAND_IN].median_us,
                       s[CALLEE_DAEMON].p99_us / s[CALLEE_STAND_IN].p99_us, s[CALLEE_PING].median_us,
                       s[CALLEE_STAND_IN].median_us / s[CALLEE_PING].median_us,
                       per_call_us(s[CALLEE_DAEMON].cpu.service, s[CALLEE_DAEMON].n),
                       per_call_us(s[CALLEE_STAND_IN].cpu.service, s[CALLEE_STAND_IN].n), r[0].per_sec,
                       r[1].per_sec, r[0].per_sec / r[1].per_sec);
        }
        printf("(d/s CPU us: CPU time the daemon/stand-in spent per Resolve in the latency series)\n");
        printf("\nTargets (DESIGN section 8):\n");
        for (size_t i = 0; i < n; i++) {
                const Series *s = res[i].series;
                double ratio = s[CALLEE_DAEMON].median_us / s[CALLEE_STAND_IN].median_us;

                printf("  %s  N = %u: Resolve median %.1f us = %.3fx the stand-in's %.1f us (<= 1.05x)\n",
                       verdict(ratio <= 1.05), res[i].n, s[CALLEE_DAEMON].median_us, ratio,
                       s[CALLEE_STAND_IN].median_us);
        }
        for (size_t i = 0; i < n; i++) {
                const Rate *r = res[i].rate[1];
                double ratio = r[0].per_sec / r[1].per_sec;

                printf("  %s  N = %u: %u-client throughput %.0f/s = %.3fx the stand-in's %.0f/s (>= 0.95x)\n",
                       verdict(ratio >= 0.95), res[i].n, CLIENTS_MAX, r[0].per_sec, ratio, r[1].per_sec);
        }
}

static int parse_number(const char *s, unsigned long min, unsigned long max, unsigned long *ret) {
        char *end;
        unsigned long v;

        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno != 0 || end == s || *end != 0 || v < min || v > max)
                return -EINVAL;
        *ret = v;
        return 0;
}

static void help(void) {
        printf("%s [OPTIONS...] [FWREGISTRYD]\n\n"
               "Resolve over a private bus: fwregistryd against a stand-in replying with a stored copy.\n\n"
               "  -h --help            Show this help\n"
               "  -s --sizes=N,...     Catalogue sizes (default 10,10000)\n"
               "  -n --calls=N         Round trips per latency series (default %u)\n"
               "  -d --duration=MS     Throughput measurement per service and client count (default %u)\n"
               "     --stand-in-copy   The stand-in sd_bus_message_copy()s the stored reply instead of\n"
               "                       appending its pre-read elements\n"
               "     --cpu=N           Run the bus, the services and the clients on CPU N only\n\n"
               "FWREGISTRYD defaults to $FWREGISTRY_BUILD_DIR/daemon/fwregistryd, else to the build\n"
               "directory this program is in.\n", program_invocation_short_name, CALLS_DEFAULT,
               DURATION_DEFAULT_MS);
}

static int parse_argv(int argc, char *argv[], Options *o) {
        enum { ARG_STAND_IN_COPY = 0x100, ARG_CPU };
        static const struct option options[] = {
                { "help",          no_argument,       NULL, 'h'               },
                { "sizes",         required_argument, NULL, 's'               },
                { "calls",         required_argument, NULL, 'n'               },
                { "duration",      required_argument, NULL, 'd'               },
                { "stand-in-copy", no_argument,       NULL, ARG_STAND_IN_COPY },
                { "cpu",           required_argument, NULL, ARG_CPU           },
                {}
        };
        unsigned long v;
        int c, r;

        while ((c = getopt_long(argc, argv, "hs:n:d:", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case 's':
                        r = tree_parse_sizes(optarg, o->sizes, ELEMENTSOF(o->sizes));
                        if (r < 0) {
                                fprintf(stderr, "Invalid --sizes '%s': up to %d sizes from %u to %u.\n",
                                        optarg, N_SIZES_MAX, TREE_SIZE_MIN, TREE_SIZE_MAX);
                                return -EINVAL;
                        }
                        o->n_sizes = (size_t) r;
                        break;
                case 'n':
                        if (parse_number(optarg, 1, CALLS_MAX, &v) < 0) {
                                fprintf(stderr, "Invalid --calls '%s' (1 to %u).\n", optarg, CALLS_MAX);
                                return -EINVAL;
                        }
                        o->calls = v;
                        break;
                case 'd':
                        if (parse_number(optarg, 10, DURATION_MAX_MS, &v) < 0) {
                                fprintf(stderr, "Invalid --duration '%s' (10 to %u ms).\n", optarg,
                                        DURATION_MAX_MS);
                                return -EINVAL;
                        }
                        o->duration_nsec = v * NSEC_PER_MSEC;
                        break;
                case ARG_STAND_IN_COPY:
                        o->copy = true;
                        break;
                case ARG_CPU:
                        if (parse_number(optarg, 0, CPU_SETSIZE - 1, &v) < 0) {
                                fprintf(stderr, "Invalid --cpu '%s'.\n", optarg);
                                return -EINVAL;
                        }
                        o->cpu = (int) v;
                        break;
                default:
                        return -EINVAL;
                }
        if (optind + 1 < argc) {
                fprintf(stderr, "Unexpected argument '%s'.\n", argv[optind + 1]);
                return -EINVAL;
        }
        o->daemon = argv[optind];
        return 1;
}

/* The daemon named on the command line, or the one of the build directory this program runs from. */
static char *daemon_path(const char *arg) {
        _cleanup_(freep) char *self = NULL, *path = NULL;
        const char *build_dir = getenv("FWREGISTRY_BUILD_DIR");
        char *slash, *resolved;

        if (arg)
                return strdup(arg);
        if (!isempty(build_dir))
                return path_join(build_dir, "daemon/fwregistryd");
        self = realpath("/proc/self/exe", NULL);
        if (!self || !(slash = strrchr(self, '/')))
                return NULL;
        *slash = 0;
        /* <build>/tests/bench/bench-bus */
        path = path_join(self, "../../daemon/fwregistryd");
        if (!path)
                return NULL;
        resolved = realpath(path, NULL);
        return resolved ?: TAKE_PTR(path);
}

static void context_done(Context *ctx) {
        sd_bus_flush_close_unref(ctx->bus);
        free(ctx->address);
        if (ctx->dir && tree_remove_path(ctx->dir) < 0)
                fprintf(stderr, "Failed to remove '%s': %m, ignoring.\n", ctx->dir);
        free(ctx->dir);
}

static int context_setup(Context *ctx, Process *bus_daemon) {
        const char *tmp = getenv("TMPDIR");
        int r;

        ctx->dir = path_join(isempty(tmp) ? "/tmp" : tmp, "bench-bus.XXXXXX");
        if (!ctx->dir)
                return -ENOMEM;
        if (!mkdtemp(ctx->dir)) {
                r = -errno;
                free(ctx->dir);
                ctx->dir = NULL;
                return r;
        }
        r = bus_daemon_start(ctx->dir, bus_daemon, &ctx->address);
        if (r < 0)
                return r;
        /* fwregistryd --system and the stand-in find the private bus there */
        if (setenv("DBUS_SYSTEM_BUS_ADDRESS", ctx->address, 1) < 0)
                return -errno;
        r = bus_connect(ctx->address, "bench-bus", &ctx->bus);
        if (r < 0)
                return r;
        ctx->bus_pid = bus_daemon->pid;
        printf("bus:       dbus-daemon pid %d at %s\n", (int) bus_daemon->pid, ctx->address);
        return 0;
}

static int run(const Options *o, Result *results) {
        _cleanup_(process_stopp) Process bus_daemon = { .pidfd = -1 };
        _cleanup_(context_done) Context ctx = {};
        int r;

        r = context_setup(&ctx, &bus_daemon);
        if (r < 0) {
                fprintf(stderr, "Failed to start the private bus: %s\n", strerror(-r));
                return r;
        }
        for (size_t i = 0; i < o->n_sizes; i++) {
                r = bench_size(o, &ctx, o->sizes[i], &results[i]);
                if (r < 0) {
                        fprintf(stderr, "N = %u failed: %s\n", o->sizes[i], strerror(-r));
                        return r;
                }
        }
        /* the client goes first, so that the bus has nobody left to talk to */
        ctx.bus = sd_bus_flush_close_unref(ctx.bus);
        return process_stop(&bus_daemon);
}

int main(int argc, char *argv[]) {
        _cleanup_(freep) char *binary = NULL;
        Options o = { .sizes = { 10, 10000 }, .n_sizes = 2, .calls = CALLS_DEFAULT,
                      .duration_nsec = DURATION_DEFAULT_MS * NSEC_PER_MSEC, .cpu = -1 };
        Result results[N_SIZES_MAX] = {};
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        int r;

        /* progress shows as it happens, also in meson's log */
        setvbuf(stdout, NULL, _IOLBF, 0);
        r = parse_argv(argc, argv, &o);
        if (r <= 0)
                return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
        binary = daemon_path(o.daemon);
        if (!binary || access(binary, X_OK) < 0) {
                fprintf(stderr, "No fwregistryd at '%s': %m\n", strempty(binary));
                return EXIT_FAILURE;
        }
        o.daemon = binary;

        printf("daemon:    %s\n", binary);
        printf("machine:   %ld CPUs online; dbus-daemon, the services and the clients share them%s\n", cpus,
               cpus <= 2 ? " (with 4 clients the CPUs, not the services, set the pace)" : "");
        if (o.cpu >= 0) {
                cpu_set_t set;

                /* inherited by every child and thread: a round trip becomes the sum of its CPU work */
                CPU_ZERO(&set);
                CPU_SET(o.cpu, &set);
                if (sched_setaffinity(0, sizeof(set), &set) < 0) {
                        fprintf(stderr, "Failed to pin to CPU %d: %m\n", o.cpu);
                        return EXIT_FAILURE;
                }
                printf("pinned:    everything on CPU %d (--cpu): no cross-CPU wake-ups\n", o.cpu);
        }
        printf("stand-in:  %s, same object path and interface, name %s\n",
               o.copy ? "sd_bus_message_copy() of the stored reply" : "appends the stored reply's elements",
               STAND_IN_NAME);
        r = run(&o, results);
        if (r >= 0)
                print_summary(results, o.n_sizes);
        for (size_t i = 0; i < o.n_sizes; i++)
                series_done(results[i].series);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
