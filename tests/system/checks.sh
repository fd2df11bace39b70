#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The checks of the system test, run as root inside the booted test system by fwregistryd-test.service (a test
# fixture, not part of the package): they install the project's Debian packages with apt, use them, upgrade,
# remove and purge them. Writes TAP: "ok N - name" or "not ok N - name", each followed by its evidence
# as "# " lines, to the results directory (a bind mount under systemd-nspawn) and, in a VM, to the second serial
# port. Ends with a "# fwregistryd-system-test: done" line and powers the system off.
set -u

RESULTS=/var/lib/fwregistryd-test/results.tap
DEBS=/var/cache/fwregistryd-test/debs              # Debian's firmware packages
PACKAGES=/var/cache/fwregistryd-test/packages      # ours: install/ and upgrade/ (a higher version)
FIXTURES=/usr/local/libexec/fwregistryd-test
NAME=io.github.fwregistryd.FirmwareRegistry1
OBJ=/io/github/fwregistryd/FirmwareRegistry1
IFACE=$NAME.Manager
USER_NAME=fwtest            # an unprivileged user, no polkit rule
ADMIN_NAME=fwtest-admin     # an unprivileged user that a polkit rule allows to reload
export NAME OBJ IFACE USER_NAME ADMIN_NAME DEBS PACKAGES FIXTURES
export PATH=/usr/sbin:/usr/bin:/sbin:/bin SYSTEMD_PAGER= SYSTEMD_COLORS=0 LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive

serial=
systemd-detect-virt --vm --quiet && [ -c /dev/ttyS1 ] && serial=/dev/ttyS1
[ -n "$serial" ] && stty -F "$serial" raw -echo 2>/dev/null

emit() {
        printf '%s\n' "$@" >>"$RESULTS"
        [ -z "$serial" ] || printf '%s\n' "$@" >"$serial"
}

n=0
# run NAME FUNCTION: one check, bounded in time; its output is the evidence
run() {
        local name=$1 fn=$2 out rc start=$SECONDS
        n=$((n + 1))
        out=$(timeout --kill-after=5 "${CHECK_TIMEOUT:-120}" bash -c "set -u; $fn" 2>&1)
        rc=$?
        [ $rc -eq 124 ] && out+=$'\n'"timed out after ${CHECK_TIMEOUT:-120} s"
        [ $((SECONDS - start)) -lt 5 ] || out+=$'\n'"($((SECONDS - start)) s)"
        if [ $rc -eq 0 ]; then
                emit "ok $n - $name"
        else
                emit "not ok $n - $name"
        fi
        # evidence: the last 40 lines are enough to judge, and keep the serial port fast
        [ -z "$out" ] || emit "$(printf '%s\n' "$out" | tail -n 40 | sed 's/^/# /')"
}

# as USER ARGS...: a command as an unprivileged user, with a clean environment
as() {
        local u=$1
        shift
        setpriv --reuid="$u" --regid="$u" --init-groups \
                env -i PATH="$PATH" HOME="$(getent passwd "$u" | cut -d: -f6)" LC_ALL=C.UTF-8 "$@"
}

# as_session USER ARGS...: the same, on the user's session bus
as_session() {
        local u=$1 uid
        shift
        uid=$(id -u "$u")
        as "$u" XDG_RUNTIME_DIR=/run/user/$uid DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/$uid/bus "$@"
}

# expect_error NAME COMMAND...: the command fails and prints the D-Bus error NAME
expect_error() {
        local want=$1 out
        shift
        out=$("$@" 2>&1) && { echo "unexpected success: $out"; return 1; }
        echo "$out"
        grep -q -- "$want" <<<"$out" || { echo "expected $want"; return 1; }
}

# wait_for FILE PATTERN SECONDS: polls until FILE has a line matching PATTERN
wait_for() {
        local deadline=$((SECONDS + $3))
        until grep -q -- "$2" "$1" 2>/dev/null; do
                [ $SECONDS -lt $deadline ] || { echo "no line matching '$2' in $1 within $3 s:"; cat "$1"; return 1; }
                sleep 0.2
        done
        grep -- "$2" "$1"
}

export -f as as_session expect_error wait_for

# the system bus is the implementation this tree was built for (FWREGISTRY_TEST_BUS, set by the fixture unit)
system_bus() {
        unit=$(systemctl show -P Id dbus.service)
        exe=$(readlink /proc/$(systemctl show -P MainPID dbus.service)/exe)
        echo "dbus.service is $unit, running $exe; expected: ${FWREGISTRY_TEST_BUS:-unset}"
        case "${FWREGISTRY_TEST_BUS:-}" in
        dbus) [ "$unit" = dbus.service ] && [ "${exe##*/}" = dbus-daemon ] ;;
        dbus-broker) [ "$unit" = dbus-broker.service ] && [ "${exe##*/}" = dbus-broker-launch ] ;;
        *) false ;;
        esac
}

boot_running() {
        state=$(systemctl is-system-running --wait)
        echo "is-system-running: $state"
        [ "$state" = running ]
}

no_failed_units() {
        failed=$(systemctl list-units --failed --no-legend --plain)
        echo "failed units: ${failed:-none}"
        [ -z "$failed" ]
}

# apt_install DIR: what an administrator runs, on both packages of DIR. The system has no network: apt takes their
# dependencies from its cache, where they were put when the tree was built.
apt_install() {
        apt-get install -y -q "$PACKAGES/$1"/fwregistryd_*.deb "$PACKAGES/$1"/python3-fwregistry_*.deb \
                >/tmp/apt-$1.log 2>&1
        rc=$?
        grep -v -e '^Selecting' -e '^Preparing' -e '^Unpacking' -e '^(Reading' /tmp/apt-$1.log | tail -n 12
        [ $rc -eq 0 ] || return 1
        dpkg-query -W fwregistryd python3-fwregistry
}

# after apt-get install: the postinst enabled and started the service, before any call could activate it, and an
# unprivileged Resolve reaches the daemon (which answers that nothing fits: no firmware package is installed yet)
installed_serves() {
        state=$(systemctl is-active fwregistryd.service)
        enabled=$(systemctl is-enabled fwregistryd.service)
        since=$(systemctl show -P ActiveEnterTimestamp fwregistryd.service)
        echo "fwregistryd.service: $state, $enabled, since $since"
        if [ "$state" != active ] || [ "$enabled" != enabled ]; then
                journalctl -b --no-pager -o cat -u fwregistryd.service | tail -n 8
                return 1
        fi
        expect_error 'No firmware matches' as "$USER_NAME" busctl call $NAME $OBJ $IFACE Resolve 'a{sv}' 2 \
                architecture s x86_64 machine s q35
}

sysusers_user() {
        getent passwd fwregistry || { echo 'no fwregistry user'; return 1; }
        getent group fwregistry
        uid=$(id -u fwregistry)
        [ "$uid" -lt 1000 ] || { echo "uid $uid is not a system uid"; return 1; }
}

service_sandboxed() {
        systemctl is-active fwregistryd.service || return 1
        systemctl show -p Type -p User -p MainPID -p ActiveEnterTimestamp fwregistryd.service
        pid=$(systemctl show -P MainPID fwregistryd.service)
        owner=$(busctl call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus GetConnectionUnixUser \
                s $NAME | cut -d' ' -f2)
        echo "bus name owned by uid $owner; fwregistry is uid $(id -u fwregistry)"
        [ "$owner" = "$(id -u fwregistry)" ] || return 1
        grep -E '^(Uid|Gid|CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):' /proc/$pid/status | tee /tmp/st
        grep -q "^Uid:[[:space:]]*$(id -u fwregistry)[[:space:]]" /tmp/st &&
        [ "$(grep -c '^Cap...:[[:space:]]*0000000000000000$' /tmp/st)" = 5 ] &&
        grep -q '^NoNewPrivs:[[:space:]]*1$' /tmp/st &&
        grep -q '^Seccomp:[[:space:]]*2$' /tmp/st
}

units_verify() {
        # --man=no: a minimal system has no man; the install suite checks that the pages are installed
        out=$(systemd-analyze verify --man=no fwregistryd.service 2>&1; as_session "$USER_NAME" systemd-analyze \
                --user verify --man=no fwregistryd.service 2>&1)
        echo "systemd-analyze verify (system and user unit): ${out:-no findings}"
        [ -z "$out" ]
}

security_score() {
        systemd-analyze security --no-pager fwregistryd.service | tail -n 12
        score=$(systemd-analyze security --no-pager fwregistryd.service | sed -n 's/.*Overall exposure level.*: \([0-9.]*\).*/\1/p')
        echo "score: $score"
        awk -v s="$score" 'BEGIN { exit !(s != "" && s <= 0.5) }'
}

# dpkg_install PACKAGE DESCRIPTOR ARCH MACHINE: installing a firmware package while the daemon runs is announced
# with CatalogueChanged, and its descriptor then resolves
dpkg_install() {
        mon=$(mktemp)
        chmod 644 "$mon"
        as "$USER_NAME" fwregistryctl monitor >"$mon" 2>&1 &
        wait_for "$mon" 'Monitoring' 10 >/dev/null || return 1
        dpkg -i "$DEBS/$1"_*.deb | tail -n 2
        wait_for "$mon" "+$2" 30
        rc=$?
        kill $!
        [ $rc -eq 0 ] || return 1
        got=$(as "$USER_NAME" fwregistryctl resolve --arch "$3" --machine "$4")
        echo "$got" | head -n 3
        grep -q "name: .*-edk2-$3" <<<"$got"
}

unpriv_resolve() {
        out=$(as "$USER_NAME" busctl call $NAME $OBJ $IFACE Resolve 'a{sv}' 3 architecture s x86_64 machine s q35 \
                features 'a{sb}' 1 secure-boot true)
        echo "$out" | cut -c1-300
        grep -q 'secure' <<<"$out"
}

unpriv_list() {
        out=$(as "$USER_NAME" busctl call $NAME $OBJ $IFACE List 'a{sv}' 0)
        echo "$out" | cut -c1-200
        grep -q '60-edk2-aarch64.json' <<<"$out" && grep -q '60-edk2-x86_64.json' <<<"$out"
}

unpriv_tree() {
        out=$(as "$USER_NAME" busctl tree $NAME)
        echo "$out"
        grep -q "$OBJ/firmware/" <<<"$out"
}

unpriv_ctl() {
        as "$USER_NAME" fwregistryctl list || return 1
        as "$USER_NAME" fwregistryctl resolve --arch aarch64 --machine virt
}

# the Python module, from Debian's python3, as an unprivileged user: imported, and it resolves
python_module() {
        as "$USER_NAME" /usr/bin/python3 -c 'import fwregistry
print("fwregistry from", fwregistry.__file__)
fw = fwregistry.Client().resolve(architecture="x86_64", machine="q35")
print("resolve(architecture=x86_64, machine=q35):", fw.name, fw.executable)'
}

policy_request_name() {
        expect_error org.freedesktop.DBus.Error.AccessDenied as "$USER_NAME" dbus-send --system --print-reply \
                --dest=org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus.RequestName string:$NAME uint32:0
}

policy_properties_set() {
        expect_error org.freedesktop.DBus.Error.AccessDenied as "$USER_NAME" dbus-send --system --print-reply \
                --dest=$NAME $OBJ org.freedesktop.DBus.Properties.Set string:$IFACE string:Version variant:string:1
}

# an unprivileged user with no rule: polkit wants an administrator, which a non-interactive call cannot have
reload_denied() {
        expect_error org.freedesktop.DBus.Error.InteractiveAuthorizationRequired as "$USER_NAME" dbus-send \
                --system --print-reply --dest=$NAME $OBJ $IFACE.Reload
}

# the same with interactive authorization allowed (fwregistryctl allows it): polkit is asked to start a dialog,
# finds no agent, says no
reload_interactive() {
        expect_error 'Not allowed to reload' as "$USER_NAME" fwregistryctl reload
}

reload_rule() {
        as "$ADMIN_NAME" busctl --allow-interactive-authorization=no call $NAME $OBJ $IFACE Reload &&
        echo "Reload() as $ADMIN_NAME: done"
}

reload_root() {
        busctl --allow-interactive-authorization=no call $NAME $OBJ $IFACE Reload && echo 'Reload() as root: done'
}

systemctl_reload() {
        systemctl reload fwregistryd.service || { systemctl status --no-pager -n 5 fwregistryd.service; return 1; }
        systemctl is-active fwregistryd.service
        journalctl -b -u fwregistryd.service -n 3 --no-pager -o cat
}

activation() {
        systemctl stop fwregistryd.service
        echo "after stop: $(systemctl is-active fwregistryd.service)"
        as "$USER_NAME" busctl get-property $NAME $OBJ $IFACE Count || return 1
        echo "after a call: $(systemctl is-active fwregistryd.service)"
        systemctl is-active --quiet fwregistryd.service
}

user_instance() {
        uid=$(id -u "$USER_NAME")
        home=$(getent passwd "$USER_NAME" | cut -d: -f6)
        as "$USER_NAME" mkdir -p "$home/.config/qemu/firmware"
        # a descriptor of the user's own, ranked first, for the firmware that the system has
        as "$USER_NAME" cp /usr/share/qemu/firmware/60-edk2-x86_64.json "$home/.config/qemu/firmware/10-mine.json"
        systemctl start user@$uid.service || return 1
        echo "user instance before the first call: $(systemctl --user -M "$USER_NAME@" is-active fwregistryd.service)"
        scope=$(as_session "$USER_NAME" busctl --user get-property $NAME $OBJ $IFACE Scope) || return 1
        echo "Scope: $scope"
        echo "user instance after: $(systemctl --user -M "$USER_NAME@" is-active fwregistryd.service)"
        got=$(as_session "$USER_NAME" fwregistryctl --user resolve --arch x86_64 --machine q35 2>&1)
        echo "$got" | head -n 3
        [ "$scope" = 's "user"' ] && grep -q 10-mine.json <<<"$got"
}

systemctl_reload_user() {
        systemctl --user -M "$USER_NAME@" reload fwregistryd.service || {
                systemctl --user -M "$USER_NAME@" status --no-pager -n 5 fwregistryd.service; return 1; }
        systemctl --user -M "$USER_NAME@" is-active fwregistryd.service
}

# apt-get install of the rebuilt packages, of a higher version, while an unprivileged client calls Resolve in a
# loop: the postinst restarts the daemon (a new InstanceId), and no call fails for longer than the restart takes,
# as systemd timed it. resolve-loop --judge prints the figures.
upgrade() {
        before=$(busctl get-property $NAME $OBJ $IFACE InstanceId) || return 1
        version=$(dpkg-query -W -f='${Version}' fwregistryd)
        calls=$(mktemp)
        chmod 666 "$calls"
        # not through as(): $! must be the client itself (setpriv and env exec it), not a subshell that a kill
        # would leave it running from, holding this check's output open
        setpriv --reuid="$USER_NAME" --regid="$USER_NAME" --init-groups env -i PATH="$PATH" LC_ALL=C.UTF-8 \
                "$FIXTURES/resolve-loop" "$calls" </dev/null >/tmp/resolve-loop.log 2>&1 &
        loop=$!
        wait_for "$calls" '^ok ' 30 >/dev/null || { kill $loop; return 1; }
        apt_install upgrade >/tmp/upgrade.out
        rc=$?
        sleep 1         # and on for a while with the new daemon
        kill $loop
        wait $loop
        cat /tmp/resolve-loop.log
        tail -n 4 /tmp/upgrade.out
        [ $rc -eq 0 ] || { cat /tmp/upgrade.out; return 1; }
        after=$(busctl get-property $NAME $OBJ $IFACE InstanceId)
        echo "fwregistryd $version -> $(dpkg-query -W -f='${Version}' fwregistryd); InstanceId $before -> $after"
        "$FIXTURES/resolve-loop" --judge "$calls" \
                "$(systemctl show -P ActiveExitTimestampMonotonic fwregistryd.service)" \
                "$(systemctl show -P ActiveEnterTimestampMonotonic fwregistryd.service)" || return 1
        [ "$before" != "$after" ]
}

dpkg_remove() {
        mon=$(mktemp)
        chmod 644 "$mon"
        as "$USER_NAME" fwregistryctl monitor >"$mon" 2>&1 &
        wait_for "$mon" 'Monitoring' 10 >/dev/null || return 1
        dpkg -r ovmf qemu-efi-aarch64 | tail -n 2
        wait_for "$mon" '-60-edk2-aarch64.json' 30 && wait_for "$mon" '-60-edk2-x86_64.json' 30
        rc=$?
        kill $!
        [ $rc -eq 0 ] || return 1
        expect_error 'No firmware matches' as "$USER_NAME" busctl call $NAME $OBJ $IFACE Resolve 'a{sv}' 1 architecture s x86_64
}

journal_clean() {
        uid=$(id -u "$USER_NAME")
        echo '--- fwregistryd.service (system):'
        journalctl -b --no-pager -o short-monotonic -u fwregistryd.service | tail -n 8
        echo '--- fwregistryd.service (user):'
        journalctl -b --no-pager -o short-monotonic _UID=$uid _SYSTEMD_USER_UNIT=fwregistryd.service | tail -n 4
        bad=$(journalctl -b --no-pager -o short-monotonic -p warning -u fwregistryd.service;
              journalctl -b --no-pager -o short-monotonic -p warning _SYSTEMD_USER_UNIT=fwregistryd.service;
              journalctl -b --no-pager -o short-monotonic -p warning USER_UNIT=fwregistryd.service)
        bad=$(grep -v '^-- No entries --$' <<<"$bad")
        echo "--- warnings and errors: ${bad:-none}"
        [ -z "$bad" ] && return 0
        echo '--- the whole journal before the first of them:'
        first=$(head -n 1 <<<"$bad" | sed 's/^\[[^]]*\] //')
        journalctl -b --no-pager -o short-monotonic | grep -F -B 15 -m 1 -- "$first" | head -n 15
        return 1
}

# apt-get remove: the prerm stopped the service, no process of it is left, the bus forgets the name, and every
# file of both packages is gone (it has no conffiles; its own directories go too)
apt_remove() {
        dpkg-query -L fwregistryd python3-fwregistry | sort -u >/tmp/package-files
        apt-get remove -y -q fwregistryd python3-fwregistry 2>&1 | tail -n 3
        state=$(systemctl is-active fwregistryd.service)
        echo "fwregistryd.service: $state ($(systemctl show -P LoadState fwregistryd.service))"
        procs=$(find /proc -mindepth 1 -maxdepth 1 -name '[0-9]*' -user fwregistry 2>/dev/null)
        echo "processes of the fwregistry user: ${procs:-none}"
        left=$(while read -r f; do
                if [ -d "$f" ]; then    # shared directories stay (/lib is a link to one)
                        case "$f" in *fwregistry*) echo "$f" ;; esac
                elif [ -e "$f" ] || [ -L "$f" ]; then
                        echo "$f"
                fi
        done </tmp/package-files)
        echo "of the $(wc -l </tmp/package-files) paths of both packages, left: ${left:-none}"
        echo "dpkg: $(dpkg-query -W -f='${db:Status-Abbrev}${Package} ' fwregistryd python3-fwregistry 2>/dev/null)"
        # not judged: Debian stops no user units on removal, so a user's instance runs on until its session ends
        echo "$USER_NAME's user instance: $(systemctl --user -M "$USER_NAME@" is-active fwregistryd.service)"
        # the bus reads its service files again when they change: neither owned nor activatable
        deadline=$((SECONDS + 10))
        while busctl list --no-legend | grep -F "$NAME"; do
                [ $SECONDS -lt $deadline ] || { echo "the bus still knows $NAME"; return 1; }
                sleep 0.2
        done
        echo "the bus: no $NAME"
        [ "$state" = inactive ] && [ -z "$procs" ] && [ -z "$left" ]
}

# apt-get purge: nothing of the packages is left, by name anywhere or by content in /etc and /var, but the system
# user (Debian policy keeps it: files it owned may remain). Not searched: what the test fixtures are and bring
# (their names have fwregistryd-test), the test users' homes, logs, and the virtual and temporary file systems.
apt_purge() {
        # only what dpkg still knows of: python3-fwregistry, without conffiles or postrm, went whole with remove
        known=$(dpkg-query -W -f='${Package} ' fwregistryd python3-fwregistry 2>/dev/null)
        echo "known to dpkg before the purge: ${known:-nothing}"
        [ -n "$known" ] && apt-get purge -y -q $known 2>&1 | tail -n 3
        status=$(dpkg-query -W -f='${db:Status-Abbrev}${Package}\n' fwregistryd python3-fwregistry 2>/dev/null)
        echo "dpkg: ${status:-knows neither package}"
        named=$(find / -xdev \( -path /proc -o -path /sys -o -path /dev -o -path /run -o -path /tmp -o -path /var/tmp \
                -o -path /home -o -name '*fwregistryd-test*' \) -prune -o -name '*fwregistry*' -print)
        echo "files named after it: ${named:-none}"
        # the user and group databases keep the user; status-old is dpkg's copy of its database from before
        mention=$(grep -rlIP --exclude='*fwregistryd-test*' --exclude-dir='*fwregistryd-test*' --exclude-dir=log \
                'fwregistry(?!d-test)' /etc /var 2>/dev/null |
                grep -v -x -e '/etc/\(passwd\|group\|shadow\|gshadow\)-\?' -e /var/lib/dpkg/status-old)
        echo "files that mention it: ${mention:-none}"
        user=$(getent passwd fwregistry)
        echo "the system user, which stays: ${user:-none}"
        [ -z "$named" ] && [ -z "$mention" ] && [ -n "$user" ] && ! grep -q '^[^pu]' <<<"$status"
}

export -f apt_install installed_serves python_module upgrade apt_remove apt_purge
export -f system_bus boot_running no_failed_units sysusers_user service_sandboxed units_verify security_score dpkg_install \
        unpriv_resolve unpriv_list unpriv_tree unpriv_ctl policy_request_name policy_properties_set reload_denied \
        reload_interactive reload_rule reload_root systemctl_reload activation user_instance systemctl_reload_user \
        dpkg_remove journal_clean

# ---- the cache file (fwregistryd(8), "Cache"): a second start serves from it, a corrupted one is survived ----
CACHE_FILE=/var/cache/fwregistryd/facts.cache
CACHE_DROPIN=/run/systemd/system/fwregistryd.service.d/50-fwregistryd-test-cache.conf
export CACHE_FILE CACHE_DROPIN

# cache_debug on|off: the service logs at debug level, where a line says what came from the cache
cache_debug() {
        if [ "$1" = on ]; then
                mkdir -p "${CACHE_DROPIN%/*}"
                printf '[Service]\nEnvironment=FWREGISTRYD_LOG_LEVEL=debug\n' >"$CACHE_DROPIN"
        else
                rm -f "$CACHE_DROPIN"
        fi
        systemctl daemon-reload
}

# cache_activate: stops the service, activates it with a Resolve, and prints how long the answer took and
# this invocation's lines about the cache
cache_activate() {
        local t0 t1 id out deadline=$((SECONDS + 10))
        systemctl stop fwregistryd.service || return 1
        t0=$(date +%s%N)
        as "$USER_NAME" busctl call $NAME $OBJ $IFACE Resolve 'a{sv}' 1 architecture s x86_64 >/dev/null || return 1
        t1=$(date +%s%N)
        echo "from the call that activated it to its answer: $(((t1 - t0) / 1000000)) ms"
        id=$(systemctl show -P InvocationID fwregistryd.service)
        until out=$(journalctl -b --no-pager -o cat _SYSTEMD_INVOCATION_ID="$id" | grep -E 'Reused|Loaded|Cache file'); \
                grep -q Reused <<<"$out" || [ $SECONDS -ge $deadline ]; do
                sleep 0.2
        done
        echo "$out"
}

# cache_digest_ok: the digest Resolve serves for x86_64 is the image's
cache_digest_ok() {
        local got path digest
        got=$(as "$USER_NAME" busctl --json=short call $NAME $OBJ $IFACE Resolve 'a{sv}' 1 architecture s x86_64)
        path=$(grep -o '"executable":{"type":"s","data":"[^"]*"' <<<"$got" | sed 's/.*"data":"//; s/"$//')
        digest=$(grep -o '"executable-sha256":{"type":"s","data":"[0-9a-f]*"' <<<"$got" | sed 's/.*"data":"//; s/"$//')
        echo "served: $digest $path"
        sha256sum "$path"
        [ -n "$digest" ] && [ "$digest" = "$(sha256sum "$path" | cut -d' ' -f1)" ]
}

cache_second_start() {
        local out rc
        cache_debug on
        # the first start learns what the running daemon could not keep (images installed moments before it
        # hashed them); the second serves from the file
        cache_activate >/dev/null && out=$(cache_activate)
        rc=$?
        echo "$out"
        ls -l "$CACHE_FILE"
        cache_digest_ok || rc=1
        cache_debug off
        systemctl restart fwregistryd.service
        [ $rc -eq 0 ] && grep -qE 'Reused ([1-9][0-9]*) of \1 image facts' <<<"$out" &&
                grep -q ' 0 images hashed' <<<"$out" && [ "$(stat -c %U "$CACHE_FILE")" = fwregistry ]
}

cache_corrupted() {
        local out again rc size
        cache_debug on
        systemctl stop fwregistryd.service
        size=$(stat -c %s "$CACHE_FILE")
        printf 'garbage' | dd of="$CACHE_FILE" bs=1 seek=$((size / 2)) conv=notrunc status=none
        out=$(cache_activate)
        rc=$?
        echo "$out"
        cache_digest_ok || rc=1
        # rewritten at exit: the start after serves from it again
        again=$(cache_activate) || rc=1
        echo "$again"
        cache_debug off
        systemctl restart fwregistryd.service
        [ $rc -eq 0 ] && [ "$(grep -c "Cache file '" <<<"$out")" = 1 ] && grep -q 'checksum mismatch' <<<"$out" &&
                grep -qE 'Reused [1-9]' <<<"$again"
}

export -f cache_debug cache_activate cache_digest_ok cache_second_start cache_corrupted

emit "# fwregistryd-system-test: started in $(systemd-detect-virt), kernel $(uname -r)"
CHECK_TIMEOUT=240 run 'boot reaches running' boot_running
run 'no failed units' no_failed_units
run "system bus: ${FWREGISTRY_TEST_BUS:-}" system_bus
CHECK_TIMEOUT=600 run 'apt-get install ./fwregistryd_*.deb ./python3-fwregistry_*.deb' 'apt_install install'
run 'after install: service active, answers an unprivileged Resolve' installed_serves
run 'sysusers created the fwregistry user' sysusers_user
run 'service active as fwregistry, no capabilities, NoNewPrivs, seccomp' service_sandboxed
run 'systemd-analyze security: exposure at most 0.5' security_score
run 'dpkg -i ovmf: announced, resolves' 'dpkg_install ovmf 60-edk2-x86_64.json x86_64 q35'
run 'dpkg -i qemu-efi-aarch64: announced, resolves' 'dpkg_install qemu-efi-aarch64 60-edk2-aarch64.json aarch64 virt'
run 'unprivileged Resolve' unpriv_resolve
run 'unprivileged List' unpriv_list
run 'unprivileged busctl tree' unpriv_tree
run 'unprivileged fwregistryctl list and resolve' unpriv_ctl
run '/usr/bin/python3: import fwregistry, resolve' python_module
run 'bus policy refuses RequestName' policy_request_name
run 'bus policy refuses Properties.Set' policy_properties_set
run 'Reload refused without authorization: polkit wants interactive authorization' reload_denied
run 'Reload with interactive authorization allowed: polkit asked, no agent, denied' reload_interactive
run 'Reload allowed by a polkit rule' reload_rule
run 'Reload as root' reload_root
run 'systemctl reload fwregistryd' systemctl_reload
run 'D-Bus activation after systemctl stop' activation
run 'cache file: a second start serves from it' cache_second_start
run 'cache file: a corrupted one costs one line, never a wrong digest' cache_corrupted
run 'user instance: session bus activation, ~/.config/qemu/firmware' user_instance
run 'systemctl --user reload fwregistryd' systemctl_reload_user
run 'systemd-analyze verify: both units clean' units_verify
CHECK_TIMEOUT=600 run 'upgrade while Resolve is called: restarted, no call failing longer than the restart' upgrade
run 'dpkg -r: announced, no longer resolves' dpkg_remove
run 'journal of both units: no warning or error' journal_clean
CHECK_TIMEOUT=300 run 'apt-get remove: service stopped, files removed' apt_remove
CHECK_TIMEOUT=300 run 'apt-get purge: nothing left but the system user' apt_purge
emit "1..$n" "# fwregistryd-system-test: done"
sync
systemctl poweroff --no-block
