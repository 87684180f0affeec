/* SPDX-License-Identifier: MIT */
/*
 * probe_report: the [route] block, the JSON object and the text report of
 * a discovery.  The block explains itself in comment lines because it is
 * pasted into a config that someone else will read later: each setting
 * that departs from the defaults says which fact of the endpoint needs
 * it.  See probe_report.h.
 */
#include "config.h"

#include "probe_report.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>

#include "diag.h"
#include "json.h"
#include "parse.h"
#include "probe_wire.h"
#include "sockaddr.h"
#include "tlsio.h"

/* A text being appended to; truncation is sticky (off > cap). */
struct probe_out {
	char *buf;
	size_t cap;
	size_t off;
};

static void probe_cat(struct probe_out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
probe_cat(struct probe_out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->off >= o->cap)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->off, o->cap - o->off, fmt, ap);
	va_end(ap);
	if (n < 0)
		o->off = o->cap;
	else
		o->off += (size_t)n;
}

static void
probe_out_init(struct probe_out *o, char *buf, size_t cap)
{
	o->buf = buf;
	o->cap = cap;
	o->off = 0;
	if (cap > 0)
		buf[0] = '\0';
}

/* What the chain was verified against, for a sentence. */
static const char *
probe_ca_name(const struct probe_result *r)
{
	return r->ca[0] != '\0' ? r->ca : "the system store";
}

static const char *
probe_verify_str(enum upstream_verify v)
{
	return v == VERIFY_CA ? "ca" : v == VERIFY_PIN ? "pin" : "off";
}

/* ---- the [route] block --------------------------------------------------- */

/* A candidate's settings on one line, for "tried:" and the JSON. */
static void
probe_cand_label(const struct probe_candidate *c, char *buf, size_t cap)
{
	struct probe_out o;
	char range[16];

	probe_out_init(&o, buf, cap);
	tls_range_format(&c->tls, range, sizeof(range));
	probe_cat(&o, "upstream_tls = %s", range);
	if (c->tls.off)
		return;
	if (c->security_level >= 0)
		probe_cat(&o, ", upstream_security_level = %d", c->security_level);
	if (c->ciphers[0] != '\0')
		probe_cat(&o, ", upstream_ciphers = %s", c->ciphers);
	if (c->legacy_reneg)
		probe_cat(&o, ", upstream_legacy_renegotiation = yes");
	if (c->legacy_provider)
		probe_cat(&o, ", upstream_legacy_provider = yes");
	probe_cat(&o, ", upstream_verify = %s", probe_verify_str(c->verify));
}

/* "1.0, 1.1" of the accepted versions, else "1.0 with RC4 only" or "none". */
static void
probe_accepted_str(const struct probe_result *r, char *buf, size_t cap)
{
	struct probe_out o;
	unsigned i;

	probe_out_init(&o, buf, cap);
	for (i = 0; i < PROBE_NVERSIONS; i++)
		if (r->v[i].accepted)
			probe_cat(&o, "%s%s", o.off > 0 ? ", " : "",
			    tls_version_name(r->v[i].version));
	if (o.off == 0 && r->des3.accepted)
		probe_cat(&o, "%s with 3DES only", tls_version_name(r->des3.version));
	else if (o.off == 0 && r->rc4.accepted)
		probe_cat(&o, "%s with RC4 only", tls_version_name(r->rc4.version));
	if (o.off == 0)
		snprintf(buf, cap, "none");
}

/* The header, the narrower candidates that failed, mode and upstream. */
static void
probe_block_head(struct probe_out *o, const struct probe_result *r,
    unsigned idx)
{
	const struct probe_candidate *f;
	char hp[300], label[400];
	unsigned i;

	(void)hostport_format(&r->target, hp, sizeof(hp));
	probe_cat(o, "[route %s]\n", r->name);
	for (i = 0; i < idx; i++) {
		f = &r->cands[i];
		if (!f->tried || f->ok)
			continue;
		probe_cand_label(f, label, sizeof(label));
		probe_cat(o, "; tried first, failed: %.200s: %.200s\n", label,
		    f->failure);
	}
	if (r->http)
		probe_cat(o, "; the endpoint answers HTTP (%.60s)\n",
		    r->http_status);
	probe_cat(o, "mode = %s\n", r->http ? "http" : "tcp");
	probe_cat(o, "upstream = %s\n", hp);
	if (r->proxy[0] != '\0')
		probe_cat(o, "upstream_proxy = %s\n", r->proxy);
	if (r->proxy_auth[0] != '\0')
		probe_cat(o, "upstream_proxy_auth = %s\n", r->proxy_auth);
}

/* Versions, level, ciphers, renegotiation, provider and SNI. */
static void
probe_block_tls(struct probe_out *o, const struct probe_result *r,
    const struct probe_candidate *c)
{
	char range[16], acc[64];

	tls_range_format(&c->tls, range, sizeof(range));
	probe_accepted_str(r, acc, sizeof(acc));
	probe_cat(o, "; accepted alone: TLS %s\n", acc);
	probe_cat(o, "upstream_tls = %s\n", range);
	if (c->why_level != NULL)
		probe_cat(o, "; %s\n", c->why_level);
	if (c->security_level >= 0)
		probe_cat(o, "upstream_security_level = %d\n", c->security_level);
	if (c->ciphers[0] != '\0')
		probe_cat(o, "upstream_ciphers = %s\n", c->ciphers);
	if (c->legacy_reneg) {
		probe_cat(o, "; the endpoint does not support RFC 5746 secure "
		    "renegotiation (no renegotiation_info)\n");
		probe_cat(o, "upstream_legacy_renegotiation = yes\n");
	}
	if (c->legacy_provider)
		probe_cat(o, "upstream_legacy_provider = yes\n");
	if (r->sni_off)
		probe_cat(o, "upstream_sni = off\n");
	else if (r->sni[0] != '\0')
		probe_cat(o, "upstream_sni = %s\n", r->sni);
}

/* upstream_verify = ca (with upstream_ca) or pin (with upstream_pin). */
static void
probe_block_verify(struct probe_out *o, const struct probe_result *r,
    const struct probe_candidate *c)
{
	if (c->verify == VERIFY_CA) {
		probe_cat(o, "; the chain verifies against %.200s for %.100s\n",
		    probe_ca_name(r), r->verify_name);
		probe_cat(o, "upstream_verify = ca\n");
		if (r->ca[0] != '\0')
			probe_cat(o, "upstream_ca = %s\n", r->ca);
		return;
	}
	if (r->chain_verified)
		probe_cat(o, "; upstream_verify = pin: the chain verifies, but not "
		    "at any security level tried\n");
	else
		probe_cat(o, "; upstream_verify = pin: the chain does not verify "
		    "against %.200s for %.100s (%.100s); trust exactly this key "
		    "instead\n", probe_ca_name(r), r->verify_name,
		    r->verify_error);
	probe_cat(o, "upstream_verify = pin\n");
	probe_cat(o, "upstream_pin = %s\n", r->pin);
}

int
probe_route_block(const struct probe_result *r, unsigned idx, char *buf,
    size_t cap)
{
	const struct probe_candidate *c;
	struct probe_out o;

	if (idx >= r->ncands)
		return -1;
	c = &r->cands[idx];
	probe_out_init(&o, buf, cap);
	probe_block_head(&o, r, idx);
	if (c->tls.off) {
		probe_cat(&o, "; the endpoint does not speak TLS\n");
		probe_cat(&o, "upstream_tls = off\n");
	} else {
		probe_block_tls(&o, r, c);
		probe_block_verify(&o, r, c);
	}
	return o.off < o.cap ? 0 : -1;
}

/* ---- JSON ---------------------------------------------------------------- */

/*
 * Where the JSON report is built: its facts fit in far less than the
 * first size, and the doubling is only for hint texts of any length.
 */
#define PROBE_JSON_MIN 16384
#define PROBE_JSON_MAX ((size_t)4 << 20)

/* A string member, or null when val is "" (a fact not known). */
static void
probe_json_opt(struct json_buf *j, const char *key, const char *val)
{
	if (val[0] != '\0')
		json_str(j, key, val);
	else
		json_null(j, key);
}

/*
 * Opens the object of one thing tried: "tried", then what came of it under
 * its own name ("accepted", "resumed", "ok", "answered").  The caller adds
 * the rest and closes it.
 */
static void
probe_json_attempt(struct json_buf *j, const char *key, bool tried,
    const char *outcome, bool result)
{
	json_open_object(j, key);
	json_bool(j, "tried", tried);
	json_bool(j, outcome, result);
}

static void
probe_json_err(struct json_buf *j, const char *key, const struct tb_err *e)
{
	json_open_object(j, key);
	json_str(j, "code", close_reason_str(e->code));
	json_str(j, "phase", diag_phase_str(e->phase));
	probe_json_opt(j, "alert", e->alert);
	json_str(j, "detail", e->msg);
	json_str(j, "hint", diag_hint(e));
	json_close(j);
}

static void
probe_json_weak(struct json_buf *j, const char *key, const struct probe_weak *w)
{
	probe_json_attempt(j, key, w->tried, "accepted", w->accepted);
	if (w->accepted) {
		json_str(j, "suite", probe_suite_name(w->suite));
		json_str(j, "version", tls_version_str(w->version));
		json_bool(j, "secure_renegotiation", w->reneg_info);
		json_bool(j, "handshake", w->handshake);
	}
	probe_json_opt(j, "detail", w->detail);
	json_close(j);
}

static void
probe_json_families(struct json_buf *j, const struct probe_version *v)
{
	json_open_object(j, "families");
	json_bool(j, "ecdhe", v->ecdhe);
	probe_json_opt(j, "ecdhe_group", v->ecdhe_group);
	json_bool(j, "dhe", v->dhe);
	json_int(j, "dh_bits", v->dh_bits);
	json_bool(j, "rsa", v->rsa);
	probe_json_opt(j, "rsa_cipher", v->rsa_cipher);
	json_close(j);
}

static void
probe_json_version(struct json_buf *j, const struct probe_version *v)
{
	probe_json_attempt(j, tls_version_name(v->version), v->tried, "accepted",
	    v->accepted);
	if (v->accepted) {
		json_str(j, "cipher", v->cipher);
		if (v->version <= TLS1_2_VERSION)
			json_bool(j, "secure_renegotiation", v->secure_reneg);
	} else if (v->tried)
		probe_json_err(j, "refused", &v->err);
	if (v->families_tried)
		probe_json_families(j, v);
	json_close(j);
}

/* Where it connected and whether it speaks TLS at all. */
static void
probe_json_target(struct json_buf *j, const struct probe_result *r)
{
	char hp[300];
	bool any = false;
	unsigned i;

	(void)hostport_format(&r->target, hp, sizeof(hp));
	json_str(j, "target", hp);
	if (r->sni_off || r->sni[0] != '\0')
		json_str(j, "sni", r->sni_off ? "off" : r->sni);
	else
		json_null(j, "sni");
	json_str(j, "route_name", r->name);
	probe_json_opt(j, "address", r->addr);
	json_bool(j, "connect", r->connect_ok);
	if (!r->connect_ok)
		probe_json_err(j, "connect_error", &r->connect_err);
	json_bool(j, "silent", r->silent);
	for (i = 0; i < PROBE_NVERSIONS; i++)
		any = any || r->v[i].accepted;
	json_bool(j, "tls", r->connect_ok && !r->plain && !r->silent &&
	    (any || r->des3.accepted || r->rc4.accepted));
	json_bool(j, "plain", r->plain);
	if (r->tls_err.code != CR_OK)
		probe_json_err(j, "tls_error", &r->tls_err);
}

/* Versions, 3DES and RC4, resumption. */
static void
probe_json_protocols(struct json_buf *j, const struct probe_result *r)
{
	unsigned i;

	json_open_object(j, "versions");
	for (i = 0; i < PROBE_NVERSIONS; i++)
		probe_json_version(j, &r->v[i]);
	json_close(j);
	probe_json_weak(j, "3des", &r->des3);
	probe_json_weak(j, "rc4", &r->rc4);
	probe_json_attempt(j, "resumption", r->resumption_tried, "resumed",
	    r->resumed);
	json_close(j);
}

static void
probe_json_cert(struct json_buf *j, const struct probe_cert *c)
{
	json_open_object(j, NULL);
	json_str(j, "subject", c->subject);
	json_str(j, "issuer", c->issuer);
	json_str(j, "not_before", c->not_before);
	json_str(j, "not_after", c->not_after);
	json_bool(j, "expired", c->expired);
	json_bool(j, "not_yet_valid", c->not_yet_valid);
	json_str(j, "signature", c->sigalg);
	json_str(j, "key_type", c->key_type);
	json_int(j, "key_bits", c->key_bits);
	json_close(j);
}

/* The chain, its verification and the pin. */
static void
probe_json_certs(struct json_buf *j, const struct probe_result *r)
{
	unsigned i;

	json_open_array(j, "chain");
	for (i = 0; i < r->ncerts; i++)
		probe_json_cert(j, &r->certs[i]);
	json_close(j);
	probe_json_attempt(j, "verify", r->verify_tried, "ok", r->chain_verified);
	json_str(j, "against", r->ca[0] != '\0' ? r->ca : "system store");
	probe_json_opt(j, "name", r->verify_name);
	if (r->verify_tried && !r->chain_verified) {
		json_int(j, "error_code", r->verify_code);
		json_str(j, "error", r->verify_error);
	}
	json_close(j);
	probe_json_opt(j, "pin", r->pin);
}

static void
probe_json_http(struct json_buf *j, const struct probe_result *r)
{
	probe_json_attempt(j, "http", r->http_tried, "answered", r->http);
	probe_json_opt(j, "over", r->http_over);
	probe_json_opt(j, "status", r->http_status);
	probe_json_opt(j, "server", r->http_server);
	probe_json_opt(j, "detail", r->http_detail);
	json_close(j);
}

/* The candidates tried, the route block chosen, or why there is none. */
static void
probe_json_route(struct json_buf *j, const struct probe_result *r)
{
	const struct probe_candidate *cd;
	char label[400];
	unsigned i;

	json_open_array(j, "candidates");
	for (i = 0; i < r->ncands; i++) {
		cd = &r->cands[i];
		if (!cd->tried)
			continue;
		probe_cand_label(cd, label, sizeof(label));
		json_open_object(j, NULL);
		json_str(j, "settings", label);
		json_bool(j, "ok", cd->ok);
		json_str(j, cd->ok ? "outcome" : "failure", cd->ok ? cd->outcome :
		    cd->failure);
		json_close(j);
	}
	json_close(j);
	json_open_object(j, "route");
	json_bool(j, "ok", r->chosen >= 0);
	if (r->chosen >= 0) {
		json_str(j, "outcome", r->cands[r->chosen].outcome);
		json_str(j, "block", r->block);
	}
	json_close(j);
	probe_json_opt(j, "message", r->message);
}

/* The whole report into buf: its length, or -1 when cap is too small. */
static long
probe_json_buf(const struct probe_result *r, char *buf, size_t cap)
{
	struct json_buf j;

	json_begin(&j, buf, cap);
	probe_json_target(&j, r);
	probe_json_protocols(&j, r);
	probe_json_certs(&j, r);
	probe_json_http(&j, r);
	probe_json_route(&j, r);
	return json_finish(&j);
}

int
probe_json(const struct probe_result *r, FILE *out)
{
	size_t cap;
	char *buf;
	long n;

	for (cap = PROBE_JSON_MIN; cap <= PROBE_JSON_MAX; cap *= 2) {
		if ((buf = malloc(cap)) == NULL)
			return -1;
		if ((n = probe_json_buf(r, buf, cap)) >= 0) {
			(void)fwrite(buf, 1, (size_t)n, out);
			free(buf);
			return ferror(out) ? -1 : 0;
		}
		free(buf);
	}
	return -1;
}

/* ---- the text report ----------------------------------------------------- */

static void
probe_report_err(FILE *out, const char *indent, const struct tb_err *e)
{
	fprintf(out, "%s%s", indent, close_reason_str(e->code));
	if (e->alert[0] != '\0')
		fprintf(out, " (alert %s)", e->alert);
	fprintf(out, ": %s\n", e->msg);
}

/* The target, whether it connected, and whether it speaks TLS at all. */
static void
probe_report_target(const struct probe_result *r, FILE *out)
{
	char hp[300];

	(void)hostport_format(&r->target, hp, sizeof(hp));
	fprintf(out, "probe %s", hp);
	if (r->sni_off)
		fprintf(out, " (no SNI)");
	else if (r->sni[0] != '\0')
		fprintf(out, " (SNI %s)", r->sni);
	fprintf(out, "\n");
	if (!r->connect_ok) {
		fprintf(out, "  connect:     failed: ");
		probe_report_err(out, "", &r->connect_err);
		fprintf(out, "  hint:        %s\n", diag_hint(&r->connect_err));
	} else
		fprintf(out, "  connect:     ok (%s)\n", r->addr);
	if (r->silent)
		fprintf(out, "  the endpoint accepts TCP but never answers, to TLS "
		    "or to HTTP\n");
	if (r->plain)
		fprintf(out, "  TLS:         not spoken on this port (%s)\n",
		    r->tls_err.msg);
}

static void
probe_report_families(const struct probe_version *v, FILE *out)
{
	fprintf(out, "               ECDHE: %s", v->ecdhe ? "yes" : "no");
	if (v->ecdhe && v->ecdhe_group[0] != '\0')
		fprintf(out, " (%s)", v->ecdhe_group);
	fprintf(out, ", DHE: %s", v->dhe ? "yes" : "no");
	if (v->dhe && v->dh_bits > 0)
		fprintf(out, " (%d-bit group)", v->dh_bits);
	fprintf(out, ", plain RSA: %s", v->rsa ? "yes" : "no");
	if (v->rsa)
		fprintf(out, " (%s)", v->rsa_cipher);
	fprintf(out, "\n");
}

static void
probe_report_version(const struct probe_version *v, FILE *out)
{
	fprintf(out, "  TLS %s:     ", tls_version_name(v->version));
	if (!v->accepted) {
		probe_report_err(out, "refused, ", &v->err);
		return;
	}
	fprintf(out, "accepted (%s)", v->cipher);
	if (v->version <= TLS1_2_VERSION)
		fprintf(out, ", secure renegotiation: %s",
		    v->secure_reneg ? "yes" : "NO (no RFC 5746)");
	fprintf(out, "\n");
	if (v->families_tried)
		probe_report_families(v, out);
}

/* name is "3DES" or "RC4", padded to the column of the other lines. */
static void
probe_report_weak(const char *name, const struct probe_weak *w, FILE *out)
{
	if (!w->tried)
		return;
	fprintf(out, "  %s:%*s", name, (int)(12 - strlen(name)), "");
	if (w->accepted)
		fprintf(out, "ACCEPTED (%s over %s%s)%s\n",
		    probe_suite_name(w->suite), tls_version_str(w->version),
		    w->reneg_info ? "" : ", no RFC 5746", w->handshake ?
		    ", handshake completed by this OpenSSL" : "");
	else
		fprintf(out, "no (%s)\n", w->detail);
}

/* Versions, 3DES and RC4, resumption. */
static void
probe_report_protocols(const struct probe_result *r, FILE *out)
{
	unsigned i;

	for (i = 0; i < PROBE_NVERSIONS && !r->plain; i++)
		if (r->v[i].tried)
			probe_report_version(&r->v[i], out);
	probe_report_weak("3DES", &r->des3, out);
	probe_report_weak("RC4", &r->rc4, out);
	if (r->resumption_tried)
		fprintf(out, "  resumption:  %s\n", r->resumed ? "yes" : "no");
}

/* The chain, its verification and the pin. */
static void
probe_report_certs(const struct probe_result *r, FILE *out)
{
	const struct probe_cert *c;
	unsigned i;

	for (i = 0; i < r->ncerts; i++) {
		c = &r->certs[i];
		fprintf(out, "  cert %u:      subject %s\n", i, c->subject);
		fprintf(out, "               issuer  %s\n", c->issuer);
		fprintf(out, "               valid   %s .. %s%s%s\n", c->not_before,
		    c->not_after, c->expired ? "  EXPIRED" : "",
		    c->not_yet_valid ? "  NOT YET VALID" : "");
		fprintf(out, "               key     %s %d bits, signed %s\n",
		    c->key_type, c->key_bits, c->sigalg);
	}
	if (r->verify_tried && r->chain_verified)
		fprintf(out, "  chain:       verifies against %s for %s\n",
		    probe_ca_name(r), r->verify_name);
	else if (r->verify_tried)
		fprintf(out, "  chain:       does NOT verify against %s for %s: %s "
		    "(verify error %ld)\n", probe_ca_name(r), r->verify_name,
		    r->verify_error, r->verify_code);
	if (r->pin[0] != '\0')
		fprintf(out, "  pin:         %s\n", r->pin);
}

static void
probe_report_http(const struct probe_result *r, FILE *out)
{
	if (!r->http_tried)
		return;
	if (r->http)
		fprintf(out, "  HTTP:        %s%s%s (over %s)\n", r->http_status,
		    r->http_server[0] != '\0' ? ", Server: " : "", r->http_server,
		    r->http_over);
	else
		fprintf(out, "  HTTP:        no answer to HEAD / (%s)\n",
		    r->http_detail);
}

/* The verified block, or what was tried and why none works. */
static void
probe_report_outcome(const struct probe_result *r, FILE *out)
{
	char label[400];
	unsigned i;

	if (r->chosen >= 0) {
		fprintf(out, "verified: a connection with exactly this block "
		    "worked: %s\n\n%s", r->cands[r->chosen].outcome, r->block);
		return;
	}
	for (i = 0; i < r->ncands; i++) {
		if (!r->cands[i].tried)
			continue;
		probe_cand_label(&r->cands[i], label, sizeof(label));
		fprintf(out, "tried: %s: %s\n", label, r->cands[i].failure);
	}
	fprintf(out, "no working route: %s\n", r->message);
}

void
probe_report(const struct probe_result *r, FILE *out)
{
	probe_report_target(r, out);
	probe_report_protocols(r, out);
	probe_report_certs(r, out);
	probe_report_http(r, out);
	fprintf(out, "\n");
	probe_report_outcome(r, out);
}
