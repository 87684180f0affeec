# SPDX-License-Identifier: MIT
#
# The ERP's .NET client for the integration tests (36-39), sourced after
# lib.sh.  Owns compiling ErpClient.cs with Mono's mcs at test time, the
# private Mono trust store that makes the test CA a root for it (as a
# public root is for the ERP), the RSA certificates Mono's managed X509
# code needs where it touches keys itself (client certificates: it cannot
# decode EC keys), and the erpc runner.  Skips (77) when Mono is missing;
# ./quickstart test installs it (mono-mcs, mono-runtime,
# libmono-system-net-http4.0-cil).
# shellcheck disable=SC2034 # ERPC_OUT / ERPC_RC are for callers

TB_DOTNET=$(cd "$TB_SRC/../dotnet" && pwd)
MONO_HOME="$TB_TMP/monohome"
ERPC_EXE="$TB_TMP/ErpClient.exe"

# need_mono: skip unless mcs, mono and System.Net.Http are installed, then
# compile the client (once per test).
need_mono()
{
	need_cmd mcs mono
	[ -f "$ERPC_EXE" ] && return 0
	mcs -nologo -out:"$ERPC_EXE" -r:System.dll -r:System.Net.Http.dll \
	    "$TB_DOTNET/ErpClient.cs" >"$TB_TMP/mcs.log" 2>&1 || {
		grep -q 'System.Net.Http' "$TB_TMP/mcs.log" &&
		    skip "Mono's System.Net.Http is missing (libmono-system-net-http4.0-cil)"
		hard_error "mcs failed: $(tail -n 5 "$TB_TMP/mcs.log")"
	}
	TB_LOGS="$TB_LOGS $TB_TMP/mcs.log"
}

# mono_trust PEM...: these CA certificates become roots of Mono's store
# for erpc only: $MONO_HOME/.config/.mono/new-certs/Trust/HASH.0, the
# hashed PEM directory Mono's BoringSSL reads (what cert-sync --user
# writes), so Mono verifies chain and name itself.
mono_trust()
{
	_dn_store="$MONO_HOME/.config/.mono/new-certs/Trust"
	mkdir -p "$_dn_store"
	for _dn_ca in "$@"; do
		_dn_h=$(openssl x509 -hash -noout -in "$_dn_ca") ||
		    hard_error "mono_trust: $_dn_ca is not a certificate"
		cp "$_dn_ca" "$_dn_store/$_dn_h.0"
	done
}

# erpc CMD TARGET ARGS...: runs ErpClient; its stdout in ERPC_OUT, exit
# status in ERPC_RC, stderr in $TB_TMP/erpc.err.  Bounded by ERPC_TIMEOUT
# seconds (default 60).
erpc()
{
	need_mono
	ERPC_RC=0
	ERPC_OUT=$(HOME="$MONO_HOME" timeout "${ERPC_TIMEOUT:-60}" mono "$ERPC_EXE" \
	    "$@" 2>"$TB_TMP/erpc.err") || ERPC_RC=$?
}

# erpc_ok CMD TARGET ARGS...: erpc that must exit 0 (every call as wanted).
erpc_ok()
{
	erpc "$@"
	[ "$ERPC_RC" = 0 ] || fail "ErpClient $* exited $ERPC_RC: $ERPC_OUT" \
	    "$(tail -n 20 "$TB_TMP/erpc.err")"
}

# erpc_last KEY: a field of ErpClient's summary (last) line.
erpc_last()
{
	jget "$ERPC_OUT" "$1"
}

# make_rsa_pki: next to make_pki's (EC) test CA, RSA ones for the
# certificates Mono handles keys of, and PKCS#12 files it can import
# (3DES and SHA-1 MAC: Mono's BoringSSL cannot read OpenSSL 3's default
# AES/PBKDF2 ones):
#   rsaca.pem              RSA test CA (a second root)
#   rsabroker-full.pem     RSA leaf for broker.test, 127.0.0.1, from rsaca
#   erpca.pem, otherca.pem two client CAs
#   erp.pfx, other.pfx     client certificates from erpca / otherca
make_rsa_pki()
{
	make_pki
	[ -f "$PKI/rsa.done" ] && return 0
	for _dn_ca in rsaca erpca otherca; do
		_tb_ossl req -x509 -newkey rsa:2048 -nodes -keyout "$PKI/$_dn_ca.key" \
		    -out "$PKI/$_dn_ca.pem" -days 30 -subj "/CN=tlsbroker test $_dn_ca" \
		    -addext "basicConstraints=critical,CA:TRUE" \
		    -addext "keyUsage=critical,keyCertSign,cRLSign"
	done
	_tb_leaf rsabroker rsaca rsa:2048 broker.test \
	    "DNS:broker.test,DNS:*.broker.test,IP:127.0.0.1" serverAuth
	_tb_leaf erpclient erpca rsa:2048 erp-aos "DNS:erp-aos" clientAuth
	_tb_leaf otherclient otherca rsa:2048 other-tenant "DNS:other-tenant" clientAuth
	for _dn_c in erp:erpclient other:otherclient; do
		_tb_ossl pkcs12 -export -in "$PKI/${_dn_c#*:}.pem" \
		    -inkey "$PKI/${_dn_c#*:}.key" -out "$PKI/${_dn_c%%:*}.pfx" \
		    -passout pass: -keypbe PBE-SHA1-3DES -certpbe PBE-SHA1-3DES \
		    -macalg sha1
	done
	: >"$PKI/rsa.done"
}
