/* SPDX-License-Identifier: MIT */
/*
 * diag: the closed set of close reasons ("why did this connection end"),
 * their stable code strings, phases and operator hints, and the classifiers
 * that turn raw signals (errno, OpenSSL error codes, TLS alerts, X509 verify
 * results, timeouts) into a reason.  Pure: no I/O, no global state, so the
 * audit log, error answers, metrics and probe all agree on one vocabulary.
 * It does not own logging or the audit record; it only fills struct tb_err.
 */
#ifndef TLSBROKER_DIAG_H
#define TLSBROKER_DIAG_H

#include <stdbool.h>

#include "diag_reasons.h"
#include "log.h"

/*
 * Stable codes: the string of each is part of the audit log's interface.
 * One row each in diag_reasons.h, which says what each means.
 */
#define DIAG_REASON_ID(id, ...) id,
enum close_reason {
	DIAG_REASONS(DIAG_REASON_ID)
	CR__COUNT
};
#undef DIAG_REASON_ID

/* Where in the exchange a failure happened. */
enum diag_phase {
	PHASE_NONE = 0,		/* not applicable (ok) */
	PHASE_ACCEPT,		/* before the client handshake */
	PHASE_CLIENT_HANDSHAKE,	/* inbound TLS handshake */
	PHASE_ROUTE,		/* choosing a route */
	PHASE_DNS,		/* resolving the upstream */
	PHASE_CONNECT,		/* TCP connect to the upstream */
	PHASE_HANDSHAKE,	/* outbound TLS handshake */
	PHASE_REQUEST,		/* sending the request / client bytes */
	PHASE_RESPONSE,		/* receiving the response */
	PHASE_EXCHANGE,		/* tcp mode: relaying both ways */
	PHASE__COUNT
};

/*
 * What exactly failed, where one code covers failures that need different
 * fixes (the hint depends on it).  Set by the classifiers; callers using
 * tb_err_set() may set it afterwards.
 */
enum diag_cause {
	DIAG_CAUSE_NONE = 0,
	DIAG_CAUSE_EOF,			/* TCP EOF without an alert (not an RST) */
	DIAG_CAUSE_LEGACY_SIGALG,	/* MD5+SHA-1 / SHA-1 signature below the security level */
	DIAG_CAUSE_DH_TOO_SMALL,	/* DHE group below the security level */
	DIAG_CAUSE_WEAK_CERT,		/* certificate key or digest below the security level */
	DIAG_CAUSE_CERT_EXPIRED,	/* expired or not yet valid */
	DIAG_CAUSE_CERT_UNTRUSTED,	/* self-signed or issuer not trusted */
	DIAG_CAUSE_CERT_NAME,		/* certificate does not name the host */
	DIAG_CAUSE_PIN_MISMATCH,	/* SPKI pin check failed */
	DIAG_CAUSE_NOT_TLS,		/* the peer does not speak TLS on this port */
	DIAG_CAUSE_NO_SHARED_CIPHER,	/* inbound: client offers no allowed cipher */
	DIAG_CAUSE_CLIENT_CERT,		/* inbound: client certificate missing or rejected */
	DIAG_CAUSE__COUNT
};

/* A reason with its context, filled by whoever saw the failure. */
struct tb_err {
	enum close_reason code;
	enum diag_phase phase;
	char alert[48];		/* TLS alert name received from the peer, "" if none */
	char msg[256];		/* detail: what failed, on which object */
	enum diag_cause cause;	/* refines code for the hint, NONE if n/a */
	const char *hint;	/* static hint chosen at run time; NULL = diag_hint()'s */
};

/* Raw signals seen on a failed outbound TLS handshake. */
struct tls_failure {
	unsigned long ssl_err;	/* first ERR_get_error() code, 0 if none */
	int sys_errno;		/* errno for SSL_ERROR_SYSCALL, else 0 */
	bool eof;		/* TCP EOF without alert */
	int alert_recv;		/* alert received from the peer, -1 if none */
	int alert_sent;		/* alert we sent, -1 if none */
	long verify_result;	/* SSL_get_verify_result(), X509_V_OK if n/a */
	bool pin_mismatch;	/* SPKI pin check failed */
	const char *offered;	/* our version range, e.g. "1.0-1.2"; for the
				   inbound side the client's highest, "TLSv1" */
};

const char *close_reason_str(enum close_reason code);
bool close_reason_from_str(const char *s, enum close_reason *out);
const char *diag_phase_str(enum diag_phase phase);
/* RFC 5246 / 8446 name of a TLS alert ("handshake_failure"), NULL if unknown. */
const char *diag_alert_name(int alert);

/*
 * Returns the one-line operator hint for err (never NULL; "" for CR_OK):
 * err->hint when set, else a static one chosen by code, phase, cause and
 * alert.  Static text.
 */
const char *diag_hint(const struct tb_err *err);

/* Sets every field of err (alert, cause, hint cleared); fmt may be NULL for an empty detail. */
void tb_err_set(struct tb_err *err, enum close_reason code,
    enum diag_phase phase, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void tb_err_clear(struct tb_err *err);

/* Classifiers.  Each fills err (code, phase, alert, msg). */
void diag_from_connect_errno(struct tb_err *err, int sys_errno,
    const char *addr);
void diag_from_client_errno(struct tb_err *err, int sys_errno,
    enum diag_phase phase);
void diag_from_upstream_tls(struct tb_err *err, const struct tls_failure *f);
/*
 * Inbound handshake failure; f->offered is the client's highest offered
 * version ("TLSv1") or NULL.  Gives client_tls_version, client_reset,
 * client_closed or client_tls_failed, phase client_handshake.
 */
void diag_from_client_tls(struct tb_err *err, const struct tls_failure *f);
/* client_tls_version with the hint "the client offered only <offered>; ..." */
void diag_client_tls_version(struct tb_err *err, const char *offered);

/* HTTP status the broker answers for a reason: 502, 504, 400, 404...; 0 = none. */
int diag_http_status(enum close_reason code);
/*
 * The level of a tcp session's close line for a reason: INFO when a peer
 * went away (routine), WARNING for what an operator looks for.
 */
enum log_level diag_close_level(enum close_reason code);
/* The level of the log line of an http request that failed for a reason. */
enum log_level diag_request_level(enum close_reason code);
/* False for a normal end (ok, client_closed, idle_timeout): no failure line. */
bool diag_is_failure(enum close_reason code);
/* True when the client left (closed, reset): nobody to answer, only to close. */
bool diag_client_gone(enum close_reason code);
/*
 * Whether an upstream failure is the address's fault, so its health may
 * mark it down: not the broker's own (internal) nor the upstream_proxy's
 * refusal, which every address would meet.
 */
bool diag_address_failed(enum close_reason code);
/*
 * The endpoint could not be reached at all (as opposed to answering
 * badly): a connect or TLS reason in the dns, connect or handshake phase.
 */
bool diag_unreached(const struct tb_err *err);

#endif
