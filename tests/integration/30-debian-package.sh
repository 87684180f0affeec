#!/bin/sh
# SPDX-License-Identifier: MIT
#
# The Debian package (debian/, debhelper compat 13, dh with autotools):
#   - `dpkg-buildpackage -us -uc -b` builds tlsbroker_*.deb from a copy of
#     the tree (tests/integration/debian.sh: cached per tree, shared with
#     31-systemd-container.sh), ran the unit tests and not the integration
#     suite, and left nothing in the checkout's debian/;
#   - lintian (pedantic) reports no error and no warning, and every
#     override in debian/ says why above it;
#   - the package holds the binary, both man pages, the unit, the
#     sysusers.d user, the deploy hook, the logrotate snippet and the
#     example configuration, and exactly those two files in /etc are its
#     conffiles, byte for byte conf/'s;
#   - the unit runs /usr/sbin/tlsbroker as the system user tlsbroker, with
#     the configuration test before start and reload;
#   - it links Debian's OpenSSL (no private one, no RUNPATH) and depends on
#     what its unit and scripts run (procps for /bin/kill, systemd-sysusers);
#   - the example configuration does not pass `tlsbroker -t` (it names a
#     certificate nobody has made yet), which is why the package neither
#     enables nor starts the service (31-systemd-container.sh checks that).
# Skips (77) without the Debian build tools or outside a git checkout.

. "$(dirname "$0")/lib.sh"
. "$TB_SRC/debian.sh"

need_cmd lintian dpkg-deb readelf
deb_build
note "package: $(basename "$DEB")"

# ---- built from a copy ------------------------------------------------------------

for _p in debian/tlsbroker debian/tmp debian/.debhelper debian/files \
    debian/debhelper-build-stamp debian/tlsbroker.substvars \
    debian/tlsbroker.debhelper.log debian/autoreconf.before \
    debian/autoreconf.after; do
	[ ! -e "$TOP/$_p" ] && [ ! -L "$TOP/$_p" ] ||
	    fail "the checkout has $_p: a build ran in the source tree"
done
grep -q '^PASS: tests/unit/check_conf$' "$DEB_BUILD_LOG" ||
    fail "dh_auto_test did not run the unit tests (see $DEB_BUILD_LOG)"
! grep -q '^[A-Z]*: tests/integration/' "$DEB_BUILD_LOG" ||
    fail "the package build ran integration tests"

# ---- lintian --------------------------------------------------------------------------

_rc=0
lintian --pedantic --display-info --fail-on error,warning "$DEB_CHANGES" \
    >"$TB_TMP/lintian.txt" 2>"$TB_TMP/lintian.err" || _rc=$?
TB_LOGS="$TB_LOGS $TB_TMP/lintian.txt $TB_TMP/lintian.err"
grep -v 'running with root privileges' "$TB_TMP/lintian.err" >&2 || true
[ "$_rc" -eq 0 ] || fail "lintian (exit $_rc): $(grep -E '^[EW]:' "$TB_TMP/lintian.txt")"
! grep -q -E '^[EW]:' "$TB_TMP/lintian.txt" ||
    fail "lintian errors or warnings: $(grep -E '^[EW]:' "$TB_TMP/lintian.txt")"
note "lintian: no errors, no warnings; other tags: $(grep -c . "$TB_TMP/lintian.txt")"
sed 's/^/  lintian: /' "$TB_TMP/lintian.txt"
# an override without a comment above it is a warning nobody justified
for _o in "$TOP"/debian/*lintian-overrides "$TOP"/debian/source/lintian-overrides; do
	[ -f "$_o" ] || continue
	awk -v f="$_o" '
		/^#/ { c = 1; next }
		/^[[:space:]]*$/ { c = 0; next }
		!c { print f ": override without a reason: " $0; bad = 1 }
		END { exit bad }' "$_o" || fail "unexplained lintian override in $_o"
done

# ---- what is in it ---------------------------------------------------------------------

dpkg-deb -c "$DEB" | awk '{ print $1, $NF }' | sed 's| \./| /|' >"$TB_TMP/contents"
TB_LOGS="$TB_LOGS $TB_TMP/contents"
# has MODE PATH
has()
{
	grep -q -x -F -- "$1 $2" "$TB_TMP/contents" ||
	    fail "the package has no $2 with mode $1: $(grep -F -- "$2" "$TB_TMP/contents")"
}
has -rwxr-xr-x /usr/sbin/tlsbroker
has -rw-r--r-- /usr/share/man/man8/tlsbroker.8.gz
has -rw-r--r-- /usr/share/man/man5/tlsbroker.ini.5.gz
has -rw-r--r-- /lib/systemd/system/tlsbroker.service
has -rw-r--r-- /usr/lib/sysusers.d/tlsbroker.conf
has -rwxr-xr-x /usr/libexec/tlsbroker/deploy-hook
has -rw-r--r-- /etc/logrotate.d/tlsbroker
has -rw-r--r-- /etc/tlsbroker/tlsbroker.ini
has -rw-r--r-- /usr/share/doc/tlsbroker/README.Debian
has -rw-r--r-- /usr/share/doc/tlsbroker/copyright

mkdir "$TB_TMP/ctrl" "$TB_TMP/x"
dpkg-deb -e "$DEB" "$TB_TMP/ctrl"
dpkg-deb -x "$DEB" "$TB_TMP/x"
assert_eq "/etc/logrotate.d/tlsbroker
/etc/tlsbroker/tlsbroker.ini" "$(sort "$TB_TMP/ctrl/conffiles")" "conffiles"
cmp -s "$TOP/conf/tlsbroker.ini" "$TB_TMP/x/etc/tlsbroker/tlsbroker.ini" ||
    fail "the packaged tlsbroker.ini is not conf/tlsbroker.ini"
cmp -s "$TOP/conf/tlsbroker.logrotate" "$TB_TMP/x/etc/logrotate.d/tlsbroker" ||
    fail "the packaged logrotate snippet is not conf/tlsbroker.logrotate"
cmp -s "$TOP/systemd/tlsbroker.sysusers" "$TB_TMP/x/usr/lib/sysusers.d/tlsbroker.conf" ||
    fail "the packaged sysusers.d file is not systemd/tlsbroker.sysusers"

_unit="$TB_TMP/x/lib/systemd/system/tlsbroker.service"
for _l in 'User=tlsbroker' 'Group=tlsbroker' \
    'ExecStartPre=/usr/sbin/tlsbroker -t -c /etc/tlsbroker/tlsbroker.ini' \
    'ExecStart=/usr/sbin/tlsbroker -c /etc/tlsbroker/tlsbroker.ini' \
    'ExecReload=/usr/sbin/tlsbroker -t -c /etc/tlsbroker/tlsbroker.ini' \
    'ExecReload=/bin/kill -HUP $MAINPID'; do
	assert_file_line "$_unit" "$_l"
done
! grep -q '^DynamicUser=yes' "$_unit" || fail "the unit still has DynamicUser=yes"

# ---- what it links and needs ----------------------------------------------------------

_dep=$(dpkg-deb -f "$DEB" Depends)
note "Depends: $_dep"
for _d in libssl3 libevent-2.1-7 libinih1 libsystemd0 \
    procps 'systemd | systemd-standalone-sysusers'; do
	assert_contains ", $_dep," " $_d" "Depends"
done
assert_not_contains ", $_dep," "libevent-openssl" "Depends (sockio took the place of bufferevent_openssl)"
_dyn=$(readelf -d "$TB_TMP/x/usr/sbin/tlsbroker")
assert_not_contains "$_dyn" "RUNPATH" "the packaged binary's dynamic section"
assert_not_contains "$_dyn" "RPATH" "the packaged binary's dynamic section"

# ---- the example does not run as it is ------------------------------------------------

need_broker
[ ! -e /etc/tlsbroker/tls/broker.pem ] ||
    skip "this machine has /etc/tlsbroker/tls/broker.pem: the example would load"
broker_check "$TB_TMP/x/etc/tlsbroker/tlsbroker.ini"
assert_eq 1 "$CHECK_RC" "tlsbroker -t on the packaged example"
assert_contains "$(cat "$CHECK_ERR")" "/etc/tlsbroker/tls/broker.pem" "tlsbroker -t error"
