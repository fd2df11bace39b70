/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "qemu.h"

/* QEMU names its system emulators after the architecture; distributions that ship one emulator for the
 * host only (RHEL's qemu-kvm) are covered by the native name. */
static const char *const binary_names[_ARCH_MAX] = {
        [ARCH_X86_64] = "qemu-system-x86_64",
        [ARCH_I386] = "qemu-system-i386",
        [ARCH_AARCH64] = "qemu-system-aarch64",
        [ARCH_ARM] = "qemu-system-arm",
        [ARCH_RISCV64] = "qemu-system-riscv64",
        [ARCH_LOONGARCH64] = "qemu-system-loongarch64",
};

#if defined(__x86_64__)
#define NATIVE_ARCH ARCH_X86_64
#elif defined(__aarch64__)
#define NATIVE_ARCH ARCH_AARCH64
#else
#define NATIVE_ARCH _ARCH_INVALID
#endif

bool qemu_binary_name(const char *name) {
        for (int a = 0; a < _ARCH_MAX; a++)
                if (binary_names[a] && streq(binary_names[a], name))
                        return true;
        return streq(name, "qemu-kvm");
}

void machine_aliases_free(MachineAlias *a, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(a[i].alias);
                free(a[i].machine);
        }
        free(a);
}

/* Machine type names are short words of letters, digits, '.', '_' and '-' ("pc-q35-rhel9.6.0"). */
bool qemu_machine_name_valid(const char *s, size_t n) {
        if (n == 0 || n > 64)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
                      s[i] == '.' || s[i] == '_' || s[i] == '-'))
                        return false;
        return true;
}

static bool text_plain(const char *text, size_t size) {
        for (size_t i = 0; i < size; i++)
                if ((unsigned char) text[i] < 0x20 && text[i] != '\n' && text[i] != '\t')
                        return false;
        return utf8_is_valid_n(text, size);
}

/* One line "NAME   description (alias of TARGET)": returns 1 and the pair, 0 when the line is no alias. */
static int parse_alias_line(const char *line, size_t n, MachineAlias *ret) {
        static const char marker[] = "(alias of ";
        size_t name_len = 0;
        const char *p, *target;

        while (name_len < n && line[name_len] != ' ' && line[name_len] != '\t')
                name_len++;
        if (!qemu_machine_name_valid(line, name_len))
                return -EBADMSG;
        if (n < sizeof(marker) + 1 || line[n - 1] != ')')
                return 0;
        p = memmem(line + name_len, n - name_len, marker, sizeof(marker) - 1);
        if (!p)
                return 0;
        target = p + sizeof(marker) - 1;
        if (target + 1 > line + n - 1 || !qemu_machine_name_valid(target, (size_t) (line + n - 1 - target)))
                return -EBADMSG;
        ret->alias = strndup(line, name_len);
        ret->machine = strndup(target, (size_t) (line + n - 1 - target));
        if (!ret->alias || !ret->machine) {
                free(ret->alias);
                free(ret->machine);
                return -ENOMEM;
        }
        return 1;
}

int qemu_parse_machine_help(const char *text, size_t size, MachineAlias **ret, size_t *ret_n) {
        static const char header[] = "Supported machines are:\n";
        MachineAlias *aliases = NULL;
        size_t n_aliases = 0;
        const char *p, *end = text + size;
        int r = 0;

        if (size < sizeof(header) - 1 || memcmp(text, header, sizeof(header) - 1) != 0 || !text_plain(text, size))
                return -EBADMSG;
        for (p = text + sizeof(header) - 1; p < end && r >= 0;) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                size_t n = (size_t) ((nl ?: end) - p);
                MachineAlias a = {};

                r = n == 0 ? 0 : parse_alias_line(p, n, &a);
                p += n + 1;
                if (r <= 0)
                        continue;
                if (n_aliases >= QEMU_ALIASES_MAX) {
                        free(a.alias);
                        free(a.machine);
                        r = -E2BIG;
                        break;
                }
                MachineAlias *grown = realloc(aliases, sizeof(MachineAlias) * (n_aliases + 1));
                if (!grown) {
                        free(a.alias);
                        free(a.machine);
                        r = -ENOMEM;
                        break;
                }
                aliases = grown;
                aliases[n_aliases++] = a;
        }
        if (r < 0) {
                machine_aliases_free(aliases, n_aliases);
                return r;
        }
        *ret = aliases;
        *ret_n = n_aliases;
        return 0;
}

static bool version_char(char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
               (c != 0 && strchr(".-+~_", c));      /* strchr() finds a NUL */
}

bool qemu_version_valid(const char *s) {
        size_t n = 0;

        while (s[n] && n < 64 && version_char(s[n]))
                n++;
        return n > 0 && s[n] == 0;
}

int qemu_parse_version(const char *text, size_t size, char **ret) {
        static const char prefix[] = "QEMU emulator version ";
        size_t n = 0;
        char *v;

        if (size < sizeof(prefix) || memcmp(text, prefix, sizeof(prefix) - 1) != 0)
                return -EBADMSG;
        text += sizeof(prefix) - 1;
        size -= sizeof(prefix) - 1;
        while (n < size && n < 64 && version_char(text[n]))
                n++;
        if (n == 0 || (n < size && text[n] != ' ' && text[n] != '\n'))
                return -EBADMSG;
        v = strndup(text, n);
        if (!v)
                return -ENOMEM;
        *ret = v;
        return 0;
}

/* The binary for an architecture: the first directory that has it, executable, wins. */
static char *find_binary(char * const *dirs, Architecture a, FileId *ret_id) {
        STRV_FOREACH(d, dirs)
                for (int k = 0; k < 2; k++) {
                        const char *name = k == 0 ? binary_names[a] : a == NATIVE_ARCH ? "qemu-kvm" : NULL;
                        _cleanup_(freep) char *p = name ? path_join(*d, name) : NULL;
                        struct stat st;

                        if (p && stat(p, &st) >= 0 && S_ISREG(st.st_mode) && access(p, X_OK) >= 0) {
                                *ret_id = file_id_from_stat(&st);
                                return TAKE_PTR(p);
                        }
                }
        return NULL;
}

/* One run of a binary: its pid (a process group of its own), its output and how it ended. */
typedef struct Run {
        pid_t pid;
        int out;                /* read end of its stdout, -1 at EOF */
        int pidfd;              /* readable once it exits; -1 when done or unsupported */
        char *buf;
        size_t size;
        bool too_much, timed_out, reaped;
        int status;
} Run;

static void run_done(Run *r) {
        if (r->pid > 0 && !r->reaped) {
                (void) kill(-r->pid, SIGKILL);
                (void) kill(r->pid, SIGKILL);
                (void) waitpid(r->pid, &r->status, 0);
        }
        if (r->out >= 0)
                close(r->out);
        if (r->pidfd >= 0)
                close(r->pidfd);
        free(r->buf);
        *r = (Run) { .out = -1, .pidfd = -1 };
}

/* Starts binary with args: nothing inherited but a pipe for stdout, /dev/null elsewhere, a minimal
 * environment, no new privileges, its own process group, and (where the kernel lets us) no network.
 * Between fork and exec only async-signal-safe calls: this may run in a thread. */
static int run_start(const char *binary, const char *const *args, Run *ret) {
        static char *const envp[] = { (char *) "PATH=/usr/bin:/bin", (char *) "LC_ALL=C", NULL };
        _cleanup_(closep) int null = -1;
        int pipefd[2];
        pid_t pid;

        null = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null < 0)
                return -errno;
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return -errno;
        pid = fork();
        if (pid < 0) {
                int e = errno;
                close(pipefd[0]);
                close(pipefd[1]);
                return -e;
        }
        if (pid == 0) {
                struct rlimit cpu = { 10, 10 }, none = { 0, 0 };

                (void) setpgid(0, 0);
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                (void) prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
                (void) unshare(CLONE_NEWNET);
                (void) setrlimit(RLIMIT_CPU, &cpu);
                (void) setrlimit(RLIMIT_CORE, &none);
                (void) setrlimit(RLIMIT_FSIZE, &none);
                if (dup2(null, 0) < 0 || dup2(pipefd[1], 1) < 0 || dup2(null, 2) < 0)
                        _exit(127);
                (void) syscall(SYS_close_range, 3U, ~0U, 0U);
                execve(binary, (char *const *) args, envp);
                _exit(127);
        }
        close(pipefd[1]);
        (void) setpgid(pid, pid);       /* both sides: the group exists before either goes on */
        (void) fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
        *ret = (Run) { .pid = pid, .out = pipefd[0], .pidfd = (int) syscall(SYS_pidfd_open, pid, 0) };
        return 0;
}

static void run_read(Run *r) {
        char chunk[16384];
        ssize_t n = read(r->out, chunk, sizeof(chunk));

        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        if (n > 0 && r->size + (size_t) n <= QEMU_OUTPUT_MAX) {
                char *grown = realloc(r->buf, r->size + (size_t) n + 1);
                if (grown) {
                        memcpy(grown + r->size, chunk, (size_t) n);
                        r->buf = grown;
                        r->size += (size_t) n;
                        r->buf[r->size] = 0;
                        return;
                }
        }
        if (n > 0)      /* over the cap (or out of memory): stop listening, and stop it */
                r->too_much = true;
        close(r->out);
        r->out = -1;
}

static void run_reap(Run *r, bool force) {
        if (r->reaped || r->pid <= 0)
                return;
        if (force) {
                (void) kill(-r->pid, SIGKILL);
                (void) kill(r->pid, SIGKILL);
        }
        if (waitpid(r->pid, &r->status, force ? 0 : WNOHANG) == r->pid)
                r->reaped = true;
}

static uint64_t monotonic_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

/* Collects the output of every run until all have ended or the deadline passed; what is left is killed. */
static void runs_wait(Run *runs, size_t n, uint64_t timeout_usec) {
        uint64_t deadline = monotonic_usec() + timeout_usec;
        struct pollfd p[2 * _ARCH_MAX + 1];

        for (;;) {
                uint64_t now = monotonic_usec(), wait_usec = deadline > now ? deadline - now : 0;
                size_t k = 0, blind = 0;

                for (size_t i = 0; i < n && k < ELEMENTSOF(p); i++) {
                        if (runs[i].too_much)
                                run_reap(&runs[i], true);
                        if (runs[i].out >= 0)
                                p[k++] = (struct pollfd) { .fd = runs[i].out, .events = POLLIN };
                        else if (runs[i].pid > 0 && !runs[i].reaped) {
                                run_reap(&runs[i], false);
                                if (!runs[i].reaped && runs[i].pidfd >= 0)
                                        p[k++] = (struct pollfd) { .fd = runs[i].pidfd, .events = POLLIN };
                                else if (!runs[i].reaped)
                                        blind++;        /* no pidfd: look again soon */
                        }
                }
                if ((k == 0 && blind == 0) || wait_usec == 0)
                        break;
                if (blind > 0 && wait_usec > 10000)
                        wait_usec = 10000;
                if (poll(p, k, (int) ((wait_usec + 999) / 1000)) < 0 && errno != EINTR)
                        break;
                for (size_t i = 0; i < n; i++)
                        if (runs[i].out >= 0)
                                run_read(&runs[i]);
        }
        for (size_t i = 0; i < n; i++)
                if (runs[i].pid > 0 && (runs[i].out >= 0 || !runs[i].reaped)) {
                        runs[i].timed_out = !runs[i].too_much;
                        run_reap(&runs[i], true);
                }
}

/* Why a run's output is not used, or NULL when it is. */
static char *run_problem(const Run *r, const char *what) {
        if (r->too_much)
                return strdup_printf("'%s' printed more than %u bytes", what, QEMU_OUTPUT_MAX);
        if (r->timed_out)
                return strdup_printf("'%s' did not finish in time", what);
        if (WIFSIGNALED(r->status))
                return strdup_printf("'%s' was killed by signal %s", what, strsignal(WTERMSIG(r->status)));
        if (!WIFEXITED(r->status) || WEXITSTATUS(r->status) != 0)
                return strdup_printf("'%s' exited with status %d", what, WEXITSTATUS(r->status));
        return NULL;
}

static void arch_done(QemuArch *qa) {
        free(qa->binary);
        free(qa->version);
        machine_aliases_free(qa->aliases, qa->n_aliases);
        free(qa->problem);
        *qa = (QemuArch) {};
}

/* Turns the two runs of one binary into its aliases and version, or a problem. */
static int arch_take(QemuArch *qa, const Run *version, const Run *help) {
        char *problem = run_problem(help, "-machine help") ?: run_problem(version, "-version");
        int r;

        if (!problem) {
                r = qemu_parse_machine_help(help->buf ?: "", help->size, &qa->aliases, &qa->n_aliases);
                if (r == -ENOMEM)
                        return r;
                if (r == -E2BIG)
                        problem = strdup_printf("'-machine help' listed more than %u aliases", QEMU_ALIASES_MAX);
                else if (r < 0)
                        problem = strdup("'-machine help' printed no machine list");
                else if (qemu_parse_version(version->buf ?: "", version->size, &qa->version) == -ENOMEM)
                        return -ENOMEM;
                if (r < 0 && !problem)
                        return -ENOMEM;
        }
        qa->problem = problem;
        return 0;
}

/* Copies the usable answer of known for qa's binary, if it has one for the same path and identity.
 * Returns 1 when it did, 0 when there is none, or -ENOMEM. */
static int arch_take_known(QemuArch *qa, const QemuArch *known) {
        if (!known || !known->binary || known->problem || !streq(known->binary, qa->binary) ||
            !file_id_equal(&known->id, &qa->id))
                return 0;
        if (known->version) {
                qa->version = strdup(known->version);
                if (!qa->version)
                        return -ENOMEM;
        }
        qa->aliases = calloc(known->n_aliases ?: 1, sizeof(MachineAlias));
        if (!qa->aliases)
                return -ENOMEM;
        for (size_t i = 0; i < known->n_aliases; i++) {
                qa->aliases[i].alias = strdup(known->aliases[i].alias);
                qa->aliases[i].machine = strdup(known->aliases[i].machine);
                qa->n_aliases++;
                if (!qa->aliases[i].alias || !qa->aliases[i].machine)
                        return -ENOMEM;
        }
        qa->settled = known->settled;
        return 1;
}

int qemu_machines_probe_known(char * const *dirs, uint64_t timeout_usec, const QemuMachines *known,
                              QemuMachines **ret) {
        _cleanup_(qemu_machines_freep) QemuMachines *q = calloc(1, sizeof(QemuMachines));
        Run runs[2 * _ARCH_MAX];
        bool ran[_ARCH_MAX] = {};
        int64_t since = file_id_clock_nsec();
        int r = 0;

        if (!q)
                return -ENOMEM;
        q->dirs = strv_copy(dirs);
        if (!q->dirs)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(runs); i++)
                runs[i] = (Run) { .out = -1, .pidfd = -1 };

        for (int a = 0; a < _ARCH_MAX && r >= 0; a++) {
                QemuArch *qa = &q->arch[a];
                const char *help[] = { NULL, "-machine", "help", "-nodefaults", "-no-user-config", "-display",
                                       "none", NULL };
                const char *version[] = { NULL, "-version", NULL };
                int k;

                qa->binary = find_binary(q->dirs, a, &qa->id);
                if (!qa->binary)
                        continue;
                r = arch_take_known(qa, known ? &known->arch[a] : NULL);
                if (r != 0) {
                        q->n_reused += r > 0;
                        continue;
                }
                ran[a] = true;
                help[0] = version[0] = qa->binary;
                k = run_start(qa->binary, version, &runs[2 * a]);
                if (k >= 0)
                        k = run_start(qa->binary, help, &runs[2 * a + 1]);
                if (k < 0)
                        qa->problem = strdup_printf("cannot run: %s", strerror(-k));
        }
        if (r >= 0)
                runs_wait(runs, ELEMENTSOF(runs), timeout_usec);
        for (int a = 0; a < _ARCH_MAX && r >= 0; a++)
                if (ran[a] && !q->arch[a].problem) {
                        r = arch_take(&q->arch[a], &runs[2 * a], &runs[2 * a + 1]);
                        q->arch[a].settled = file_id_settled(&q->arch[a].id, since);
                }
        for (size_t i = 0; i < ELEMENTSOF(runs); i++)
                run_done(&runs[i]);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(q);
        return 0;
}

int qemu_machines_probe(char * const *dirs, uint64_t timeout_usec, QemuMachines **ret) {
        return qemu_machines_probe_known(dirs, timeout_usec, NULL, ret);
}

bool qemu_machines_outdated(const QemuMachines *q) {
        for (int a = 0; a < _ARCH_MAX; a++) {
                FileId id = {};
                _cleanup_(freep) char *b = find_binary(q->dirs, a, &id);

                if (!streq_ptr(b, q->arch[a].binary) || (b && !file_id_equal(&id, &q->arch[a].id)))
                        return true;
        }
        return false;
}

bool qemu_machines_equal(const QemuMachines *a, const QemuMachines *b) {
        if (!a || !b)
                return a == b;
        for (int i = 0; i < _ARCH_MAX; i++) {
                const QemuArch *x = &a->arch[i], *y = &b->arch[i];

                if (!streq_ptr(x->binary, y->binary) || !streq_ptr(x->version, y->version) ||
                    !streq_ptr(x->problem, y->problem) || x->n_aliases != y->n_aliases)
                        return false;
                for (size_t j = 0; j < x->n_aliases; j++)
                        if (!streq(x->aliases[j].alias, y->aliases[j].alias) ||
                            !streq(x->aliases[j].machine, y->aliases[j].machine))
                                return false;
        }
        return true;
}

const QemuArch *qemu_machines_arch(const QemuMachines *q, Architecture a) {
        if (!q || a < 0 || a >= _ARCH_MAX || !q->arch[a].binary || q->arch[a].problem)
                return NULL;
        return &q->arch[a];
}

char *qemu_arch_source(const QemuArch *qa) {
        return strdup_printf("QEMU %s (%s)", qa->version ?: "of unknown version", qa->binary);
}

QemuMachines *qemu_machines_free(QemuMachines *q) {
        if (!q)
                return NULL;
        for (int a = 0; a < _ARCH_MAX; a++)
                arch_done(&q->arch[a]);
        strv_free(q->dirs);
        free(q);
        return NULL;
}
