/* SPDX-License-Identifier: MIT */
/*
 * diag: the closed vocabulary of close reasons, phases and TLS alert
 * names, the operator hints, and the classifiers that turn raw signals
 * (errno, OpenSSL error codes, alerts, X509 verify results, pin checks)
 * into a struct tb_err.  The mapping follows what legacy endpoints were
 * seen to do on the wire: a GnuTLS endpoint missing a cipher drops TCP
 * without an alert, a version-intolerant one sends RST, a TLS 1.0 one
 * fails on its MD5+SHA-1 signature rather than on the version.  Pure: no
 * I/O and no mutable global state; safe from any thread.  It does not own
 * logging or the audit record.
 */
#include "config.h"

#include "diag.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

static const char *const phase_names[PHASE__COUNT] = {
	[PHASE_NONE] = "",
	[PHASE_ACCEPT] = "accept",
	[PHASE_CLIENT_HANDSHAKE] = "client_handshake",
	[PHASE_ROUTE] = "route",
	[PHASE_DNS] = "dns",
	[PHASE_CONNECT] = "connect",
	[PHASE_HANDSHAKE] = "handshake",
	[PHASE_REQUEST] = "request",
	[PHASE_RESPONSE] = "response",
	[PHASE_EXCHANGE] = "exchange",
};

/* Hints shared by several alerts. */
#define HINT_ALERT_GENERIC \
	"the endpoint ended the handshake with a fatal alert: run tlsbroker " \
	"probe HOST:PORT to see which versions and ciphers it accepts"
#define HINT_ALERT_HELLO \
	"the endpoint could not handle our ClientHello (typical of " \
	"version-intolerant legacy stacks): try upstream_tls = 1.0 or a range " \
	"ending lower, or run tlsbroker probe HOST:PORT"
#define HINT_ALERT_CLIENT_CERT \
	"the endpoint rejected our client certificate or wants one: set " \
	"upstream_cert / upstream_key to a certificate it trusts"

/*
 * Hints of one alert each.  handshake_failure is ambiguous: no cipher in
 * common, no version in common (some stacks send it instead of
 * protocol_version), or a required client certificate missing.  It stays
 * upstream_tls_alert and the hint names all three.
 */
#define HINT_ALERT_HANDSHAKE_FAILURE \
	"the endpoint refused the handshake: usually no cipher or protocol " \
	"version in common, or it wants a client certificate; try " \
	"upstream_ciphers = DEFAULT:@SECLEVEL=0 and upstream_tls = 1.0-1.3, " \
	"set upstream_cert, or run tlsbroker probe HOST:PORT"
#define HINT_ALERT_ACCESS_DENIED \
	"the endpoint denied access: it may allow-list client certificates " \
	"or source addresses; check upstream_cert and the endpoint's " \
	"allow-list for the broker's address"
#define HINT_ALERT_DECRYPT_ERROR \
	"the endpoint could not verify the handshake (often a broken legacy " \
	"stack with our cipher or signature choice): narrow upstream_ciphers, " \
	"e.g. AES128-SHA, or run tlsbroker probe HOST:PORT"
#define HINT_ALERT_PROTOCOL_VERSION \
	"the endpoint rejects our protocol version: widen upstream_tls " \
	"(e.g. 1.0-1.3) or run tlsbroker probe HOST:PORT"
#define HINT_ALERT_INSUFFICIENT_SECURITY \
	"the endpoint wants stronger ciphers than we offered: allow them in " \
	"upstream_ciphers (and upstream_ciphersuites for TLS 1.3)"
#define HINT_ALERT_INAPPROPRIATE_FALLBACK \
	"the endpoint detected a version fallback: it supports a higher " \
	"version than we offered; widen upstream_tls"
#define HINT_ALERT_UNRECOGNIZED_NAME \
	"the endpoint does not know the SNI name we sent: set upstream_sni " \
	"to the name it expects, or upstream_sni = off"
#define HINT_ALERT_NO_APPLICATION_PROTOCOL \
	"the endpoint rejects the ALPN protocol we offered: set " \
	"upstream_alpn = off or to a protocol it supports"

/*
 * TLS alerts (RFC 5246 section 7.2, RFC 8446 section 6), with the hint
 * for an upstream that sends one.  protocol_version never reaches the
 * hint: it is classified as upstream_tls_version.
 */
static const struct {
	int num;
	const char *name;
	const char *hint;
} alerts[] = {
	{ 0, "close_notify", HINT_ALERT_HELLO },
	{ 10, "unexpected_message", HINT_ALERT_HELLO },
	{ 20, "bad_record_mac", HINT_ALERT_GENERIC },
	{ 21, "decryption_failed", HINT_ALERT_GENERIC },
	{ 22, "record_overflow", HINT_ALERT_GENERIC },
	{ 30, "decompression_failure", HINT_ALERT_GENERIC },
	{ 40, "handshake_failure", HINT_ALERT_HANDSHAKE_FAILURE },
	{ 41, "no_certificate", HINT_ALERT_CLIENT_CERT },
	{ 42, "bad_certificate", HINT_ALERT_CLIENT_CERT },
	{ 43, "unsupported_certificate", HINT_ALERT_CLIENT_CERT },
	{ 44, "certificate_revoked", HINT_ALERT_CLIENT_CERT },
	{ 45, "certificate_expired", HINT_ALERT_CLIENT_CERT },
	{ 46, "certificate_unknown", HINT_ALERT_CLIENT_CERT },
	{ 47, "illegal_parameter", HINT_ALERT_HELLO },
	{ 48, "unknown_ca", HINT_ALERT_CLIENT_CERT },
	{ 49, "access_denied", HINT_ALERT_ACCESS_DENIED },
	{ 50, "decode_error", HINT_ALERT_HELLO },
	{ 51, "decrypt_error", HINT_ALERT_DECRYPT_ERROR },
	{ 60, "export_restriction", HINT_ALERT_GENERIC },
	{ 70, "protocol_version", HINT_ALERT_PROTOCOL_VERSION },
	{ 71, "insufficient_security", HINT_ALERT_INSUFFICIENT_SECURITY },
	{ 80, "internal_error", HINT_ALERT_HELLO },
	{ 86, "inappropriate_fallback", HINT_ALERT_INAPPROPRIATE_FALLBACK },
	{ 90, "user_canceled", HINT_ALERT_GENERIC },
	{ 100, "no_renegotiation", HINT_ALERT_GENERIC },
	{ 109, "missing_extension", HINT_ALERT_HELLO },
	{ 110, "unsupported_extension", HINT_ALERT_HELLO },
	{ 111, "certificate_unobtainable", HINT_ALERT_CLIENT_CERT },
	{ 112, "unrecognized_name", HINT_ALERT_UNRECOGNIZED_NAME },
	{ 113, "bad_certificate_status_response", HINT_ALERT_GENERIC },
	{ 114, "bad_certificate_hash_value", HINT_ALERT_CLIENT_CERT },
	{ 115, "unknown_psk_identity", HINT_ALERT_GENERIC },
	{ 116, "certificate_required", HINT_ALERT_CLIENT_CERT },
	{ 120, "no_application_protocol", HINT_ALERT_NO_APPLICATION_PROTOCOL },
};

const char *
diag_phase_str(enum diag_phase phase)
{
	return (unsigned)phase < PHASE__COUNT ? phase_names[phase] : "";
}

const char *
diag_alert_name(int alert)
{
	size_t i;

	for (i = 0; i < sizeof(alerts) / sizeof(alerts[0]); i++) {
		if (alerts[i].num == alert)
			return alerts[i].name;
	}
	return NULL;
}

static const char *
hint_upstream_alert(const struct tb_err *err)
{
	size_t i;

	for (i = 0; i < sizeof(alerts) / sizeof(alerts[0]); i++) {
		if (strcmp(alerts[i].name, err->alert) == 0)
			return alerts[i].hint;
	}
	return HINT_ALERT_GENERIC;
}

/* Hints of upstream_cert, upstream_tls_failed and client_tls_failed by cause. */
#define HINT_CERT_PIN_MISMATCH \
	"the endpoint's key does not match upstream_pin: if its " \
	"certificate was legitimately renewed with a new key, update " \
	"upstream_pin = sha256//... to the new key's pin"
#define HINT_CERT_EXPIRED \
	"the endpoint's certificate is expired or not yet valid: " \
	"renew it, or set upstream_verify = pin with upstream_pin = " \
	"sha256//... (a CA file cannot fix an expiry)"
#define HINT_CERT_UNTRUSTED \
	"the endpoint's certificate is self-signed or from a CA we " \
	"do not trust: set upstream_ca = its CA file, or upstream_verify " \
	"= pin with upstream_pin = sha256//..."
#define HINT_CERT_NAME \
	"the endpoint's certificate does not name the host we " \
	"connect to: use the name in the certificate in upstream = " \
	"HOST:PORT, or upstream_verify = pin"
#define HINT_CERT_WEAK \
	"the endpoint's certificate has a key or signature digest " \
	"(e.g. RSA-1024, SHA-1) below our security level: set " \
	"upstream_security_level = 0 (verification stays on), or " \
	"upstream_verify = pin"
#define HINT_CERT_FAILED \
	"the endpoint's certificate failed verification (see " \
	"detail): fix upstream_ca, or use upstream_verify = pin with " \
	"upstream_pin = sha256//..."
#define HINT_TLS_LEGACY_SIGALG \
	"the endpoint signs its handshake with MD5+SHA-1 or SHA-1 " \
	"(TLS 1.0/1.1 style), refused at our security level: set " \
	"upstream_security_level = 0, or upstream_ciphers = " \
	"AES128-SHA:AES256-SHA if it accepts RSA key exchange"
#define HINT_TLS_DH_TOO_SMALL \
	"the endpoint's DHE group is too small (e.g. 1024 bits) for " \
	"our security level: set upstream_security_level = 0 (1 is " \
	"enough for TLS 1.2), or prefer ECDHE/RSA in upstream_ciphers"
#define HINT_TLS_WEAK_CERT \
	"a certificate key or digest (e.g. RSA-1024, SHA-1) is below " \
	"our security level: set upstream_security_level = 0"
#define HINT_TLS_NOT_TLS \
	"the endpoint did not answer with TLS: it may speak plain " \
	"HTTP on this port; set upstream_tls = off or check the " \
	"upstream port"
#define HINT_TLS_FAILED \
	"the outbound TLS handshake failed (see detail): run " \
	"tlsbroker probe HOST:PORT to find route settings that work"
#define HINT_CLIENT_NOT_TLS \
	"the client spoke plain HTTP to a TLS listener: it must " \
	"use https://"
#define HINT_CLIENT_NO_CIPHER \
	"the client offers no cipher this listener allows: check " \
	"ciphers = / ciphersuites = in its [listener] section"
#define HINT_CLIENT_NO_CERT \
	"the client sent no valid client certificate: the " \
	"listener's client_ca requires one issued by that CA"

/*
 * The hints of the reasons whose fix depends on what exactly failed, by
 * cause; the reason's hint function gives the one for any other cause.
 */
static const struct {
	enum close_reason code;
	enum diag_cause cause;
	const char *hint;
} cause_hints[] = {
	{ CR_UPSTREAM_CERT, DIAG_CAUSE_PIN_MISMATCH, HINT_CERT_PIN_MISMATCH },
	{ CR_UPSTREAM_CERT, DIAG_CAUSE_CERT_EXPIRED, HINT_CERT_EXPIRED },
	{ CR_UPSTREAM_CERT, DIAG_CAUSE_CERT_UNTRUSTED, HINT_CERT_UNTRUSTED },
	{ CR_UPSTREAM_CERT, DIAG_CAUSE_CERT_NAME, HINT_CERT_NAME },
	{ CR_UPSTREAM_CERT, DIAG_CAUSE_WEAK_CERT, HINT_CERT_WEAK },
	{ CR_UPSTREAM_TLS_FAILED, DIAG_CAUSE_LEGACY_SIGALG, HINT_TLS_LEGACY_SIGALG },
	{ CR_UPSTREAM_TLS_FAILED, DIAG_CAUSE_DH_TOO_SMALL, HINT_TLS_DH_TOO_SMALL },
	{ CR_UPSTREAM_TLS_FAILED, DIAG_CAUSE_WEAK_CERT, HINT_TLS_WEAK_CERT },
	{ CR_UPSTREAM_TLS_FAILED, DIAG_CAUSE_NOT_TLS, HINT_TLS_NOT_TLS },
	{ CR_CLIENT_TLS_FAILED, DIAG_CAUSE_NOT_TLS, HINT_CLIENT_NOT_TLS },
	{ CR_CLIENT_TLS_FAILED, DIAG_CAUSE_NO_SHARED_CIPHER, HINT_CLIENT_NO_CIPHER },
	{ CR_CLIENT_TLS_FAILED, DIAG_CAUSE_CLIENT_CERT, HINT_CLIENT_NO_CERT },
};

/* The hint cause_hints gives err's reason and cause, else fallback. */
static const char *
hint_by_cause(const struct tb_err *err, const char *fallback)
{
	size_t i;

	for (i = 0; i < sizeof(cause_hints) / sizeof(cause_hints[0]); i++) {
		if (cause_hints[i].code == err->code &&
		    cause_hints[i].cause == err->cause)
			return cause_hints[i].hint;
	}
	return fallback;
}

static const char *
hint_upstream_cert(const struct tb_err *err)
{
	return hint_by_cause(err, HINT_CERT_FAILED);
}

static const char *
hint_upstream_tls_failed(const struct tb_err *err)
{
	return hint_by_cause(err, HINT_TLS_FAILED);
}

static const char *
hint_upstream_reset(const struct tb_err *err)
{
	switch (err->phase) {
	case PHASE_HANDSHAKE:
		if (err->cause == DIAG_CAUSE_EOF)
			return "the endpoint closed the connection after our "
			    "ClientHello without an alert: it likely rejects our "
			    "protocol version or ciphers (GnuTLS does this on a "
			    "missing cipher); try upstream_tls = 1.0 (or a range), "
			    "upstream_ciphers = DEFAULT:@SECLEVEL=0, or run "
			    "tlsbroker probe HOST:PORT";
		return "the endpoint reset the connection after our ClientHello: "
		    "it likely rejects our protocol version or ciphers; try "
		    "upstream_tls = 1.0 (or a range), upstream_ciphers = "
		    "DEFAULT:@SECLEVEL=0, or run tlsbroker probe HOST:PORT";
	case PHASE_CONNECT:
		return "the endpoint reset the TCP connect: check upstream = "
		    "HOST:PORT and firewalls in between";
	case PHASE_REQUEST:
		return "the endpoint reset the connection while we sent the "
		    "request: a pooled connection it had already dropped, or it "
		    "refuses the request; set pool_idle_timeout below the "
		    "endpoint's keep-alive timeout and check its logs";
	default:
		return "the endpoint reset an established connection: it may "
		    "have restarted, timed out, or a firewall dropped the flow; "
		    "set pool_idle_timeout below the endpoint's keep-alive "
		    "timeout and check the endpoint's logs";
	}
}

static const char *
hint_upstream_timeout(const struct tb_err *err)
{
	switch (err->phase) {
	case PHASE_CONNECT:
		return HINT_CONNECT_TIMEOUT;
	case PHASE_HANDSHAKE:
		return "the endpoint accepted TCP but did not finish the TLS "
		    "handshake within handshake_timeout: it may not speak TLS on "
		    "this port (try upstream_tls = off) or be hung";
	default:
		return "the endpoint did not answer within response_timeout: "
		    "raise response_timeout if the operation is known to be slow, "
		    "else check the endpoint";
	}
}

static const char *
hint_client_closed(const struct tb_err *err)
{
	if (err->phase == PHASE_CLIENT_HANDSHAKE)
		return "the client closed during the TLS handshake: it likely does "
		    "not trust the listener's certificate (cert =) or rejects its "
		    "TLS settings";
	if (err->phase == PHASE_ACCEPT || err->phase == PHASE_REQUEST)
		return "the client closed before sending a complete request";
	return "the client closed before the exchange ended: its own timeout "
	    "may be shorter than the endpoint's response time";
}

static const char *
hint_client_reset(const struct tb_err *err)
{
	if (err->phase == PHASE_CLIENT_HANDSHAKE)
		return "the client reset the connection during the TLS handshake: "
		    "it likely rejects the listener's certificate or TLS settings";
	return "the client reset the connection: check the client's timeouts "
	    "and any firewall or load balancer in front of the broker";
}

static const char *
hint_client_timeout(const struct tb_err *err)
{
	if (err->phase == PHASE_CLIENT_HANDSHAKE)
		return "the client did not finish the TLS handshake within the "
		    "listener's handshake_timeout (a port scanner, health check or "
		    "stalled client)";
	return "the client did not send a complete request head within the "
	    "listener's request_timeout (a slow or stalled client)";
}

static const char *
hint_client_tls_failed(const struct tb_err *err)
{
	const char *hint = hint_by_cause(err, NULL);

	if (hint != NULL)
		return hint;
	if (err->phase != PHASE_CLIENT_HANDSHAKE && err->phase != PHASE_NONE)
		return "the client broke the TLS stream after the handshake "
		    "(see detail): a client bug, or something between client and "
		    "broker altering the connection";
	if (err->alert[0] != '\0')
		return "the client rejected the handshake with an alert: it "
		    "likely does not trust the listener's certificate; give it "
		    "the issuing CA of cert =, or use one from a CA it trusts";
	return "the client's TLS handshake failed (see detail): check its "
	    "trust store and TLS versions against the listener's cert = and "
	    "min_tls";
}

/* What the table says of each reason, indexed by enum close_reason. */
struct close_reason_info {
	const char *name;		/* stable audit-log string */
	int status;			/* HTTP status answered, 0 = none */
	enum log_level level;		/* a tcp session's close line */
	enum log_level request_level;	/* a failed http request's line */
	unsigned flags;			/* CRF_* */
	const char *hint;		/* static hint, or NULL for hint_fn */
	const char *(*hint_fn)(const struct tb_err *err);
};

#define DIAG_REASON_ROW(id, name_, status_, level_, request_level_, \
	    flags_, hint_, hint_fn_) \
	[id] = { .name = name_, .status = status_, \
	    .level = LOG_LVL_##level_, .request_level = LOG_LVL_##request_level_, \
	    .flags = flags_, .hint = hint_, .hint_fn = hint_fn_ },
static const struct close_reason_info close_reasons[CR__COUNT] = {
	DIAG_REASONS(DIAG_REASON_ROW)
};
#undef DIAG_REASON_ROW

/* The row of code; out-of-range codes read as internal. */
static const struct close_reason_info *
close_reason_info(enum close_reason code)
{
	return &close_reasons[(unsigned)code < CR__COUNT ? code : CR_INTERNAL];
}

const char *
close_reason_str(enum close_reason code)
{
	return close_reason_info(code)->name;
}

bool
close_reason_from_str(const char *s, enum close_reason *out)
{
	unsigned i;

	if (s == NULL)
		return false;
	for (i = 0; i < CR__COUNT; i++) {
		if (strcmp(s, close_reasons[i].name) == 0) {
			*out = (enum close_reason)i;
			return true;
		}
	}
	return false;
}

const char *
diag_hint(const struct tb_err *err)
{
	const struct close_reason_info *ri;

	if (err->hint != NULL)
		return err->hint;
	if ((unsigned)err->code >= CR__COUNT)
		return "";
	ri = close_reason_info(err->code);
	return ri->hint_fn != NULL ? ri->hint_fn(err) : ri->hint;
}

int
diag_http_status(enum close_reason code)
{
	return (unsigned)code < CR__COUNT ? close_reasons[code].status : 0;
}

enum log_level
diag_close_level(enum close_reason code)
{
	return close_reason_info(code)->level;
}

enum log_level
diag_request_level(enum close_reason code)
{
	return close_reason_info(code)->request_level;
}

bool
diag_is_failure(enum close_reason code)
{
	return (close_reason_info(code)->flags & CRF_ROUTINE) == 0;
}

bool
diag_client_gone(enum close_reason code)
{
	return (close_reason_info(code)->flags & CRF_CLIENT_GONE) != 0;
}

bool
diag_address_failed(enum close_reason code)
{
	return (close_reason_info(code)->flags & CRF_NOT_ADDRESS) == 0;
}

bool
diag_unreached(const struct tb_err *err)
{
	return (close_reason_info(err->code)->flags & CRF_UNREACHED) != 0 &&
	    (err->phase == PHASE_DNS || err->phase == PHASE_CONNECT ||
	    err->phase == PHASE_HANDSHAKE);
}

void
tb_err_clear(struct tb_err *err)
{
	memset(err, 0, sizeof(*err));
	err->code = CR_OK;
	err->phase = PHASE_NONE;
	err->cause = DIAG_CAUSE_NONE;
}

void
tb_err_set(struct tb_err *err, enum close_reason code, enum diag_phase phase,
    const char *fmt, ...)
{
	va_list ap;

	tb_err_clear(err);
	err->code = code;
	err->phase = phase;
	if (fmt != NULL) {
		va_start(ap, fmt);
		(void)vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
}

/* GNU strerror_r (AC_USE_SYSTEM_EXTENSIONS): thread-safe, unlike strerror. */
static const char *
diag_strerror(int e, char *buf, size_t len)
{
	return strerror_r(e, buf, len);
}

void
diag_from_connect_errno(struct tb_err *err, int sys_errno, const char *addr)
{
	enum close_reason code;
	char ebuf[128];

	switch (sys_errno) {
	case ECONNREFUSED:
		code = CR_UPSTREAM_REFUSED;
		break;
	case ETIMEDOUT:
		code = CR_UPSTREAM_CONNECT_TIMEOUT;
		break;
	case ECONNRESET:
		code = CR_UPSTREAM_RESET;
		break;
	case EMFILE:
	case ENFILE:
		/* no socket was made: nothing reached the network */
		code = CR_BROKER_FD_LIMIT;
		break;
	case EHOSTUNREACH:
	case ENETUNREACH:
	case EADDRNOTAVAIL:
	default:
		code = CR_UPSTREAM_UNREACHABLE;
		break;
	}
	tb_err_set(err, code, PHASE_CONNECT, "connect %s: %s",
	    addr != NULL ? addr : "?",
	    diag_strerror(sys_errno, ebuf, sizeof(ebuf)));
}

void
diag_from_client_errno(struct tb_err *err, int sys_errno,
    enum diag_phase phase)
{
	char ebuf[128];

	switch (sys_errno) {
	case 0:
		tb_err_set(err, CR_CLIENT_CLOSED, phase,
		    "client closed the connection");
		break;
	case ETIMEDOUT:
		tb_err_set(err, CR_CLIENT_TIMEOUT, phase, "client: %s",
		    diag_strerror(sys_errno, ebuf, sizeof(ebuf)));
		break;
	case ECONNRESET:
	case EPIPE:
	default:
		/* Any other socket error ends the client side abruptly too. */
		tb_err_set(err, CR_CLIENT_RESET, phase, "client: %s",
		    diag_strerror(sys_errno, ebuf, sizeof(ebuf)));
		break;
	}
}

/*
 * The OpenSSL reason text for an error code ("legacy sigalg disallowed or
 * unsupported"), or NULL for 0.  Error strings are loaded on demand so the
 * text is the same in unit tests as in the daemon.
 */
static const char *
diag_ssl_reason(unsigned long e, char *buf, size_t len)
{
	const char *r;

	if (e == 0)
		return NULL;
	if (ERR_SYSTEM_ERROR(e))
		return diag_strerror(ERR_GET_REASON(e), buf, len);
	(void)OPENSSL_init_ssl(OPENSSL_INIT_LOAD_SSL_STRINGS |
	    OPENSSL_INIT_LOAD_CRYPTO_STRINGS, NULL);
	if ((r = ERR_reason_error_string(e)) != NULL)
		return r;
	(void)snprintf(buf, len, "error %08lX", e);
	return buf;
}

static enum diag_cause
verify_cause(long v)
{
	switch (v) {
	case X509_V_ERR_CERT_HAS_EXPIRED:
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return DIAG_CAUSE_CERT_EXPIRED;
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_CERT_UNTRUSTED:
		return DIAG_CAUSE_CERT_UNTRUSTED;
	case X509_V_ERR_HOSTNAME_MISMATCH:
	case X509_V_ERR_IP_ADDRESS_MISMATCH:
		return DIAG_CAUSE_CERT_NAME;
	case X509_V_ERR_EE_KEY_TOO_SMALL:
	case X509_V_ERR_CA_KEY_TOO_SMALL:
	case X509_V_ERR_CA_MD_TOO_WEAK:
		return DIAG_CAUSE_WEAK_CERT;
	default:
		return DIAG_CAUSE_NONE;
	}
}

static void
set_upstream_cert(struct tb_err *err, long verify_result, const char *reason)
{
	if (verify_result != X509_V_OK) {
		tb_err_set(err, CR_UPSTREAM_CERT, PHASE_HANDSHAKE,
		    "certificate verify failed: %s (verify error %ld)",
		    X509_verify_cert_error_string(verify_result), verify_result);
		err->cause = verify_cause(verify_result);
	} else
		tb_err_set(err, CR_UPSTREAM_CERT, PHASE_HANDSHAKE,
		    "certificate verify failed: %s",
		    reason != NULL ? reason : "no verify result");
}

static void
set_alert(struct tb_err *err, int alert)
{
	const char *name = diag_alert_name(alert);

	if (name != NULL)
		(void)snprintf(err->alert, sizeof(err->alert), "%s", name);
	else
		(void)snprintf(err->alert, sizeof(err->alert), "alert_%d", alert);
}

/* The name of an alert for a detail line, "unknown" if it has none. */
static const char *
alert_label(int alert)
{
	const char *name = diag_alert_name(alert);

	return name != NULL ? name : "unknown";
}

/* upstream_tls_failed for a named OpenSSL reason rs: "<rs>: <what>". */
static void
set_upstream_tls_failed(struct tb_err *err, enum diag_cause cause,
    const char *rs, const char *what)
{
	tb_err_set(err, CR_UPSTREAM_TLS_FAILED, PHASE_HANDSHAKE, "%s: %s", rs,
	    what);
	err->cause = cause;
}

static void
set_upstream_version(struct tb_err *err, const char *rs, int alert,
    const char *offered)
{
	tb_err_set(err, CR_UPSTREAM_TLS_VERSION, PHASE_HANDSHAKE,
	    "no protocol version in common: %s; we offered TLS %s",
	    rs != NULL ? rs : "alert protocol_version",
	    offered != NULL ? offered : "?");
	if (alert >= 0)
		set_alert(err, alert);
}

/* A failed handshake's raw signals, decoded the same way for both sides. */
struct tls_signals {
	int reason;		/* the SSL library's reason code, 0 if none */
	int alert;		/* the alert received, -1 if none */
	int sys;		/* errno, 0 if none */
	const char *rs;		/* OpenSSL's reason text, NULL if no error */
	char rbuf[128];		/* holds rs when it is formatted */
};

static void
decode_tls_failure(const struct tls_failure *f, struct tls_signals *sig)
{
	unsigned long e = f->ssl_err;

	sig->reason = 0;
	sig->alert = f->alert_recv;
	sig->sys = f->sys_errno;
	if (e != 0 && ERR_GET_LIB(e) == ERR_LIB_SSL)
		sig->reason = ERR_GET_REASON(e);
	if (e != 0 && ERR_GET_LIB(e) == ERR_LIB_SYS && sig->sys == 0)
		sig->sys = ERR_GET_REASON(e);
	/* A received fatal alert is queued as SSL_AD_REASON_OFFSET + alert. */
	if (sig->alert < 0 && sig->reason >= SSL_AD_REASON_OFFSET &&
	    sig->reason < SSL_AD_REASON_OFFSET + 256)
		sig->alert = sig->reason - SSL_AD_REASON_OFFSET;
	sig->rs = diag_ssl_reason(e, sig->rbuf, sizeof(sig->rbuf));
}

/*
 * Order matters: the most specific signal wins.  The pin and the named
 * OpenSSL reasons come first; a received alert next; then the transport
 * (RST, EOF); verify_result only when nothing else explains the failure,
 * because in pin mode (verification off) it holds chain errors we chose
 * to ignore, e.g. "self-signed" on an endpoint that then dropped TCP.
 */
void
diag_from_upstream_tls(struct tb_err *err, const struct tls_failure *f)
{
	struct tls_signals sig;
	bool eof = f->eof;
	char ebuf[128];

	decode_tls_failure(f, &sig);

	if (f->pin_mismatch) {
		tb_err_set(err, CR_UPSTREAM_CERT, PHASE_HANDSHAKE,
		    "pin mismatch: the endpoint's public key does not match "
		    "upstream_pin");
		err->cause = DIAG_CAUSE_PIN_MISMATCH;
		return;
	}
	switch (sig.reason) {
	case SSL_R_UNSAFE_LEGACY_RENEGOTIATION_DISABLED:
		tb_err_set(err, CR_UPSTREAM_LEGACY_RENEGOTIATION, PHASE_HANDSHAKE,
		    "%s: the endpoint does not support RFC 5746 secure "
		    "renegotiation", sig.rs);
		return;
	case SSL_R_CERTIFICATE_VERIFY_FAILED:
		set_upstream_cert(err, f->verify_result, sig.rs);
		return;
	case SSL_R_UNSUPPORTED_PROTOCOL:
	case SSL_R_NO_PROTOCOLS_AVAILABLE:
	case SSL_R_VERSION_TOO_LOW:
	case SSL_R_VERSION_TOO_HIGH:
	case SSL_R_WRONG_SSL_VERSION:
		set_upstream_version(err, sig.rs, sig.alert, f->offered);
		return;
	case SSL_R_NO_SHARED_CIPHER:
	case SSL_R_NO_CIPHERS_AVAILABLE:
	case SSL_R_NO_CIPHER_MATCH:
	case SSL_R_WRONG_CIPHER_RETURNED:
		tb_err_set(err, CR_UPSTREAM_TLS_CIPHER, PHASE_HANDSHAKE,
		    "no cipher in common: %s", sig.rs);
		return;
	case SSL_R_LEGACY_SIGALG_DISALLOWED_OR_UNSUPPORTED:
	case SSL_R_NO_SUITABLE_SIGNATURE_ALGORITHM:
	case SSL_R_NO_SHARED_SIGNATURE_ALGORITHMS:
		set_upstream_tls_failed(err, DIAG_CAUSE_LEGACY_SIGALG, sig.rs,
		    "the endpoint's signature algorithm is below our security "
		    "level");
		return;
	case SSL_R_DH_KEY_TOO_SMALL:
		set_upstream_tls_failed(err, DIAG_CAUSE_DH_TOO_SMALL, sig.rs,
		    "the endpoint's DHE group is below our security level");
		return;
	case SSL_R_EE_KEY_TOO_SMALL:
	case SSL_R_CA_KEY_TOO_SMALL:
	case SSL_R_CA_MD_TOO_WEAK:
		set_upstream_tls_failed(err, DIAG_CAUSE_WEAK_CERT, sig.rs,
		    "a certificate is below our security level");
		return;
	case SSL_R_WRONG_VERSION_NUMBER:
		set_upstream_tls_failed(err, DIAG_CAUSE_NOT_TLS, sig.rs,
		    "the endpoint's answer is not a TLS record");
		return;
	case SSL_R_UNEXPECTED_EOF_WHILE_READING:
		/*
		 * OpenSSL 3's report of TCP EOF mid-handshake: what GnuTLS sends
		 * instead of an alert when it does not speak the offered version
		 */
		eof = true;
		break;
	default:
		break;
	}
	if (sig.alert == SSL_AD_PROTOCOL_VERSION) {
		set_upstream_version(err, sig.rs, sig.alert, f->offered);
		return;
	}
	if (sig.alert >= 0) {
		tb_err_set(err, CR_UPSTREAM_TLS_ALERT, PHASE_HANDSHAKE,
		    "the endpoint sent fatal alert %s (%d)%s%s",
		    alert_label(sig.alert), sig.alert, sig.rs != NULL ? ": " : "",
		    sig.rs != NULL ? sig.rs : "");
		set_alert(err, sig.alert);
		return;
	}
	if (sig.sys == ECONNRESET || sig.sys == EPIPE) {
		tb_err_set(err, CR_UPSTREAM_RESET, PHASE_HANDSHAKE,
		    "connection reset by peer during TLS handshake");
		return;
	}
	if (sig.sys == ETIMEDOUT) {
		tb_err_set(err, CR_UPSTREAM_TIMEOUT, PHASE_HANDSHAKE,
		    "TLS handshake: %s",
		    diag_strerror(sig.sys, ebuf, sizeof(ebuf)));
		return;
	}
	if (sig.sys != 0) {
		tb_err_set(err, CR_UPSTREAM_TLS_FAILED, PHASE_HANDSHAKE,
		    "TLS handshake: %s",
		    diag_strerror(sig.sys, ebuf, sizeof(ebuf)));
		return;
	}
	if (eof) {
		tb_err_set(err, CR_UPSTREAM_RESET, PHASE_HANDSHAKE,
		    "endpoint closed the connection during TLS handshake "
		    "(no alert)%s%s", sig.rs != NULL ? ": " : "",
		    sig.rs != NULL ? sig.rs : "");
		err->cause = DIAG_CAUSE_EOF;
		return;
	}
	if (f->verify_result != X509_V_OK) {
		set_upstream_cert(err, f->verify_result, sig.rs);
		return;
	}
	if (f->alert_sent >= 0 && sig.rs == NULL) {
		tb_err_set(err, CR_UPSTREAM_TLS_FAILED, PHASE_HANDSHAKE,
		    "TLS handshake failed: we sent alert %s",
		    alert_label(f->alert_sent));
		return;
	}
	tb_err_set(err, CR_UPSTREAM_TLS_FAILED, PHASE_HANDSHAKE,
	    "TLS handshake failed: %s",
	    sig.rs != NULL ? sig.rs : "no error reported");
}

#define CLIENT_VERSION_HINT(v) \
	"the client offered only " v "; this listener requires TLS 1.2 or later"

/* The hint naming the version the client offered (static text). */
static const char *
client_version_hint(const char *offered)
{
	static const struct {
		const char *version;
		const char *hint;
	} hints[] = {
		{ "SSLv2", CLIENT_VERSION_HINT("SSLv2") },
		{ "SSLv3", CLIENT_VERSION_HINT("SSLv3") },
		{ "TLSv1", CLIENT_VERSION_HINT("TLSv1") },
		{ "TLSv1.1", CLIENT_VERSION_HINT("TLSv1.1") },
	};
	size_t i;

	for (i = 0; i < sizeof(hints) / sizeof(hints[0]); i++)
		if (strcmp(offered, hints[i].version) == 0)
			return hints[i].hint;
	return CLIENT_VERSION_HINT("versions below TLS 1.2");
}

void
diag_client_tls_version(struct tb_err *err, const char *offered)
{
	const char *o = offered != NULL && *offered != '\0' ? offered :
	    "versions below TLS 1.2";

	tb_err_set(err, CR_CLIENT_TLS_VERSION, PHASE_CLIENT_HANDSHAKE,
	    "client offered only %s", o);
	err->hint = client_version_hint(o);
}

/* client_tls_failed for a named OpenSSL reason rs: "<rs>[: <what>]". */
static void
set_client_tls_failed(struct tb_err *err, enum diag_cause cause,
    const char *rs, const char *what)
{
	if (what != NULL)
		tb_err_set(err, CR_CLIENT_TLS_FAILED, PHASE_CLIENT_HANDSHAKE,
		    "%s: %s", rs, what);
	else
		tb_err_set(err, CR_CLIENT_TLS_FAILED, PHASE_CLIENT_HANDSHAKE,
		    "%s", rs);
	err->cause = cause;
}

static void
set_client_closed_in_handshake(struct tb_err *err)
{
	tb_err_set(err, CR_CLIENT_CLOSED, PHASE_CLIENT_HANDSHAKE,
	    "client closed the connection during TLS handshake");
	err->cause = DIAG_CAUSE_EOF;
}

void
diag_from_client_tls(struct tb_err *err, const struct tls_failure *f)
{
	struct tls_signals sig;

	decode_tls_failure(f, &sig);

	switch (sig.reason) {
	case SSL_R_UNSUPPORTED_PROTOCOL:
	case SSL_R_VERSION_TOO_LOW:
	case SSL_R_NO_PROTOCOLS_AVAILABLE:
		diag_client_tls_version(err, f->offered);
		return;
	case SSL_R_HTTP_REQUEST:
	case SSL_R_HTTPS_PROXY_REQUEST:
	case SSL_R_WRONG_VERSION_NUMBER:
		set_client_tls_failed(err, DIAG_CAUSE_NOT_TLS, sig.rs, NULL);
		return;
	case SSL_R_NO_SHARED_CIPHER:
		set_client_tls_failed(err, DIAG_CAUSE_NO_SHARED_CIPHER, sig.rs,
		    NULL);
		return;
	case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
	case SSL_R_CERTIFICATE_VERIFY_FAILED:
		set_client_tls_failed(err, DIAG_CAUSE_CLIENT_CERT, sig.rs,
		    f->verify_result != X509_V_OK ?
		    X509_verify_cert_error_string(f->verify_result) : NULL);
		return;
	case SSL_R_UNEXPECTED_EOF_WHILE_READING:
		set_client_closed_in_handshake(err);
		return;
	default:
		break;
	}
	if (sig.alert == SSL_AD_PROTOCOL_VERSION) {
		diag_client_tls_version(err, f->offered);
		set_alert(err, sig.alert);
		return;
	}
	if (sig.alert >= 0) {
		tb_err_set(err, CR_CLIENT_TLS_FAILED, PHASE_CLIENT_HANDSHAKE,
		    "the client sent fatal alert %s (%d)", alert_label(sig.alert),
		    sig.alert);
		set_alert(err, sig.alert);
		return;
	}
	if (sig.sys != 0) {
		diag_from_client_errno(err, sig.sys, PHASE_CLIENT_HANDSHAKE);
		return;
	}
	if (f->eof) {
		set_client_closed_in_handshake(err);
		return;
	}
	tb_err_set(err, CR_CLIENT_TLS_FAILED, PHASE_CLIENT_HANDSHAKE,
	    "TLS handshake failed: %s",
	    sig.rs != NULL ? sig.rs : "no error reported");
}
