# SPDX-License-Identifier: MIT
#
# The Debian package and a Debian 12 system container, for
# 30-debian-package.sh and 31-systemd-container.sh (sourced after lib.sh).
#
#   deb_build   the .deb of the source tree as it is now (the files git
#               tracks plus untracked ones it does not ignore), built with
#               `dpkg-buildpackage -us -uc -b` in a copy of those files, so
#               the checkout never gets debian/ build droppings.  Cached in
#               $TB_CACHE/deb/KEY, KEY a hash of the files, their modes and
#               the debhelper and dpkg-dev versions: both tests, and later
#               runs of the same tree, build it once.  Sets DEB, DEB_CHANGES
#               and DEB_BUILD_LOG.
#   ct_tree     debootstrap --variant=minbase of bookworm with systemd, dbus,
#               logrotate and the package's dependencies (from the .deb's
#               Depends), cached in $TB_CACHE/nspawn-bookworm and rebuilt
#               only when that list grows.  The mirror is the one apt uses on
#               this machine.  Needs the network the first time only.
#   ct_boot     boots a throwaway overlay of that tree (a copy where overlayfs
#               cannot be mounted) with `systemd-nspawn -b`, in the host's
#               network namespace, so the broker inside listens on the
#               host's 127.0.0.1 and the test's endpoints are its upstreams;
#               waits for "running".  Sets CT_PID (the container's PID 1 as
#               the host sees it).  The container is powered off, the
#               overlay unmounted and removed at exit, before lib.sh cleans
#               up; on failure the container's journal is dumped first.
#   ct CMD...   runs CMD inside the container (nsenter: every namespace and
#               its root); ct_put FILE PATH [OWNER MODE] writes a file into it.
#
# Environment: TLSBROKER_CACHE (default /var/cache/tlsbroker as root, else
# ~/.cache/tlsbroker).

TOP=${TOP_SRCDIR:-$(cd "$TB_SRC/../.." && pwd)}
if [ -n "${TLSBROKER_CACHE:-}" ]; then
	TB_CACHE=$TLSBROKER_CACHE
elif [ "$(id -u)" = 0 ]; then
	TB_CACHE=/var/cache/tlsbroker
else
	TB_CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/tlsbroker
fi
CT_PID=""
CT_NSPAWN=""
CT_DIR=""

# _deb_lock NAME: hold $TB_CACHE/NAME.lock (fd 9) until _deb_unlock, so two
# tests running at once build one thing once.
_deb_lock()
{
	mkdir -p "$TB_CACHE"
	exec 9>"$TB_CACHE/$1.lock"
	flock -w 1800 9 || hard_error "could not lock $TB_CACHE/$1.lock"
}

_deb_unlock()
{
	exec 9>&-
}

# _deb_files: the tree's files (NUL-separated, sorted), as git sees them,
# but the integration tests and the benchmark: the package does not use
# them, and a change to a test must not cost a package build.
_deb_files()
{
	git -C "$TOP" ls-files -z -c -o --exclude-standard |
	    (cd "$TOP" && xargs -0 -r sh -c '
		for f; do
			case $f in tests/integration/*|bench/*) continue ;; esac
			[ -e "$f" ] && printf "%s\0" "$f"
		done' _) |
	    sort -z
}

deb_build()
{
	need_cmd git dpkg-buildpackage dh flock sha256sum
	# (a dist tree unpacked inside a checkout is no checkout of its own)
	[ "$(git -C "$TOP" rev-parse --show-toplevel 2>/dev/null)" = \
	    "$(cd "$TOP" && pwd -P)" ] ||
	    skip "$TOP is not a git checkout (the package is built from its files)"
	[ -f "$TOP/debian/control" ] || hard_error "no debian/control in $TOP"
	_deb_files >"$TB_TMP/deb.files"
	_deb_key=$(
		cd "$TOP" &&
		xargs -0 stat -c '%a %n' <"$TB_TMP/deb.files" &&
		xargs -0 sha256sum <"$TB_TMP/deb.files" &&
		dpkg-query -W -f '${Version}\n' debhelper dpkg-dev
	) || hard_error "cannot hash the source tree"
	_deb_key=$(printf '%s\n' "$_deb_key" | sha256sum | cut -c1-16)
	_deb_dir="$TB_CACHE/deb/$_deb_key"
	_deb_lock deb
	if [ ! -f "$_deb_dir/done" ]; then
		note "building the package of this tree ($_deb_key); dpkg-buildpackage -us -uc -b"
		mkdir -p "$TB_CACHE/deb"
		_deb_b=$(mktemp -d "$TB_CACHE/deb/build.XXXXXX") ||
		    hard_error "cannot make a build directory in $TB_CACHE/deb"
		mkdir "$_deb_b/src"
		(cd "$TOP" && tar --null -T "$TB_TMP/deb.files" -cf -) |
		    tar -C "$_deb_b/src" -xf - ||
		    hard_error "cannot copy the tree to $_deb_b/src"
		_t0=$(now_ms)
		_rc=0
		# not make check's variables (TESTS=... in MAKEFLAGS would reach
		# dh_auto_test's make)
		(cd "$_deb_b/src" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
		    -u MAKEOVERRIDES -u TESTS -u TLSBROKER -u TOP_SRCDIR \
		    DEB_BUILD_OPTIONS="parallel=$(nproc)" \
		    dpkg-buildpackage -us -uc -b) >"$_deb_b/build.log" 2>&1 || _rc=$?
		DEB_BUILD_MS=$(($(now_ms) - _t0))
		if [ "$_rc" -ne 0 ]; then
			tail -n 60 "$_deb_b/build.log" >&2
			fail "dpkg-buildpackage failed (exit $_rc; log in $_deb_b/build.log)"
		fi
		rm -rf "$_deb_dir"
		mkdir -p "$_deb_dir"
		mv "$_deb_b"/*.deb "$_deb_b"/*.changes "$_deb_b"/*.buildinfo \
		    "$_deb_b/build.log" "$_deb_dir/"
		rm -rf "$_deb_b"
		echo "$DEB_BUILD_MS" >"$_deb_dir/build-ms"
		: >"$_deb_dir/done"
		# keep the four newest trees' packages
		ls -1td "$TB_CACHE"/deb/*/ 2>/dev/null | tail -n +5 |
		    while read -r _old; do rm -rf "$_old"; done
		note "package built in $DEB_BUILD_MS ms"
	else
		note "package of this tree ($_deb_key) cached, built in" \
		    "$(cat "$_deb_dir/build-ms") ms"
	fi
	_deb_unlock
	DEB=$(ls "$_deb_dir"/tlsbroker_*.deb)
	DEB_CHANGES=$(ls "$_deb_dir"/tlsbroker_*.changes)
	DEB_BUILD_LOG="$_deb_dir/build.log"
	[ -f "$DEB" ] || hard_error "no tlsbroker_*.deb in $_deb_dir"
}

# _ct_mirror: the Debian mirror apt uses here for bookworm (deb822 or
# one-line sources), or deb.debian.org.
_ct_mirror()
{
	_m=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '
		/^$/ { if (deb && suite && uri != "") { print uri; exit }
		       deb = 0; suite = 0; uri = "" ; next }
		/^Types:/ { deb = ($0 ~ /[ \t]deb([ \t]|$)/) }
		/^Suites:/ { suite = ($0 ~ /[ \t]bookworm([ \t]|$)/) }
		/^URIs:/ { uri = $2 }
		END { if (deb && suite && uri != "") print uri }' | head -n 1)
	[ -n "$_m" ] || _m=$(sed -n 's/^deb \(\[[^]]*\] \)\{0,1\}\([^ ]*\) bookworm .*/\2/p' \
	    /etc/apt/sources.list 2>/dev/null | head -n 1)
	printf '%s\n' "${_m:-http://deb.debian.org/debian}"
}

# ct_tree: sets CT_TREE, the cached Debian 12 tree (see the header).
ct_tree()
{
	need_cmd debootstrap dpkg-deb
	# first alternative of each dependency, without versions
	_ct_deps=$(dpkg-deb -f "$DEB" Depends | tr ',' '\n' |
	    sed -e 's/|.*//' -e 's/(.*)//' -e 's/[[:space:]]//g' | grep .)
	_ct_want=$(printf '%s\n' systemd systemd-sysv dbus logrotate $_ct_deps |
	    sort -u)
	CT_TREE="$TB_CACHE/nspawn-bookworm"
	_deb_lock nspawn
	if [ -f "$CT_TREE/.tlsbroker-packages" ] &&
	    [ -z "$(printf '%s\n' "$_ct_want" |
	    comm -23 - "$CT_TREE/.tlsbroker-packages")" ]; then
		_deb_unlock
		return 0
	fi
	_mirror=$(_ct_mirror)
	note "debootstrap bookworm from $_mirror into $CT_TREE (once)"
	rm -rf "$CT_TREE.new"
	_t0=$(now_ms)
	_rc=0
	debootstrap --variant=minbase \
	    --include="$(printf '%s\n' "$_ct_want" | paste -sd, -)" \
	    bookworm "$CT_TREE.new" "$_mirror" >"$TB_TMP/debootstrap.log" 2>&1 ||
	    _rc=$?
	if [ "$_rc" -ne 0 ]; then
		tail -n 20 "$TB_TMP/debootstrap.log" >&2
		rm -rf "$CT_TREE.new"
		_deb_unlock
		# a machine without the mirror cannot run this test
		skip "debootstrap bookworm from $_mirror failed (exit $_rc)"
	fi
	printf '%s\n' "$_ct_want" >"$CT_TREE.new/.tlsbroker-packages"
	rm -rf "$CT_TREE"
	mv "$CT_TREE.new" "$CT_TREE"
	_deb_unlock
	note "debootstrap took $(($(now_ms) - _t0)) ms"
}

ct()
{
	nsenter -t "$CT_PID" -a "$@"
}

# ct_put FILE PATH [OWNER MODE]: FILE from the host as PATH in the container.
ct_put()
{
	ct sh -c 'cat >"$1"' _ "$2" <"$1" || fail "cannot write $2 in the container"
	if [ $# -ge 4 ]; then
		ct chown "$3" "$2" && ct chmod "$4" "$2" ||
		    fail "cannot set $3 $4 on $2 in the container"
	fi
}

# ct_hostpid PID: the host's PID of the container's process PID.
ct_hostpid()
{
	_ns=$(readlink "/proc/$CT_PID/ns/pid")
	for _st in /proc/[0-9]*/status; do
		_h=${_st#/proc/}
		_h=${_h%/status}
		[ "$(readlink "/proc/$_h/ns/pid" 2>/dev/null)" = "$_ns" ] || continue
		if sed -n 's/^NSpid:[[:space:]]*//p' "$_st" 2>/dev/null |
		    awk -v p="$1" '{ exit !($NF == p) }'; then
			echo "$_h"
			return 0
		fi
	done
	return 1
}

ct_boot()
{
	need_cmd systemd-nspawn nsenter mount mountpoint
	CT_DIR=$(mktemp -d /var/tmp/tlsbroker-ct.XXXXXX) ||
	    hard_error "mktemp /var/tmp failed"
	# outside $TB_TMP: lib.sh's rm -rf must never walk into a mounted tree
	mkdir "$CT_DIR/upper" "$CT_DIR/work" "$CT_DIR/root"
	if ! mount -t overlay overlay -o "lowerdir=$CT_TREE,upperdir=$CT_DIR/upper,workdir=$CT_DIR/work" \
	    "$CT_DIR/root" 2>"$TB_TMP/overlay.err"; then
		note "no overlayfs ($(cat "$TB_TMP/overlay.err")): copying the tree"
		cp -a --reflink=auto "$CT_TREE/." "$CT_DIR/root/" ||
		    hard_error "cannot copy $CT_TREE"
	fi
	_t0=$(now_ms)
	systemd-nspawn --keep-unit --register=no --console=read-only \
	    -M "tb$(basename "$CT_DIR" | tr -dc 'A-Za-z0-9' | cut -c1-12)" \
	    -D "$CT_DIR/root" -b </dev/null >"$TB_TMP/nspawn.log" 2>&1 &
	CT_NSPAWN=$!
	TB_LOGS="$TB_LOGS $TB_TMP/nspawn.log"
	_end=$(($(now_ms) + 30000))
	while [ -z "$CT_PID" ]; do
		if ! _tb_alive "$CT_NSPAWN"; then
			tail -n 20 "$TB_TMP/nspawn.log" >&2
			skip "systemd-nspawn cannot boot a container here"
		fi
		[ "$(now_ms)" -lt "$_end" ] || hard_error "no init in the container after 30s"
		for _c in $(cat "/proc/$CT_NSPAWN/task/$CT_NSPAWN/children" 2>/dev/null); do
			[ "$(cat "/proc/$_c/comm" 2>/dev/null)" = systemd ] && CT_PID=$_c
		done
		[ -n "$CT_PID" ] || sleep 0.05
	done
	# until its manager's bus is up, systemctl says "offline" (or nothing)
	_st=offline
	while [ "$_st" = offline ] || [ -z "$_st" ]; do
		_st=$(timeout 120 nsenter -t "$CT_PID" -a systemctl \
		    is-system-running --wait 2>/dev/null) || true
		case $_st in
		offline|'')
			[ "$(now_ms)" -lt "$_end" ] ||
			    hard_error "no systemd manager in the container after 30s"
			sleep 0.1 ;;
		esac
	done
	if [ "$_st" != running ]; then
		hard_error "the container's systemd is '$_st', not running:" \
		    "$(ct systemctl --failed --no-legend 2>&1)"
	fi
	note "container booted to '$_st' in $(($(now_ms) - _t0)) ms" \
	    "($(ct systemctl --version | head -n 1))"
}

# Powers the container off (bounded, then SIGKILL) and removes its tree.
_ct_cleanup()
{
	if [ -n "$CT_NSPAWN" ]; then
		if [ "$1" -ne 0 ] && [ "$1" -ne 77 ] && [ -n "$CT_PID" ]; then
			ct journalctl --no-pager -o short-monotonic -u tlsbroker \
			    >"$TB_TMP/ct-journal.log" 2>&1
			ct systemctl status --no-pager tlsbroker \
			    >"$TB_TMP/ct-status.log" 2>&1
			TB_LOGS="$TB_LOGS $TB_TMP/ct-status.log $TB_TMP/ct-journal.log"
		fi
		kill -TERM "$CT_NSPAWN" 2>/dev/null
		if ! wait_exit "$CT_NSPAWN" 60; then
			kill -KILL "$CT_NSPAWN" 2>/dev/null
			wait_exit "$CT_NSPAWN" 10
		fi
		CT_NSPAWN=""
	fi
	if [ -n "$CT_DIR" ]; then
		mountpoint -q "$CT_DIR/root" && umount "$CT_DIR/root"
		if mountpoint -q "$CT_DIR/root"; then
			printf '%s: %s is still mounted\n' "$TB_NAME" "$CT_DIR/root" >&2
		else
			rm -rf "$CT_DIR"
		fi
		CT_DIR=""
	fi
}

# The container goes before lib.sh's cleanup (which gets the exit status).
trap '_ct_rc=$?; set +e; _ct_cleanup "$_ct_rc"; (exit "$_ct_rc"); _tb_cleanup' EXIT
