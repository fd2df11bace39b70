#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A test fixture of the system suite, run inside the booted system: a client that calls Resolve in a loop while
the package is upgraded, and the judge of what it saw. It knows nothing of packages; checks.sh drives it.

    resolve-loop RECORD                      calls Resolve on one system bus connection until SIGTERM, writing a
                                             line a call: "ok START END SENDER" or "fail START END ERROR"
                                             (CLOCK_MONOTONIC seconds)
    resolve-loop --judge RECORD EXIT ENTER   the record against the restart as systemd saw it (the unit's
                                             ActiveExit and ActiveEnter timestamps, monotonic microseconds):
                                             prints the figures, exits 1 unless the answers moved from one
                                             daemon to another and no call failed for longer than the restart"""

import signal
import sys
import time

NAME = 'io.github.fwregistryd.FirmwareRegistry1'
OBJ = '/io/github/fwregistryd/FirmwareRegistry1'
IFACE = NAME + '.Manager'
PAUSE = 0.005       # between calls: fine enough to time a restart, and the daemon still has time for others
# systemd sends SIGTERM first and records ActiveExitTimestamp after: a call that the stopping daemon leaves
# unanswered can fail (NoReply) a moment before the restart's recorded start (1 ms seen with dbus-broker)
KILL_TO_TIMESTAMP = 0.05


def loop(path):
    import gi
    gi.require_version('Gio', '2.0')
    from gi.repository import Gio, GLib

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
    bus = Gio.bus_get_sync(Gio.BusType.SYSTEM, None)
    request = GLib.Variant('(a{sv})', ({'architecture': GLib.Variant('s', 'x86_64'),
                                        'machine': GLib.Variant('s', 'q35')},))
    with open(path, 'w', buffering=1) as out:
        while not stop:
            msg = Gio.DBusMessage.new_method_call(NAME, OBJ, IFACE, 'Resolve')
            msg.set_body(request)
            start = time.monotonic()
            try:
                reply, _ = bus.send_message_with_reply_sync(msg, Gio.DBusSendMessageFlags.NONE, 25000, None)
                if reply.get_message_type() == Gio.DBusMessageType.ERROR:
                    result = f'fail {start:.6f} {time.monotonic():.6f} {reply.get_error_name()}'
                else:
                    result = f'ok {start:.6f} {time.monotonic():.6f} {reply.get_sender()}'
            except GLib.Error as e:
                result = f'fail {start:.6f} {time.monotonic():.6f} {e.message.replace(" ", "_")}'
            out.write(result + '\n')
            time.sleep(PAUSE)


def judge(path, exit_us, enter_us):
    calls = []
    for line in open(path):
        status, start, end, who = line.split()
        calls.append((status, float(start), float(end), who))
    stop_begun, ready = exit_us / 1e6, enter_us / 1e6
    restart = ready - stop_begun
    answered = [c for c in calls if c[0] == 'ok']
    failed = [c for c in calls if c[0] == 'fail']

    daemons = []            # the senders of the answers, in order
    for c in answered:
        if not daemons or daemons[-1] != c[3]:
            daemons.append(c[3])
    stretches, run = [], []  # runs of consecutive failed calls: from the first one's start to the last one's end
    for c in calls + [('ok', 0, 0, '')]:
        if c[0] == 'fail':
            run.append(c)
        elif run:
            stretches.append((run[0][1], run[-1][2], len(run)))
            run = []
    waits = [b[2] - a[2] for a, b in zip(answered, answered[1:])]
    handover = None
    if len(daemons) == 2:
        last_old = max(c[2] for c in answered if c[3] == daemons[0])
        first_new = min(c[2] for c in answered if c[3] == daemons[1])
        handover = first_new - last_old

    ms = lambda s: f'{s * 1000:.0f} ms'  # noqa: E731
    print(f'restart as systemd saw it (stop begun -> new daemon ready): {ms(restart)}')
    print(f'calls: {len(calls)}, answered: {len(answered)}, failed: {len(failed)}'
          + (' (' + ', '.join(sorted({c[3] for c in failed})) + ')' if failed else ''))
    print('answers came from: ' + ' -> '.join(daemons))
    print(f'longest failing stretch: {ms(max((s[1] - s[0] for s in stretches), default=0))}'
          + ''.join(f'; {n} failed from {ms(a - stop_begun)} to {ms(b - stop_begun)} after the stop began'
                    for a, b, n in stretches))
    print(f'longest wait between two answers: {ms(max(waits, default=0))}'
          + (f'; old daemon\'s last answer -> new daemon\'s first: {ms(handover)}' if handover is not None else ''))

    problems = []
    if len(daemons) != 2:
        problems.append(f'answers came from {len(daemons)} daemons, not one then another')
    if not calls or calls[0][1] > stop_begun or calls[-1][2] < ready:
        problems.append('the calls did not span the restart')
    for a, b, n in stretches:
        if b - a > restart:
            problems.append(f'{n} calls failed for {ms(b - a)}, longer than the restart')
    outside = [c for c in failed if not stop_begun - KILL_TO_TIMESTAMP <= c[2] <= ready]
    if outside:
        problems.append(f'{len(outside)} calls failed outside the restart')
    for p in problems:
        print('problem: ' + p)
    return 1 if problems else 0


if __name__ == '__main__':
    if sys.argv[1] == '--judge':
        sys.exit(judge(sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
    loop(sys.argv[1])
