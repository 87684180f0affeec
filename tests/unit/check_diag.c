/* SPDX-License-Identifier: MIT */
/*
 * check_diag: close-reason strings and hints, and the classifiers fed
 * with the raw signals legacy endpoints were seen to produce (errno
 * values, OpenSSL reason codes, alerts, verify results, pin mismatch,
 * EOF).
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include "diag.h"

#define SSLERR(r)	ERR_PACK(ERR_LIB_SSL, 0, (r))
#define SYSERR(e)	((unsigned long)ERR_SYSTEM_FLAG | (unsigned long)(e))

/* Every code, in the enum's order. */
static const char *const spec_codes[] = {
	"ok", "client_tls_version", "client_tls_failed", "client_denied",
	"client_proxy", "client_closed", "client_reset", "client_timeout", "bad_request",
	"no_route", "upstream_dns", "upstream_refused", "upstream_unreachable",
	"upstream_connect_timeout", "upstream_reset", "upstream_tls_alert",
	"upstream_tls_version", "upstream_tls_cipher", "upstream_tls_failed",
	"upstream_legacy_renegotiation", "upstream_cert", "upstream_timeout",
	"upstream_closed", "upstream_bad_response", "proxy_refused", "proxy_auth",
	"proxy_forbidden", "proxy_bad_gateway", "proxy_timeout", "proxy_bad_answer",
	"upstream_body_unread", "upstream_unacked", "idle_timeout", "shutdown",
	"internal", "broker_fd_limit", "upstream_down", "upstream_busy",
	"upstream_queue_timeout",
};

static const char *const spec_phases[] = {
	"", "accept", "client_handshake", "route", "dns", "connect",
	"handshake", "request", "response", "exchange",
};

/*
 * A case's raw signals.  Zero means "none" for every field, so alerts are
 * stored plus one (A(0) is close_notify) and offered defaults to
 * "1.2-1.3"; failure() turns them into a struct tls_failure.
 */
#define A(n)	((n) + 1)

struct signals {
	unsigned long ssl_err;
	int sys_errno;
	bool eof;
	int alert_recv;		/* A(alert), 0 = none */
	int alert_sent;		/* A(alert), 0 = none */
	long verify_result;
	bool pin_mismatch;
	const char *offered;
};

static struct tls_failure
failure(const struct signals *s)
{
	struct tls_failure f;

	f.ssl_err = s->ssl_err;
	f.sys_errno = s->sys_errno;
	f.eof = s->eof;
	f.alert_recv = s->alert_recv - 1;
	f.alert_sent = s->alert_sent - 1;
	f.verify_result = s->verify_result;
	f.pin_mismatch = s->pin_mismatch;
	f.offered = s->offered != NULL ? s->offered : "1.2-1.3";
	return f;
}

static const struct {
	const char *name;
	struct signals in;
	enum close_reason code;
	enum diag_cause cause;
	const char *alert;	/* expected err.alert */
	const char *msg;	/* substring of err.msg */
	const char *hint;	/* substring of diag_hint() */
} up_cases[] = {
	{ "d1/d2 no RFC 5746",
	    { .ssl_err = SSLERR(SSL_R_UNSAFE_LEGACY_RENEGOTIATION_DISABLED) },
	    CR_UPSTREAM_LEGACY_RENEGOTIATION, DIAG_CAUSE_NONE, "",
	    "unsafe legacy renegotiation disabled",
	    "upstream_legacy_renegotiation = yes" },
	{ "a/b legacy sigalg",
	    { .ssl_err = SSLERR(SSL_R_LEGACY_SIGALG_DISALLOWED_OR_UNSUPPORTED) },
	    CR_UPSTREAM_TLS_FAILED, DIAG_CAUSE_LEGACY_SIGALG, "",
	    "legacy sigalg disallowed or unsupported",
	    "upstream_security_level = 0" },
	{ "e1/e2 DHE-1024",
	    { .ssl_err = SSLERR(SSL_R_DH_KEY_TOO_SMALL) },
	    CR_UPSTREAM_TLS_FAILED, DIAG_CAUSE_DH_TOO_SMALL, "",
	    "dh key too small", "upstream_security_level = 0" },
	{ "ee key too small (ssl)",
	    { .ssl_err = SSLERR(SSL_R_EE_KEY_TOO_SMALL) },
	    CR_UPSTREAM_TLS_FAILED, DIAG_CAUSE_WEAK_CERT, "",
	    "ee key too small", "upstream_security_level = 0" },
	{ "ca md too weak (ssl)",
	    { .ssl_err = SSLERR(SSL_R_CA_MD_TOO_WEAK) },
	    CR_UPSTREAM_TLS_FAILED, DIAG_CAUSE_WEAK_CERT, "",
	    "ca md too weak", "upstream_security_level = 0" },
	{ "e3 RSA-1024 leaf",
	    { .ssl_err = SSLERR(SSL_R_CERTIFICATE_VERIFY_FAILED),
	    .verify_result = X509_V_ERR_EE_KEY_TOO_SMALL },
	    CR_UPSTREAM_CERT, DIAG_CAUSE_WEAK_CERT, "",
	    "EE certificate key too weak", "upstream_security_level = 0" },
	{ "e3 at level 1: SHA-1 CA signature",
	    { .ssl_err = SSLERR(SSL_R_CERTIFICATE_VERIFY_FAILED),
	    .verify_result = X509_V_ERR_CA_MD_TOO_WEAK },
	    CR_UPSTREAM_CERT, DIAG_CAUSE_WEAK_CERT, "",
	    "CA signature digest algorithm too weak",
	    "upstream_security_level = 0" },
	{ "f self-signed",
	    { .ssl_err = SSLERR(SSL_R_CERTIFICATE_VERIFY_FAILED),
	    .verify_result = X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT },
	    CR_UPSTREAM_CERT, DIAG_CAUSE_CERT_UNTRUSTED, "",
	    "self-signed certificate", "upstream_verify = pin" },
	{ "f expired",
	    { .ssl_err = SSLERR(SSL_R_CERTIFICATE_VERIFY_FAILED),
	    .verify_result = X509_V_ERR_CERT_HAS_EXPIRED },
	    CR_UPSTREAM_CERT, DIAG_CAUSE_CERT_EXPIRED, "",
	    "certificate has expired", "upstream_pin" },
	{ "unknown issuer",
	    { .ssl_err = SSLERR(SSL_R_CERTIFICATE_VERIFY_FAILED),
	    .verify_result = X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY },
	    CR_UPSTREAM_CERT, DIAG_CAUSE_CERT_UNTRUSTED, "",
	    "unable to get local issuer certificate", "upstream_ca" },
	{ "host name mismatch",
	    { .ssl_err = SSLERR(SSL_R_CERTIFICATE_VERIFY_FAILED),
	    .verify_result = X509_V_ERR_HOSTNAME_MISMATCH },
	    CR_UPSTREAM_CERT, DIAG_CAUSE_CERT_NAME, "",
	    "hostname mismatch", "upstream = HOST:PORT" },
	{ "verify failed without a result",
	    { .ssl_err = SSLERR(SSL_R_CERTIFICATE_VERIFY_FAILED) },
	    CR_UPSTREAM_CERT, DIAG_CAUSE_NONE, "",
	    "certificate verify failed", "upstream_ca" },
	{ "verify result alone",
	    { .verify_result = X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY },
	    CR_UPSTREAM_CERT, DIAG_CAUSE_CERT_UNTRUSTED, "",
	    "unable to get local issuer certificate", "upstream_ca" },
	{ "pin mismatch",
	    { .pin_mismatch = true },
	    CR_UPSTREAM_CERT, DIAG_CAUSE_PIN_MISMATCH, "",
	    "pin mismatch", "upstream_pin" },
	{ "pin mismatch wins over a chain error",
	    { .pin_mismatch = true,
	    .ssl_err = SSLERR(SSL_R_CERTIFICATE_VERIFY_FAILED),
	    .verify_result = X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT },
	    CR_UPSTREAM_CERT, DIAG_CAUSE_PIN_MISMATCH, "",
	    "pin mismatch", "upstream_pin" },
	{ "server version below our floor",
	    { .ssl_err = SSLERR(SSL_R_UNSUPPORTED_PROTOCOL) },
	    CR_UPSTREAM_TLS_VERSION, DIAG_CAUSE_NONE, "",
	    "unsupported protocol; we offered TLS 1.2-1.3", "upstream_tls" },
	{ "no protocols available",
	    { .ssl_err = SSLERR(SSL_R_NO_PROTOCOLS_AVAILABLE),
	    .offered = "1.0" },
	    CR_UPSTREAM_TLS_VERSION, DIAG_CAUSE_NONE, "",
	    "no protocols available; we offered TLS 1.0", "upstream_tls" },
	{ "h3 pinned to 1.0: alert 70 queued",
	    { .ssl_err = SSLERR(SSL_R_TLSV1_ALERT_PROTOCOL_VERSION),
	    .offered = "1.0" },
	    CR_UPSTREAM_TLS_VERSION, DIAG_CAUSE_NONE, "protocol_version",
	    "we offered TLS 1.0", "upstream_tls" },
	{ "alert 70 from the callback only",
	    { .alert_recv = A(70), .offered = "1.0" },
	    CR_UPSTREAM_TLS_VERSION, DIAG_CAUSE_NONE, "protocol_version",
	    "we offered TLS 1.0", "upstream_tls" },
	{ "no shared cipher",
	    { .ssl_err = SSLERR(SSL_R_NO_SHARED_CIPHER) },
	    CR_UPSTREAM_TLS_CIPHER, DIAG_CAUSE_NONE, "",
	    "no shared cipher", "upstream_ciphers" },
	{ "no ciphers available",
	    { .ssl_err = SSLERR(SSL_R_NO_CIPHERS_AVAILABLE) },
	    CR_UPSTREAM_TLS_CIPHER, DIAG_CAUSE_NONE, "",
	    "no ciphers available", "upstream_ciphers" },
	/* Ambiguous (cipher, version or client cert): stays an alert. */
	{ "handshake_failure queued",
	    { .ssl_err = SSLERR(SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE) },
	    CR_UPSTREAM_TLS_ALERT, DIAG_CAUSE_NONE, "handshake_failure",
	    "sslv3 alert handshake failure", "upstream_ciphers" },
	{ "handshake_failure from the callback",
	    { .alert_recv = A(40) },
	    CR_UPSTREAM_TLS_ALERT, DIAG_CAUSE_NONE, "handshake_failure",
	    "alert handshake_failure (40)", "upstream_tls" },
	{ "internal_error alert",
	    { .ssl_err = SSLERR(SSL_R_TLSV1_ALERT_INTERNAL_ERROR) },
	    CR_UPSTREAM_TLS_ALERT, DIAG_CAUSE_NONE, "internal_error",
	    "internal error", "upstream_tls = 1.0" },
	{ "unrecognized_name alert",
	    { .alert_recv = A(112) },
	    CR_UPSTREAM_TLS_ALERT, DIAG_CAUSE_NONE, "unrecognized_name",
	    "unrecognized_name", "upstream_sni" },
	{ "certificate_required alert",
	    { .alert_recv = A(116) },
	    CR_UPSTREAM_TLS_ALERT, DIAG_CAUSE_NONE, "certificate_required",
	    "certificate_required", "upstream_cert" },
	{ "unknown alert number",
	    { .alert_recv = A(201) },
	    CR_UPSTREAM_TLS_ALERT, DIAG_CAUSE_NONE, "alert_201",
	    "(201)", "tlsbroker probe" },
	{ "h1/h5 RST after ClientHello",
	    { .sys_errno = ECONNRESET },
	    CR_UPSTREAM_RESET, DIAG_CAUSE_NONE, "",
	    "connection reset by peer during TLS handshake",
	    "upstream_tls = 1.0" },
	{ "RST as a queued system error",
	    { .ssl_err = SYSERR(ECONNRESET) },
	    CR_UPSTREAM_RESET, DIAG_CAUSE_NONE, "",
	    "connection reset by peer during TLS handshake",
	    "reset the connection after our ClientHello" },
	{ "EPIPE on our ClientHello",
	    { .sys_errno = EPIPE },
	    CR_UPSTREAM_RESET, DIAG_CAUSE_NONE, "",
	    "reset", "upstream_ciphers = DEFAULT:@SECLEVEL=0" },
	{ "c1/r GnuTLS drops TCP (OpenSSL 3 reason)",
	    { .ssl_err = SSLERR(SSL_R_UNEXPECTED_EOF_WHILE_READING) },
	    CR_UPSTREAM_RESET, DIAG_CAUSE_EOF, "",
	    "(no alert): unexpected eof while reading",
	    "without an alert" },
	{ "EOF flag only",
	    { .eof = true },
	    CR_UPSTREAM_RESET, DIAG_CAUSE_EOF, "",
	    "endpoint closed the connection during TLS handshake (no alert)",
	    "upstream_tls = 1.0" },
	{ "pin mode: stale chain error, then EOF",
	    { .eof = true,
	    .verify_result = X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT },
	    CR_UPSTREAM_RESET, DIAG_CAUSE_EOF, "", "(no alert)",
	    "protocol version or ciphers" },
	{ "plain HTTP endpoint",
	    { .ssl_err = SSLERR(SSL_R_WRONG_VERSION_NUMBER) },
	    CR_UPSTREAM_TLS_FAILED, DIAG_CAUSE_NOT_TLS, "",
	    "wrong version number", "upstream_tls = off" },
	{ "handshake timed out in the kernel",
	    { .sys_errno = ETIMEDOUT },
	    CR_UPSTREAM_TIMEOUT, DIAG_CAUSE_NONE, "",
	    "TLS handshake: Connection timed out", "handshake_timeout" },
	{ "other errno",
	    { .sys_errno = ENETDOWN },
	    CR_UPSTREAM_TLS_FAILED, DIAG_CAUSE_NONE, "",
	    "Network is down", "tlsbroker probe" },
	{ "other OpenSSL reason",
	    { .ssl_err = SSLERR(SSL_R_BAD_DH_VALUE) },
	    CR_UPSTREAM_TLS_FAILED, DIAG_CAUSE_NONE, "",
	    "TLS handshake failed: bad dh value", "tlsbroker probe" },
	{ "we sent an alert, nothing queued",
	    { .alert_sent = A(80) },
	    CR_UPSTREAM_TLS_FAILED, DIAG_CAUSE_NONE, "",
	    "we sent alert internal_error", "tlsbroker probe" },
	{ "no signal at all",
	    { 0 },
	    CR_UPSTREAM_TLS_FAILED, DIAG_CAUSE_NONE, "",
	    "no error reported", "tlsbroker probe" },
};

START_TEST(test_upstream_tls_table)
{
	struct tb_err err;

	struct tls_failure f = failure(&up_cases[_i].in);

	memset(&err, 0xa5, sizeof(err));	/* every field must be set */
	diag_from_upstream_tls(&err, &f);
	ck_assert_msg(err.code == up_cases[_i].code, "%s: code %s, want %s",
	    up_cases[_i].name, close_reason_str(err.code),
	    close_reason_str(up_cases[_i].code));
	ck_assert_msg(err.phase == PHASE_HANDSHAKE, "%s: phase %s",
	    up_cases[_i].name, diag_phase_str(err.phase));
	ck_assert_msg(err.cause == up_cases[_i].cause, "%s: cause %d, want %d",
	    up_cases[_i].name, err.cause, up_cases[_i].cause);
	ck_assert_msg(strcmp(err.alert, up_cases[_i].alert) == 0,
	    "%s: alert '%s', want '%s'", up_cases[_i].name, err.alert,
	    up_cases[_i].alert);
	ck_assert_msg(strstr(err.msg, up_cases[_i].msg) != NULL,
	    "%s: msg '%s' lacks '%s'", up_cases[_i].name, err.msg,
	    up_cases[_i].msg);
	ck_assert_msg(strstr(diag_hint(&err), up_cases[_i].hint) != NULL,
	    "%s: hint '%s' lacks '%s'", up_cases[_i].name, diag_hint(&err),
	    up_cases[_i].hint);
}
END_TEST

static const struct {
	int err;
	enum close_reason code;
	const char *msg;
} connect_cases[] = {
	{ ECONNREFUSED, CR_UPSTREAM_REFUSED, "connect 127.0.0.1:4433: Connection refused" },
	{ EHOSTUNREACH, CR_UPSTREAM_UNREACHABLE, "No route to host" },
	{ ENETUNREACH, CR_UPSTREAM_UNREACHABLE, "Network is unreachable" },
	{ EADDRNOTAVAIL, CR_UPSTREAM_UNREACHABLE, "Cannot assign requested address" },
	{ ETIMEDOUT, CR_UPSTREAM_CONNECT_TIMEOUT, "Connection timed out" },
	{ ECONNRESET, CR_UPSTREAM_RESET, "Connection reset by peer" },
	{ EACCES, CR_UPSTREAM_UNREACHABLE, "connect 127.0.0.1:4433: Permission denied" },
	/* the broker's own limit, not the network's */
	{ EMFILE, CR_BROKER_FD_LIMIT, "Too many open files" },
	{ ENFILE, CR_BROKER_FD_LIMIT, "Too many open files in system" },
};

START_TEST(test_connect_errno)
{
	struct tb_err err;

	diag_from_connect_errno(&err, connect_cases[_i].err, "127.0.0.1:4433");
	ck_assert_str_eq(close_reason_str(err.code),
	    close_reason_str(connect_cases[_i].code));
	ck_assert_int_eq(err.phase, PHASE_CONNECT);
	ck_assert_msg(strstr(err.msg, connect_cases[_i].msg) != NULL,
	    "msg '%s' lacks '%s'", err.msg, connect_cases[_i].msg);
	ck_assert_msg(strncmp(err.msg, "connect 127.0.0.1:4433: ", 24) == 0,
	    "msg '%s'", err.msg);
	ck_assert_str_ne(diag_hint(&err), "");
}
END_TEST

START_TEST(test_connect_hints)
{
	struct tb_err err;

	diag_from_connect_errno(&err, ETIMEDOUT, "10.1.2.3:443");
	ck_assert_ptr_nonnull(strstr(diag_hint(&err), "connect_timeout"));
	diag_from_connect_errno(&err, ECONNREFUSED, "10.1.2.3:443");
	ck_assert_ptr_nonnull(strstr(diag_hint(&err), "upstream ="));
	diag_from_connect_errno(&err, EMFILE, "10.1.2.3:443");
	ck_assert_ptr_nonnull(strstr(diag_hint(&err), "LimitNOFILE"));
	ck_assert_ptr_nonnull(strstr(diag_hint(&err), "max_connections"));
	ck_assert_ptr_null(strstr(diag_hint(&err), "firewall"));
}
END_TEST

START_TEST(test_client_errno)
{
	struct tb_err err;

	diag_from_client_errno(&err, 0, PHASE_REQUEST);
	ck_assert_int_eq(err.code, CR_CLIENT_CLOSED);
	ck_assert_int_eq(err.phase, PHASE_REQUEST);
	diag_from_client_errno(&err, ECONNRESET, PHASE_EXCHANGE);
	ck_assert_int_eq(err.code, CR_CLIENT_RESET);
	ck_assert_int_eq(err.phase, PHASE_EXCHANGE);
	ck_assert_ptr_nonnull(strstr(err.msg, "Connection reset by peer"));
	diag_from_client_errno(&err, EPIPE, PHASE_RESPONSE);
	ck_assert_int_eq(err.code, CR_CLIENT_RESET);
	diag_from_client_errno(&err, ETIMEDOUT, PHASE_CLIENT_HANDSHAKE);
	ck_assert_int_eq(err.code, CR_CLIENT_TIMEOUT);
	ck_assert_int_eq(err.phase, PHASE_CLIENT_HANDSHAKE);
	ck_assert_ptr_nonnull(strstr(diag_hint(&err), "handshake_timeout"));
}
END_TEST

/* Classifies an inbound failure given as signals. */
static void
client_tls(struct tb_err *err, struct signals in)
{
	struct tls_failure f = failure(&in);

	f.offered = in.offered;
	diag_from_client_tls(err, &f);
}

START_TEST(test_client_tls)
{
	struct tb_err err;

	client_tls(&err, (struct signals){
	    .ssl_err = SSLERR(SSL_R_UNSUPPORTED_PROTOCOL), .offered = "TLSv1" });
	ck_assert_int_eq(err.code, CR_CLIENT_TLS_VERSION);
	ck_assert_int_eq(err.phase, PHASE_CLIENT_HANDSHAKE);
	ck_assert_str_eq(err.msg, "client offered only TLSv1");
	ck_assert_str_eq(diag_hint(&err), "the client offered only TLSv1; "
	    "this listener requires TLS 1.2 or later");

	/* Without a known offered version the hint still makes sense. */
	client_tls(&err, (struct signals){
	    .ssl_err = SSLERR(SSL_R_VERSION_TOO_LOW) });
	ck_assert_int_eq(err.code, CR_CLIENT_TLS_VERSION);
	ck_assert_ptr_nonnull(strstr(diag_hint(&err), "TLS 1.2 or later"));

	client_tls(&err, (struct signals){
	    .ssl_err = SSLERR(SSL_R_HTTP_REQUEST) });
	ck_assert_int_eq(err.code, CR_CLIENT_TLS_FAILED);
	ck_assert_int_eq(err.cause, DIAG_CAUSE_NOT_TLS);
	ck_assert_ptr_nonnull(strstr(diag_hint(&err), "https://"));

	client_tls(&err, (struct signals){
	    .ssl_err = SSLERR(SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE) });
	ck_assert_int_eq(err.code, CR_CLIENT_TLS_FAILED);
	ck_assert_int_eq(err.cause, DIAG_CAUSE_CLIENT_CERT);
	ck_assert_ptr_nonnull(strstr(diag_hint(&err), "client_ca"));

	client_tls(&err, (struct signals){
	    .ssl_err = SSLERR(SSL_R_NO_SHARED_CIPHER) });
	ck_assert_int_eq(err.cause, DIAG_CAUSE_NO_SHARED_CIPHER);
	ck_assert_ptr_nonnull(strstr(diag_hint(&err), "ciphers ="));

	client_tls(&err, (struct signals){
	    .ssl_err = SSLERR(SSL_R_TLSV1_ALERT_UNKNOWN_CA) });
	ck_assert_int_eq(err.code, CR_CLIENT_TLS_FAILED);
	ck_assert_str_eq(err.alert, "unknown_ca");
	ck_assert_ptr_nonnull(strstr(diag_hint(&err), "trust"));

	/* after the handshake it is the stream that broke, not the handshake */
	tb_err_set(&err, CR_CLIENT_TLS_FAILED, PHASE_REQUEST,
	    "TLS error from the client: wrong version number");
	ck_assert_ptr_nonnull(strstr(diag_hint(&err), "after the handshake"));
	ck_assert_ptr_null(strstr(diag_hint(&err), "trust store"));

	client_tls(&err, (struct signals){ .sys_errno = ECONNRESET });
	ck_assert_int_eq(err.code, CR_CLIENT_RESET);
	ck_assert_int_eq(err.phase, PHASE_CLIENT_HANDSHAKE);

	client_tls(&err, (struct signals){ .eof = true });
	ck_assert_int_eq(err.code, CR_CLIENT_CLOSED);
	ck_assert_int_eq(err.phase, PHASE_CLIENT_HANDSHAKE);
	ck_assert_ptr_nonnull(strstr(diag_hint(&err), "certificate"));
}
END_TEST

START_TEST(test_codes_strings)
{
	enum close_reason back;
	unsigned i, k;

	ck_assert_uint_eq(sizeof(spec_codes) / sizeof(spec_codes[0]), CR__COUNT);
	for (i = 0; i < CR__COUNT; i++) {
		ck_assert_str_eq(close_reason_str((enum close_reason)i),
		    spec_codes[i]);
		ck_assert(close_reason_from_str(spec_codes[i], &back));
		ck_assert_uint_eq(back, i);
		for (k = 0; k < i; k++)
			ck_assert_str_ne(spec_codes[k], spec_codes[i]);
	}
	ck_assert(!close_reason_from_str("bogus", &back));
	ck_assert(!close_reason_from_str("", &back));
	ck_assert(!close_reason_from_str("OK", &back));
	ck_assert(!close_reason_from_str(NULL, &back));
	ck_assert_str_eq(close_reason_str(CR__COUNT), "internal");
}
END_TEST

START_TEST(test_phase_strings)
{
	unsigned i;

	ck_assert_uint_eq(sizeof(spec_phases) / sizeof(spec_phases[0]),
	    PHASE__COUNT);
	for (i = 0; i < PHASE__COUNT; i++)
		ck_assert_str_eq(diag_phase_str((enum diag_phase)i),
		    spec_phases[i]);
	ck_assert_str_eq(diag_phase_str(PHASE__COUNT), "");
}
END_TEST

/* Every code, in every phase and with every cause, has a one-line hint. */
START_TEST(test_every_hint)
{
	struct tb_err err;
	const char *h;
	unsigned c, p, k;

	for (c = 0; c < CR__COUNT; c++) {
		for (p = 0; p < PHASE__COUNT; p++) {
			for (k = 0; k < DIAG_CAUSE__COUNT; k++) {
				tb_err_set(&err, (enum close_reason)c,
				    (enum diag_phase)p, NULL);
				err.cause = (enum diag_cause)k;
				h = diag_hint(&err);
				ck_assert_ptr_nonnull(h);
				if (c == CR_OK) {
					ck_assert_str_eq(h, "");
					continue;
				}
				ck_assert_msg(strlen(h) > 20,
				    "%s/%s: empty hint", spec_codes[c],
				    spec_phases[p]);
				ck_assert_msg(strchr(h, '\n') == NULL,
				    "%s: hint spans lines", spec_codes[c]);
			}
		}
	}
}
END_TEST

START_TEST(test_phase_hints)
{
	struct tb_err err;

	tb_err_set(&err, CR_UPSTREAM_RESET, PHASE_HANDSHAKE, NULL);
	ck_assert_ptr_nonnull(strstr(diag_hint(&err), "after our ClientHello"));
	tb_err_set(&err, CR_UPSTREAM_RESET, PHASE_EXCHANGE, NULL);
	ck_assert_ptr_nonnull(strstr(diag_hint(&err), "established connection"));
	tb_err_set(&err, CR_UPSTREAM_RESET, PHASE_RESPONSE, NULL);
	ck_assert_ptr_nonnull(strstr(diag_hint(&err), "established connection"));
	tb_err_set(&err, CR_UPSTREAM_TIMEOUT, PHASE_HANDSHAKE, NULL);
	ck_assert_ptr_nonnull(strstr(diag_hint(&err), "handshake_timeout"));
	tb_err_set(&err, CR_UPSTREAM_TIMEOUT, PHASE_RESPONSE, NULL);
	ck_assert_ptr_nonnull(strstr(diag_hint(&err), "response_timeout"));
	tb_err_set(&err, CR_UPSTREAM_CONNECT_TIMEOUT, PHASE_CONNECT, NULL);
	ck_assert_ptr_nonnull(strstr(diag_hint(&err), "connect_timeout"));
	tb_err_set(&err, CR_CLIENT_DENIED, PHASE_ACCEPT, NULL);
	ck_assert_ptr_nonnull(strstr(diag_hint(&err), "allow ="));
	tb_err_set(&err, CR_IDLE_TIMEOUT, PHASE_EXCHANGE, NULL);
	ck_assert_ptr_nonnull(strstr(diag_hint(&err), "idle_timeout"));
	tb_err_set(&err, CR_SHUTDOWN, PHASE_EXCHANGE, NULL);
	ck_assert_ptr_nonnull(strstr(diag_hint(&err), "drain_timeout"));
}
END_TEST

START_TEST(test_err_set)
{
	struct tb_err err;

	diag_client_tls_version(&err, "TLSv1.1");
	ck_assert_str_eq(diag_hint(&err), "the client offered only TLSv1.1; "
	    "this listener requires TLS 1.2 or later");
	ck_assert_str_eq(err.msg, "client offered only TLSv1.1");
	/* tb_err_set starts from scratch: no stale alert, cause or hint. */
	snprintf(err.alert, sizeof(err.alert), "handshake_failure");
	err.cause = DIAG_CAUSE_EOF;
	tb_err_set(&err, CR_NO_ROUTE, PHASE_ROUTE, "no route for Host %s", "x.y");
	ck_assert_int_eq(err.code, CR_NO_ROUTE);
	ck_assert_int_eq(err.phase, PHASE_ROUTE);
	ck_assert_str_eq(err.msg, "no route for Host x.y");
	ck_assert_str_eq(err.alert, "");
	ck_assert_ptr_null(err.hint);
	ck_assert_int_eq(err.cause, DIAG_CAUSE_NONE);
	ck_assert_ptr_nonnull(strstr(diag_hint(&err), "[route]"));
	tb_err_set(&err, CR_INTERNAL, PHASE_ACCEPT, NULL);
	ck_assert_str_eq(err.msg, "");
	tb_err_clear(&err);
	ck_assert_int_eq(err.code, CR_OK);
	ck_assert_str_eq(diag_hint(&err), "");
}
END_TEST

START_TEST(test_alert_names)
{
	ck_assert_str_eq(diag_alert_name(0), "close_notify");
	ck_assert_str_eq(diag_alert_name(40), "handshake_failure");
	ck_assert_str_eq(diag_alert_name(70), "protocol_version");
	ck_assert_str_eq(diag_alert_name(80), "internal_error");
	ck_assert_str_eq(diag_alert_name(120), "no_application_protocol");
	ck_assert_ptr_null(diag_alert_name(-1));
	ck_assert_ptr_null(diag_alert_name(255));
}
END_TEST

/*
 * The reason table itself: every row a unique name that reads back, a
 * status of 0 (no answer) or 4xx/5xx that answers only upstream and
 * broker failures, and the levels as the session code logs them.
 */
START_TEST(test_reason_table)
{
	/* routine ends of a session: its close line is info, not a warning */
	static const enum close_reason quiet_close[] = {
		CR_OK, CR_CLIENT_CLOSED, CR_CLIENT_RESET, CR_CLIENT_TIMEOUT, CR_IDLE_TIMEOUT
	};
	/* the client's own fault: a failed request's line is info */
	static const enum close_reason quiet_request[] = {
		CR_BAD_REQUEST, CR_NO_ROUTE, CR_CLIENT_TIMEOUT
	};
	enum close_reason back;
	unsigned c, o, i;
	bool quiet;
	int st;

	for (c = 0; c < CR__COUNT; c++) {
		ck_assert_msg(close_reason_str(c) != NULL && close_reason_str(c)[0] != '\0',
		    "reason %u has no name", c);
		for (o = 0; o < c; o++)
			ck_assert_msg(strcmp(close_reason_str(o), close_reason_str(c)) != 0,
			    "%s twice", close_reason_str(c));
		ck_assert(close_reason_from_str(close_reason_str(c), &back));
		ck_assert_uint_eq(back, c);
		st = diag_http_status(c);
		ck_assert_msg(st == 0 || (st >= 400 && st <= 599), "%s: status %d",
		    close_reason_str(c), st);
		/* a client that left or failed inbound gets no answer */
		if (strncmp(close_reason_str(c), "client_", 7) == 0 || c == CR_OK)
			ck_assert_int_eq(st, 0);
		for (quiet = false, i = 0; i < sizeof(quiet_close) / sizeof(quiet_close[0]); i++)
			quiet |= quiet_close[i] == c;
		ck_assert_msg(diag_close_level(c) == (quiet ? LOG_LVL_INFO : LOG_LVL_WARNING),
		    "%s: close level %d", close_reason_str(c), diag_close_level(c));
		/* ok, client_closed and client_reset never log a failed request */
		if (c == CR_OK || c == CR_CLIENT_CLOSED || c == CR_CLIENT_RESET)
			continue;
		for (quiet = false, i = 0; i < sizeof(quiet_request) / sizeof(quiet_request[0]); i++)
			quiet |= quiet_request[i] == c;
		ck_assert_msg(diag_request_level(c) == (quiet ? LOG_LVL_INFO : LOG_LVL_WARNING),
		    "%s: request level %d", close_reason_str(c), diag_request_level(c));
	}
	ck_assert_str_eq(close_reason_str(CR__COUNT), "internal");
	ck_assert_int_eq(diag_http_status(CR__COUNT), 0);
	ck_assert(!close_reason_from_str("no_such_reason", &back));
}
END_TEST

/*
 * The other columns of the reason table, against the lists the session,
 * metrics and upstream code kept before the table said it: which ends
 * are routine, when the client is gone, which failures are not the
 * address's, and which reasons in which phases mean "not reached".
 */
START_TEST(test_reason_rules)
{
	static const enum diag_phase down_phases[] = {
		PHASE_DNS, PHASE_CONNECT, PHASE_HANDSHAKE
	};
	struct tb_err e;
	unsigned c, p, i;
	bool in_phase;

	for (c = 0; c < CR__COUNT; c++) {
		ck_assert_msg(diag_is_failure(c) ==
		    (c != CR_OK && c != CR_CLIENT_CLOSED && c != CR_IDLE_TIMEOUT),
		    "%s: routine", close_reason_str(c));
		ck_assert_msg(diag_client_gone(c) ==
		    (c == CR_CLIENT_CLOSED || c == CR_CLIENT_RESET),
		    "%s: client gone", close_reason_str(c));
		ck_assert_msg(diag_address_failed(c) == (c != CR_INTERNAL &&
		    c != CR_PROXY_REFUSED && c != CR_PROXY_AUTH && c != CR_PROXY_FORBIDDEN),
		    "%s: address failed", close_reason_str(c));
		for (p = 0; p < PHASE__COUNT; p++) {
			tb_err_set(&e, c, p, NULL);
			for (in_phase = false, i = 0; i < 3; i++)
				in_phase |= down_phases[i] == p;
			ck_assert_msg(diag_unreached(&e) == (in_phase &&
			    c >= CR_UPSTREAM_DNS && c <= CR_UPSTREAM_TIMEOUT),
			    "%s in %s: unreached", close_reason_str(c), diag_phase_str(p));
		}
	}
	/* a connect refused is "down"; the same endpoint answering badly is not */
	tb_err_set(&e, CR_UPSTREAM_REFUSED, PHASE_CONNECT, NULL);
	ck_assert(diag_unreached(&e));
	tb_err_set(&e, CR_UPSTREAM_BAD_RESPONSE, PHASE_RESPONSE, NULL);
	ck_assert(!diag_unreached(&e));
	ck_assert(!diag_address_failed(CR_PROXY_AUTH));
	ck_assert(diag_address_failed(CR_UPSTREAM_UNACKED));
}
END_TEST

START_TEST(test_http_status)
{
	ck_assert_int_eq(diag_http_status(CR_UPSTREAM_CONNECT_TIMEOUT), 504);
	ck_assert_int_eq(diag_http_status(CR_UPSTREAM_TIMEOUT), 504);
	ck_assert_int_eq(diag_http_status(CR_UPSTREAM_BUSY), 503);
	ck_assert_int_eq(diag_http_status(CR_UPSTREAM_QUEUE_TIMEOUT), 503);
	ck_assert_int_eq(diag_http_status(CR_BAD_REQUEST), 400);
	ck_assert_int_eq(diag_http_status(CR_NO_ROUTE), 404);
	ck_assert_int_eq(diag_http_status(CR_UPSTREAM_DNS), 502);
	ck_assert_int_eq(diag_http_status(CR_UPSTREAM_RESET), 502);
	ck_assert_int_eq(diag_http_status(CR_UPSTREAM_CERT), 502);
	ck_assert_int_eq(diag_http_status(CR_UPSTREAM_CLOSED), 502);
	ck_assert_int_eq(diag_http_status(CR_UPSTREAM_BAD_RESPONSE), 502);
	ck_assert_int_eq(diag_http_status(CR_PROXY_REFUSED), 502);
	ck_assert_int_eq(diag_http_status(CR_PROXY_AUTH), 502);
	ck_assert_int_eq(diag_http_status(CR_PROXY_FORBIDDEN), 502);
	ck_assert_int_eq(diag_http_status(CR_PROXY_BAD_GATEWAY), 502);
	ck_assert_int_eq(diag_http_status(CR_PROXY_BAD_ANSWER), 502);
	ck_assert_int_eq(diag_http_status(CR_PROXY_TIMEOUT), 504);
	ck_assert_int_eq(diag_http_status(CR_INTERNAL), 500);
	ck_assert_int_eq(diag_http_status(CR_BROKER_FD_LIMIT), 503);
	ck_assert_int_eq(diag_http_status(CR_UPSTREAM_BODY_UNREAD), 502);
	ck_assert_int_eq(diag_http_status(CR_UPSTREAM_UNACKED), 502);
	ck_assert_int_eq(diag_http_status(CR_SHUTDOWN), 503);
	ck_assert_int_eq(diag_http_status(CR_OK), 0);
	ck_assert_int_eq(diag_http_status(CR_CLIENT_RESET), 0);
	ck_assert_int_eq(diag_http_status(CR_CLIENT_TLS_VERSION), 0);
	ck_assert_int_eq(diag_http_status(CR_CLIENT_TIMEOUT), 0);
}
END_TEST

static Suite *
diag_suite(void)
{
	Suite *s = suite_create("diag");
	TCase *tc;

	tc = tcase_create("strings");
	tcase_add_test(tc, test_codes_strings);
	tcase_add_test(tc, test_phase_strings);
	tcase_add_test(tc, test_alert_names);
	tcase_add_test(tc, test_http_status);
	tcase_add_test(tc, test_reason_table);
	tcase_add_test(tc, test_reason_rules);
	suite_add_tcase(s, tc);

	tc = tcase_create("hints");
	tcase_add_test(tc, test_every_hint);
	tcase_add_test(tc, test_phase_hints);
	tcase_add_test(tc, test_err_set);
	suite_add_tcase(s, tc);

	tc = tcase_create("classify");
	tcase_add_loop_test(tc, test_upstream_tls_table, 0,
	    (int)(sizeof(up_cases) / sizeof(up_cases[0])));
	tcase_add_loop_test(tc, test_connect_errno, 0,
	    (int)(sizeof(connect_cases) / sizeof(connect_cases[0])));
	tcase_add_test(tc, test_connect_hints);
	tcase_add_test(tc, test_client_errno);
	tcase_add_test(tc, test_client_tls);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(diag_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
