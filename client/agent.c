/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"
#include "config.h"

static pid_t agent_pid;

/* In the child: only the terminal and the notify fd stay open, then pkttyagent takes over. */
static _Noreturn void agent_exec(int notify_fd) {
        const int fd = 3;
        char fd_arg[16];

        (void) prctl(PR_SET_PDEATHSIG, SIGTERM);
        /* the notify fd becomes fd 3, without O_CLOEXEC; nothing else of ours goes along */
        if (notify_fd != fd && dup2(notify_fd, fd) < 0)
                _exit(EXIT_FAILURE);
        if (fcntl(fd, F_SETFD, 0) < 0)
                _exit(EXIT_FAILURE);
        (void) close_range(fd + 1, ~0U, 0);
        if (!isatty(STDOUT_FILENO)) {           /* the questions go to the terminal, not into a pipe */
                int tty = open("/dev/tty", O_WRONLY | O_NOCTTY | O_CLOEXEC);
                if (tty >= 0)
                        (void) dup2(tty, STDOUT_FILENO);
        }
        snprintf(fd_arg, sizeof(fd_arg), "%d", fd);
        execl(POLKIT_AGENT_PATH, POLKIT_AGENT_PATH, "--notify-fd", fd_arg, "--fallback", (char *) NULL);
        _exit(EXIT_FAILURE);
}

int agent_open(void) {
        int fds[2];

        if (agent_pid > 0 || geteuid() == 0 || !isatty(STDIN_FILENO))
                return 0;
        if (access(POLKIT_AGENT_PATH, X_OK) < 0)
                return 0;       /* no polkit agent installed: the daemon can still say no */
        if (pipe2(fds, O_CLOEXEC) < 0)
                return -errno;
        fflush(stdout);
        agent_pid = fork();
        if (agent_pid < 0) {
                int r = -errno;
                close(fds[0]);
                close(fds[1]);
                agent_pid = 0;
                return r;
        }
        if (agent_pid == 0)
                agent_exec(fds[1]);
        close(fds[1]);

        /* the agent closes the fd once it is registered, or exits; either way the call can go now */
        for (;;) {
                struct pollfd p = { .fd = fds[0], .events = POLLIN };
                if (poll(&p, 1, -1) >= 0 || errno != EINTR)
                        break;
        }
        close(fds[0]);
        return 0;
}

void agent_close(void) {
        if (agent_pid <= 0)
                return;
        (void) kill(agent_pid, SIGTERM);
        while (waitpid(agent_pid, NULL, 0) < 0 && errno == EINTR)
                ;
        agent_pid = 0;
}
