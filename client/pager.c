/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pager.h"

static pid_t pager_pid;

/* Runs in the child: becomes the pager, or copies its input through when no pager can be started. */
static _Noreturn void pager_exec(const char *pager) {
        char buf[4096];
        ssize_t n;

        /* less: raw control characters, quit at end of one screen, no init, chop long lines, prompt with
         * position, quit on ^C (systemd's choice); a user's SYSTEMD_LESS wins */
        setenv("LESS", getenv("SYSTEMD_LESS") ?: "FRSXMK", 1);
        if (!getenv("LESSCHARSET"))
                setenv("LESSCHARSET", "utf-8", 1);
        if (pager) {
                execl("/bin/sh", "sh", "-c", pager, (char *) NULL);
                _exit(EXIT_FAILURE);
        }
        execlp("less", "less", (char *) NULL);
        execlp("more", "more", (char *) NULL);
        while ((n = read(STDIN_FILENO, buf, sizeof(buf))) > 0)
                if (write(STDOUT_FILENO, buf, (size_t) n) != n)
                        break;
        _exit(EXIT_SUCCESS);
}

int pager_open(bool enabled) {
        const char *pager = getenv("SYSTEMD_PAGER") ?: getenv("PAGER");
        int fds[2];

        if (!enabled || pager_pid > 0 || !isatty(STDOUT_FILENO))
                return 0;
        if (pager && (pager[strspn(pager, " \t")] == '\0' || strcmp(pager, "cat") == 0))
                return 0;       /* an empty pager, or cat, means none */

        fflush(stdout);
        if (pipe2(fds, O_CLOEXEC) < 0)
                return -errno;
        pager_pid = fork();
        if (pager_pid < 0) {
                int r = -errno;
                close(fds[0]);
                close(fds[1]);
                pager_pid = 0;
                return r;
        }
        if (pager_pid == 0) {
                (void) prctl(PR_SET_PDEATHSIG, SIGTERM);
                if (dup2(fds[0], STDIN_FILENO) < 0)
                        _exit(EXIT_FAILURE);
                pager_exec(pager);
        }
        if (dup2(fds[1], STDOUT_FILENO) < 0) {
                int r = -errno;
                close(fds[0]);
                close(fds[1]);
                return r;
        }
        close(fds[0]);
        close(fds[1]);
        return 0;
}

void pager_close(void) {
        if (pager_pid <= 0)
                return;
        fflush(stdout);
        fclose(stdout);         /* the pager sees the end of its input */
        while (waitpid(pager_pid, NULL, 0) < 0 && errno == EINTR)
                ;
        pager_pid = 0;
}
