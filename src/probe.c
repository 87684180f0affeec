/* SPDX-License-Identifier: MIT */
/*
 * probe: `tlsbroker probe HOST:PORT` and `tlsbroker probe --route NAME`.
 * Discovery follows LEGACY-TLS.md: each version is tried alone with every
 * suite at security level 0 and legacy renegotiation allowed (failures are
 * layered, finding 3, so one knob at a time would mislead); 3DES and RC4
 * are detected from raw ServerHellos because Debian's libssl has no such
 * suites at all (finding 1).  The suggested route block is then proven
 * by parsing it with the real config loader and connecting with it
 * through tls_client, so what the engineer pastes is what was tested.
 * See probe.h.
 */
#include "config.h"

#include "probe.h"

#include <sys/socket.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "conf.h"
#include "conf_check.h"
#include "diag.h"
#include "gen.h"
#include "json.h"
#include "parse.h"
#include "tls_client.h"
#include "tlsio.h"

#define PROBE_DEFAULT_TIMEOUT_MS 5000
#define PROBE_DEFAULT_CONF SYSCONFDIR "/tlsbroker/tlsbroker.ini"
/* Discovery offers everything this libssl has, at level 0. */
#define PROBE_ALL_CIPHERS "ALL:@SECLEVEL=0"
/* Plain-RSA key exchange suites that work at security level 2 (finding 2). */
#define PROBE_KRSA_CIPHERS "AES128-SHA:AES256-SHA"

#define SUITE_RSA_3DES_EDE_CBC_SHA	0x000a
#define SUITE_RSA_RC4_128_SHA		0x0005
#define SUITE_RSA_RC4_128_MD5		0x0004
#define SUITE_EMPTY_RENEGOTIATION_SCSV	0x00ff
#define EXT_SERVER_NAME			0x0000
#define EXT_RENEGOTIATION_INFO		0xff01

#define WEAK_MESSAGE \
	"this endpoint only offers 3DES (or RC4); Debian's OpenSSL has no such " \
	"suites: build the private OpenSSL with enable-weak-ssl-ciphers (script " \
	"in the tree) and configure with --with-openssl=DIR"

static const int probe_versions[PROBE_NVERSIONS] = {
	TLS1_VERSION, TLS1_1_VERSION, TLS1_2_VERSION, TLS1_3_VERSION
};

int
probe_version_at(unsigned i)
{
	return i < PROBE_NVERSIONS ? probe_versions[i] : 0;
}

int
probe_version_index(int version)
{
	unsigned i;

	for (i = 0; i < PROBE_NVERSIONS; i++)
		if (probe_versions[i] == version)
			return (int)i;
	return -1;
}

static const char *
probe_suite_name(uint16_t suite)
{
	switch (suite) {
	case SUITE_RSA_3DES_EDE_CBC_SHA:
		return "DES-CBC3-SHA";
	case SUITE_RSA_RC4_128_SHA:
		return "RC4-SHA";
	case SUITE_RSA_RC4_128_MD5:
		return "RC4-MD5";
	default:
		return "?";
	}
}

/* Appends to buf at *off; sticky truncation reported through *off > cap. */
static void probe_cat(char *buf, size_t cap, size_t *off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
probe_cat(char *buf, size_t cap, size_t *off, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*off >= cap)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *off, cap - *off, fmt, ap);
	va_end(ap);
	if (n < 0)
		*off = cap;
	else
		*off += (size_t)n;
}

/* Copies at most len bytes of src as printable ASCII (others become '?'). */
static void
probe_copy_printable(char *dst, size_t cap, const char *src, size_t len)
{
	size_t i;

	if (cap == 0)
		return;
	for (i = 0; i < len && i + 1 < cap; i++) {
		unsigned char c = (unsigned char)src[i];

		dst[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	dst[i] = '\0';
}

static bool
probe_is_ip(const char *host)
{
	unsigned char a[16];

	return inet_pton(AF_INET, host, a) == 1 ||
	    inet_pton(AF_INET6, host, a) == 1;
}

/* "host:port", with brackets for IPv6 literals. */
static void
probe_hostport_str(const struct hostport *hp, char *buf, size_t cap)
{
	if (strchr(hp->host, ':') != NULL)
		snprintf(buf, cap, "[%s]:%u", hp->host, (unsigned)hp->port);
	else
		snprintf(buf, cap, "%s:%u", hp->host, (unsigned)hp->port);
}

/* ---- pure: wire formats -------------------------------------------------- */

static unsigned char *
put16(unsigned char *p, size_t v)
{
	*p++ = (unsigned char)(v >> 8);
	*p++ = (unsigned char)v;
	return p;
}

int
probe_client_hello(uint16_t client_version, const uint16_t *suites,
    size_t nsuites, const char *sni, const unsigned char random[32],
    unsigned char *out, size_t cap)
{
	size_t snilen = sni != NULL ? strlen(sni) : 0;
	size_t ext = sni != NULL ? 9 + snilen : 0;
	size_t body, i;
	unsigned char *p = out;

	if (snilen > 255 || nsuites > 64)
		return -1;
	/* version, random, empty session id, suites + SCSV, null compression */
	body = 2 + 32 + 1 + 2 + 2 * (nsuites + 1) + 2 + 2 + ext;
	if (5 + 4 + body > cap)
		return -1;
	*p++ = 22;			/* handshake record */
	*p++ = 3;
	*p++ = 1;			/* record version TLS 1.0: most tolerated */
	p = put16(p, 4 + body);
	*p++ = 1;			/* client_hello */
	*p++ = (unsigned char)(body >> 16);
	p = put16(p, body);
	p = put16(p, client_version);
	memcpy(p, random, 32);
	p += 32;
	*p++ = 0;			/* session id */
	p = put16(p, 2 * (nsuites + 1));
	for (i = 0; i < nsuites; i++)
		p = put16(p, suites[i]);
	/* RFC 5746 SCSV: tells a server we can, so it may send renegotiation_info */
	p = put16(p, SUITE_EMPTY_RENEGOTIATION_SCSV);
	*p++ = 1;
	*p++ = 0;
	/* Always an extensions block: lighttpd's GnuTLS module wants one. */
	p = put16(p, ext);
	if (sni != NULL) {
		p = put16(p, EXT_SERVER_NAME);
		p = put16(p, 5 + snilen);
		p = put16(p, 3 + snilen);
		*p++ = 0;		/* host_name */
		p = put16(p, snilen);
		memcpy(p, sni, snilen);
		p += snilen;
	}
	return (int)(p - out);
}

static size_t
get16(const unsigned char *p)
{
	return (size_t)p[0] << 8 | p[1];
}

int
probe_parse_server_hello(const unsigned char *buf, size_t len,
    struct probe_hello *h)
{
	const unsigned char *p, *end;
	size_t rlen, mlen, sidlen, elen, xlen;

	memset(h, 0, sizeof(*h));
	if (len < 5)
		return len > 0 && buf[0] != 21 && buf[0] != 22 ? -1 : 0;
	if ((buf[0] != 21 && buf[0] != 22) || buf[1] != 3)
		return -1;
	rlen = get16(buf + 3);
	if (rlen == 0 || rlen > 16384 + 2048)
		return -1;
	if (len < 5 + rlen)
		return 0;
	p = buf + 5;
	if (buf[0] == 21) {
		if (rlen < 2)
			return -1;
		h->alert = true;
		h->alert_level = p[0];
		h->alert_desc = p[1];
		return 1;
	}
	/* The ServerHello must open the record (no server fragments it). */
	if (rlen < 4 || p[0] != 2)
		return -1;
	mlen = (size_t)p[1] << 16 | get16(p + 2);
	if (4 + mlen > rlen || mlen < 2 + 32 + 1)
		return -1;
	p += 4;
	end = p + mlen;
	h->version = (uint16_t)get16(p);
	p += 2 + 32;
	sidlen = *p++;
	if (sidlen > 32 || (size_t)(end - p) < sidlen + 3)
		return -1;
	p += sidlen;
	h->suite = (uint16_t)get16(p);
	p += 3;				/* suite, compression method */
	if (p == end)
		return 1;		/* no extensions */
	if (end - p < 2)
		return -1;
	elen = get16(p);
	p += 2;
	if ((size_t)(end - p) != elen)
		return -1;
	while (p < end) {
		if (end - p < 4)
			return -1;
		xlen = get16(p + 2);
		if ((size_t)(end - p - 4) < xlen)
			return -1;
		if (get16(p) == EXT_RENEGOTIATION_INFO)
			h->reneg_info = true;
		p += 4 + xlen;
	}
	return 1;
}

int
probe_parse_http_head(const char *buf, size_t len, char *status, size_t scap,
    char *server, size_t svcap)
{
	const char *p = buf, *end = buf + len, *eol, *v;
	size_t n;
	bool first = true;

	if (scap > 0)
		status[0] = '\0';
	if (svcap > 0)
		server[0] = '\0';
	if (len < 5 || memcmp(buf, "HTTP/", 5) != 0)
		return -1;
	while (p < end) {
		if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
			eol = end;
		n = (size_t)(eol - p);
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (first) {
			probe_copy_printable(status, scap, p, n);
			first = false;
		} else if (n == 0) {
			break;		/* end of the head */
		} else if (n > 7 && strncasecmp(p, "server:", 7) == 0) {
			v = p + 7;
			while (v < p + n && (*v == ' ' || *v == '\t'))
				v++;
			n -= (size_t)(v - p);
			while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
				n--;
			probe_copy_printable(server, svcap, v, n);
		}
		p = eol + 1;
	}
	return 0;
}

void
probe_route_name(const char *host, char *buf, size_t cap)
{
	size_t i, n = 0;

	if (cap == 0)
		return;
	for (i = 0; host[i] != '\0' && n + 1 < cap; i++) {
		unsigned char c = (unsigned char)host[i];

		buf[n++] = parse_is_name_char(c) ? (char)c : '-';
	}
	buf[n] = '\0';
	if (n == 0)
		snprintf(buf, cap, "endpoint");
}

/* ---- pure: candidates and the route block ------------------------------ */

static const struct probe_version *
probe_v(const struct probe_result *r, int version)
{
	int i = probe_version_index(version);

	return i >= 0 ? &r->v[i] : NULL;
}

static bool
probe_accepted(const struct probe_result *r, int version)
{
	const struct probe_version *v = probe_v(r, version);

	return v != NULL && v->accepted;
}

static struct probe_candidate *
probe_cand_add(struct probe_result *r, enum upstream_verify verify, int min,
    int max)
{
	struct probe_candidate *c;

	if (r->ncands >= PROBE_MAX_CANDIDATES)
		return NULL;
	c = &r->cands[r->ncands++];
	memset(c, 0, sizeof(*c));
	c->tls.off = false;
	c->tls.min = min;
	c->tls.max = max;
	c->security_level = -1;
	c->verify = verify;
	return c;
}

/* TLS 1.2/1.3: the default level first, then lower (DH-1024, SHA-1 certs). */
static void
probe_cands_modern(struct probe_result *r, enum upstream_verify verify)
{
	static const struct {
		int level;
		const char *why;
	} levels[] = {
		{ -1, NULL },
		{ 1, "security level 1: the default level 2 refuses this endpoint "
		    "(a 1024-bit DH group or key, or a SHA-1 signature)" },
		{ 0, "security level 0: levels 1 and 2 refuse this endpoint "
		    "(an RSA-1024 or SHA-1 certificate, or a weaker DH group)" },
	};
	struct probe_candidate *c;
	bool has12 = probe_accepted(r, TLS1_2_VERSION);
	int min = has12 ? TLS1_2_VERSION : TLS1_3_VERSION;
	int max = probe_accepted(r, TLS1_3_VERSION) ? TLS1_3_VERSION :
	    TLS1_2_VERSION;
	bool lsc = has12 && !probe_v(r, TLS1_2_VERSION)->secure_reneg;
	size_t i;

	for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		if ((c = probe_cand_add(r, verify, min, max)) == NULL)
			return;
		c->security_level = levels[i].level;
		c->why_level = levels[i].why;
		c->legacy_reneg = lsc;
	}
}

/* TLS 1.0/1.1: forward secrecy at level 0 first, then plain RSA at level 2. */
static void
probe_cands_legacy(struct probe_result *r, enum upstream_verify verify)
{
	struct probe_candidate *c;
	const struct probe_version *v;
	int min = 0, max = 0;
	bool fs = false, krsa = false, lsc = false;
	const char *rsa_cipher = NULL;
	unsigned i;

	for (i = 0; i < PROBE_NVERSIONS; i++) {
		v = &r->v[i];
		if (!v->accepted || v->version >= TLS1_2_VERSION)
			continue;
		if (min == 0)
			min = v->version;
		max = v->version;
		fs = fs || v->ecdhe || v->dhe;
		krsa = krsa || v->rsa;
		lsc = lsc || !v->secure_reneg;
		if (v->rsa && v->rsa_cipher[0] != '\0')
			rsa_cipher = v->rsa_cipher;
	}
	if (min == 0)
		return;
	if (fs || !krsa) {
		if ((c = probe_cand_add(r, verify, min, max)) == NULL)
			return;
		c->security_level = 0;
		c->why_level = "security level 0: TLS 1.0/1.1 sign the key "
		    "exchange with MD5+SHA-1, which levels 1 and up refuse";
		c->legacy_reneg = lsc;
	}
	if (krsa) {
		if ((c = probe_cand_add(r, verify, min, max)) == NULL)
			return;
		c->security_level = 2;
		/* plain RSA has no signed key exchange, so level 2 holds (finding 2) */
		if (rsa_cipher != NULL && strstr(PROBE_KRSA_CIPHERS, rsa_cipher) == NULL)
			snprintf(c->ciphers, sizeof(c->ciphers), "%s:%s", rsa_cipher,
			    PROBE_KRSA_CIPHERS);
		else
			snprintf(c->ciphers, sizeof(c->ciphers), "%s",
			    PROBE_KRSA_CIPHERS);
		c->why_level = fs ? "plain RSA key exchange at security level 2: "
		    "no forward secrecy, but no MD5+SHA-1 signature to allow" :
		    "the endpoint offers only plain RSA key exchange: these suites "
		    "work at security level 2 (no MD5+SHA-1 signature to allow)";
		c->legacy_reneg = lsc;
	}
}

/* 3DES / RC4: only reachable with a libssl built enable-weak-ssl-ciphers. */
static void
probe_cands_weak(struct probe_result *r, enum upstream_verify verify)
{
	struct probe_candidate *c;
	const struct probe_weak *w;
	int k;

	for (k = 0; k < 2; k++) {
		w = k == 0 ? &r->des3 : &r->rc4;
		if (!w->accepted || probe_version_index(w->version) < 0 ||
		    w->version > TLS1_2_VERSION)
			continue;
		if ((c = probe_cand_add(r, verify, w->version, w->version)) == NULL)
			return;
		c->security_level = 0;
		c->legacy_reneg = !w->reneg_info;
		if (k == 0) {
			snprintf(c->ciphers, sizeof(c->ciphers), "DES-CBC3-SHA");
			c->why_level = "3DES only: needs an OpenSSL built with "
			    "enable-weak-ssl-ciphers, at security level 0";
		} else {
			snprintf(c->ciphers, sizeof(c->ciphers), "RC4-SHA:RC4-MD5");
			c->legacy_provider = true;
			c->why_level = "RC4 only: needs an OpenSSL built with "
			    "enable-weak-ssl-ciphers plus the legacy provider";
		}
	}
}

void
probe_candidates(struct probe_result *r)
{
	enum upstream_verify verifies[2];
	unsigned nv = 0, i;
	bool modern, legacy = false;
	struct probe_candidate *c;

	r->ncands = 0;
	r->chosen = -1;
	if (!r->connect_ok || r->silent)
		return;
	if (r->plain) {
		if ((c = probe_cand_add(r, VERIFY_OFF, 0, 0)) != NULL)
			c->tls.off = true;
		return;
	}
	if (r->chain_verified)
		verifies[nv++] = VERIFY_CA;
	if (r->pin[0] != '\0')
		verifies[nv++] = VERIFY_PIN;
	modern = probe_accepted(r, TLS1_2_VERSION) ||
	    probe_accepted(r, TLS1_3_VERSION);
	legacy = probe_accepted(r, TLS1_VERSION) ||
	    probe_accepted(r, TLS1_1_VERSION);
	for (i = 0; i < nv; i++) {
		if (modern)
			probe_cands_modern(r, verifies[i]);
		if (legacy)
			probe_cands_legacy(r, verifies[i]);
	}
	/*
	 * The weak suites come last: they only help on a private OpenSSL
	 * build, and there only if nothing better was accepted.  Without a
	 * certificate seen (nothing else accepted) there is no pin to offer.
	 */
	for (i = 0; i < nv; i++)
		probe_cands_weak(r, verifies[i]);
}

static void
probe_cand_label(const struct probe_candidate *c, char *buf, size_t cap)
{
	char range[16];
	size_t off = 0;

	tls_range_format(&c->tls, range, sizeof(range));
	probe_cat(buf, cap, &off, "upstream_tls = %s", range);
	if (c->tls.off)
		return;
	if (c->security_level >= 0)
		probe_cat(buf, cap, &off, ", upstream_security_level = %d",
		    c->security_level);
	if (c->ciphers[0] != '\0')
		probe_cat(buf, cap, &off, ", upstream_ciphers = %s", c->ciphers);
	if (c->legacy_reneg)
		probe_cat(buf, cap, &off, ", upstream_legacy_renegotiation = yes");
	if (c->legacy_provider)
		probe_cat(buf, cap, &off, ", upstream_legacy_provider = yes");
	probe_cat(buf, cap, &off, ", upstream_verify = %s",
	    c->verify == VERIFY_CA ? "ca" : c->verify == VERIFY_PIN ? "pin" :
	    "off");
}

/* "1.0, 1.1" of the accepted versions. */
static void
probe_accepted_str(const struct probe_result *r, char *buf, size_t cap)
{
	size_t off = 0;
	unsigned i;

	buf[0] = '\0';
	for (i = 0; i < PROBE_NVERSIONS; i++)
		if (r->v[i].accepted)
			probe_cat(buf, cap, &off, "%s%s", off > 0 ? ", " : "",
			    tls_version_name(r->v[i].version));
	if (off == 0)
		snprintf(buf, cap, "none");
}

int
probe_route_block(const struct probe_result *r, unsigned idx, char *buf,
    size_t cap)
{
	const struct probe_candidate *c, *f;
	char hp[300], range[16], label[400], acc[64];
	size_t off = 0;
	unsigned i;

	if (idx >= r->ncands)
		return -1;
	c = &r->cands[idx];
	probe_hostport_str(&r->target, hp, sizeof(hp));
	probe_cat(buf, cap, &off, "[route %s]\n", r->name);
	for (i = 0; i < idx; i++) {
		f = &r->cands[i];
		if (!f->tried || f->ok)
			continue;
		probe_cand_label(f, label, sizeof(label));
		probe_cat(buf, cap, &off, "; tried first, failed: %.200s: %.200s\n",
		    label, f->failure);
	}
	if (r->http)
		probe_cat(buf, cap, &off, "; the endpoint answers HTTP (%.60s)\n",
		    r->http_status);
	probe_cat(buf, cap, &off, "mode = %s\n", r->http ? "http" : "tcp");
	probe_cat(buf, cap, &off, "upstream = %s\n", hp);
	if (c->tls.off) {
		probe_cat(buf, cap, &off, "; the endpoint does not speak TLS\n");
		probe_cat(buf, cap, &off, "upstream_tls = off\n");
		return off < cap ? 0 : -1;
	}
	tls_range_format(&c->tls, range, sizeof(range));
	probe_accepted_str(r, acc, sizeof(acc));
	probe_cat(buf, cap, &off, "; accepted alone: TLS %s\n", acc);
	probe_cat(buf, cap, &off, "upstream_tls = %s\n", range);
	if (c->why_level != NULL)
		probe_cat(buf, cap, &off, "; %s\n", c->why_level);
	if (c->security_level >= 0)
		probe_cat(buf, cap, &off, "upstream_security_level = %d\n",
		    c->security_level);
	if (c->ciphers[0] != '\0')
		probe_cat(buf, cap, &off, "upstream_ciphers = %s\n", c->ciphers);
	if (c->legacy_reneg) {
		probe_cat(buf, cap, &off, "; the endpoint does not support RFC 5746 "
		    "secure renegotiation (no renegotiation_info)\n");
		probe_cat(buf, cap, &off, "upstream_legacy_renegotiation = yes\n");
	}
	if (c->legacy_provider)
		probe_cat(buf, cap, &off, "upstream_legacy_provider = yes\n");
	if (r->sni_off)
		probe_cat(buf, cap, &off, "upstream_sni = off\n");
	else if (r->sni[0] != '\0')
		probe_cat(buf, cap, &off, "upstream_sni = %s\n", r->sni);
	if (c->verify == VERIFY_CA) {
		probe_cat(buf, cap, &off, "; the chain verifies against %.200s for "
		    "%.100s\n", r->ca[0] != '\0' ? r->ca : "the system store",
		    r->verify_name);
		probe_cat(buf, cap, &off, "upstream_verify = ca\n");
		if (r->ca[0] != '\0')
			probe_cat(buf, cap, &off, "upstream_ca = %s\n", r->ca);
	} else {
		if (r->chain_verified)
			probe_cat(buf, cap, &off, "; upstream_verify = pin: the chain "
			    "verifies, but not at any security level tried\n");
		else
			probe_cat(buf, cap, &off, "; upstream_verify = pin: the chain "
			    "does not verify against %.200s for %.100s (%.100s); "
			    "trust exactly this key instead\n", r->ca[0] != '\0' ?
			    r->ca : "the system store", r->verify_name,
			    r->verify_error);
		probe_cat(buf, cap, &off, "upstream_verify = pin\n");
		probe_cat(buf, cap, &off, "upstream_pin = %s\n", r->pin);
	}
	return off < cap ? 0 : -1;
}

/* ---- pure: JSON ---------------------------------------------------------- */

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
	json_open_object(j, key);
	json_bool(j, "tried", w->tried);
	json_bool(j, "accepted", w->accepted);
	if (w->accepted) {
		json_str(j, "suite", probe_suite_name(w->suite));
		json_str(j, "version", tls_version_str(w->version));
		json_bool(j, "secure_renegotiation", w->reneg_info);
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
	json_open_object(j, tls_version_name(v->version));
	json_bool(j, "tried", v->tried);
	json_bool(j, "accepted", v->accepted);
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

	probe_hostport_str(&r->target, hp, sizeof(hp));
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
	json_open_object(j, "resumption");
	json_bool(j, "tried", r->resumption_tried);
	json_bool(j, "resumed", r->resumed);
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
	json_open_object(j, "verify");
	json_bool(j, "tried", r->verify_tried);
	json_bool(j, "ok", r->chain_verified);
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
	json_open_object(j, "http");
	json_bool(j, "tried", r->http_tried);
	json_bool(j, "answered", r->http);
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

/* ---- pure: text report --------------------------------------------------- */

static void
probe_report_err(FILE *out, const char *indent, const struct tb_err *e)
{
	fprintf(out, "%s%s", indent, close_reason_str(e->code));
	if (e->alert[0] != '\0')
		fprintf(out, " (alert %s)", e->alert);
	fprintf(out, ": %s\n", e->msg);
}

void
probe_report(const struct probe_result *r, FILE *out)
{
	const struct probe_version *v;
	const struct probe_cert *c;
	const struct probe_weak *w;
	char hp[300];
	unsigned i;
	int k;

	probe_hostport_str(&r->target, hp, sizeof(hp));
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
	for (i = 0; i < PROBE_NVERSIONS && !r->plain; i++) {
		v = &r->v[i];
		if (!v->tried)
			continue;
		fprintf(out, "  TLS %s:     ", tls_version_name(v->version));
		if (!v->accepted) {
			probe_report_err(out, "refused, ", &v->err);
			continue;
		}
		fprintf(out, "accepted (%s)", v->cipher);
		if (v->version <= TLS1_2_VERSION)
			fprintf(out, ", secure renegotiation: %s",
			    v->secure_reneg ? "yes" : "NO (no RFC 5746)");
		fprintf(out, "\n");
		if (!v->families_tried)
			continue;
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
	for (k = 0; k < 2; k++) {
		w = k == 0 ? &r->des3 : &r->rc4;
		if (!w->tried)
			continue;
		fprintf(out, "  %s:%s", k == 0 ? "3DES" : "RC4",
		    k == 0 ? "        " : "         ");
		if (w->accepted)
			fprintf(out, "ACCEPTED (%s over %s%s)\n",
			    probe_suite_name(w->suite), tls_version_str(w->version),
			    w->reneg_info ? "" : ", no RFC 5746");
		else
			fprintf(out, "no (%s)\n", w->detail);
	}
	if (r->resumption_tried)
		fprintf(out, "  resumption:  %s\n", r->resumed ? "yes" : "no");
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
	if (r->verify_tried) {
		if (r->chain_verified)
			fprintf(out, "  chain:       verifies against %s for %s\n",
			    r->ca[0] != '\0' ? r->ca : "the system store",
			    r->verify_name);
		else
			fprintf(out, "  chain:       does NOT verify against %s for "
			    "%s: %s (verify error %ld)\n", r->ca[0] != '\0' ? r->ca :
			    "the system store", r->verify_name, r->verify_error,
			    r->verify_code);
	}
	if (r->pin[0] != '\0')
		fprintf(out, "  pin:         %s\n", r->pin);
	if (r->http_tried) {
		if (r->http)
			fprintf(out, "  HTTP:        %s%s%s (over %s)\n",
			    r->http_status, r->http_server[0] != '\0' ?
			    ", Server: " : "", r->http_server, r->http_over);
		else
			fprintf(out, "  HTTP:        no answer to HEAD / (%s)\n",
			    r->http_detail);
	}
	fprintf(out, "\n");
	if (r->chosen >= 0) {
		fprintf(out, "verified: a connection with exactly this block "
		    "worked: %s\n\n%s", r->cands[r->chosen].outcome, r->block);
		return;
	}
	for (i = 0; i < r->ncands; i++) {
		char label[400];

		if (!r->cands[i].tried)
			continue;
		probe_cand_label(&r->cands[i], label, sizeof(label));
		fprintf(out, "tried: %s: %s\n", label, r->cands[i].failure);
	}
	fprintf(out, "no working route: %s\n", r->message);
}

/* ---- blocking I/O under deadlines ---------------------------------------- */

/* How a read ended when it returned no bytes. */
enum probe_rd {
	RD_DATA = 0,		/* bytes arrived */
	RD_EOF,			/* orderly close (or close_notify / dirty EOF) */
	RD_TIMEOUT,		/* the deadline passed */
	RD_RESET,		/* ECONNRESET */
	RD_ERROR		/* anything else */
};

/* 1 when fd is ready for events, 0 at the deadline, -1 on a poll error. */
static int
probe_wait(int fd, short events, uint64_t deadline)
{
	struct pollfd pfd;
	uint64_t now, left;
	int r;

	for (;;) {
		now = now_ms();
		if (now >= deadline)
			return 0;
		left = deadline - now;
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		r = poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (r == -1 && errno == EINTR)
			continue;
		return r;
	}
}

/*
 * The name lookup behind probe's connections.  Done once per host and
 * port and kept, since probe makes dozens of connections to one endpoint,
 * and bounded by the caller's deadline, which getaddrinfo() is not: a
 * resolver that does not answer costs its timeout times its attempts (10 s
 * with the defaults) on every call.  glibc's getaddrinfo_a() runs the
 * lookup in a thread of its own; one that outlives the deadline cannot
 * always be cancelled and may still write to its request, so a timed-out
 * request is never freed (it stays reachable from probe_dns_busy).  Later
 * calls for that name look once more, without waiting, and get a late
 * answer or the timeout.
 */
struct probe_lookup {
	struct gaicb req;
	struct addrinfo hints;
	char host[256];
	char port[8];
	int error;			/* getaddrinfo's, 0 = resolved */
	bool timed_out;
	struct probe_lookup *next;	/* on probe_dns_busy */
};

static struct probe_lookup *probe_dns;		/* the last name's */
static struct probe_lookup *probe_dns_busy;	/* timed out, not cancelled */

/* Forgets the kept lookup (at a new name, and at exit). */
static void
probe_lookup_drop(void)
{
	struct probe_lookup *l = probe_dns;

	if (l == NULL)
		return;
	probe_dns = NULL;
	if (l->timed_out && gai_cancel(&l->req) == EAI_NOTCANCELED) {
		l->next = probe_dns_busy;
		probe_dns_busy = l;
		return;
	}
	if (l->req.ar_result != NULL)
		freeaddrinfo(l->req.ar_result);
	free(l);
}

static void
probe_lookup_wait(struct probe_lookup *l, uint64_t deadline)
{
	const struct gaicb *list[1] = { &l->req };
	struct timespec ts;
	uint64_t now, left;
	int e;

	while ((e = gai_error(&l->req)) == EAI_INPROGRESS) {
		now = now_ms();
		if (now >= deadline) {
			l->timed_out = true;
			return;
		}
		left = deadline - now;
		ts.tv_sec = (time_t)(left / 1000);
		ts.tv_nsec = (long)(left % 1000) * 1000000;
		(void)gai_suspend(list, 1, &ts);	/* done, timeout or signal */
	}
	l->timed_out = false;
	l->error = e;
}

static struct probe_lookup *
probe_lookup_start(const char *host, const char *port, uint64_t deadline)
{
	struct probe_lookup *l = calloc(1, sizeof(*l));
	struct gaicb *list[1];

	if (l == NULL)
		return NULL;
	snprintf(l->host, sizeof(l->host), "%s", host);
	snprintf(l->port, sizeof(l->port), "%s", port);
	l->hints.ai_family = AF_UNSPEC;
	l->hints.ai_socktype = SOCK_STREAM;
	l->hints.ai_flags = AI_NUMERICSERV;
	l->req.ar_name = l->host;
	l->req.ar_service = l->port;
	l->req.ar_request = &l->hints;
	list[0] = &l->req;
	if ((l->error = getaddrinfo_a(GAI_NOWAIT, list, 1, NULL)) == 0)
		probe_lookup_wait(l, deadline);
	return l;
}

/* The addresses of host:port, or NULL with err set (upstream_dns). */
static const struct addrinfo *
probe_resolve(const char *host, const char *port, uint64_t deadline,
    struct tb_err *err)
{
	struct probe_lookup *l = probe_dns;

	if (l == NULL || strcmp(l->host, host) != 0 ||
	    strcmp(l->port, port) != 0) {
		probe_lookup_drop();
		if ((l = probe_lookup_start(host, port, deadline)) == NULL) {
			tb_err_set(err, CR_INTERNAL, PHASE_DNS, "out of memory");
			return NULL;
		}
		probe_dns = l;
	}
	if (l->timed_out)	/* a late answer still counts: one look, no wait */
		probe_lookup_wait(l, 0);
	if (l->timed_out) {
		tb_err_set(err, CR_UPSTREAM_DNS, PHASE_DNS,
		    "resolve %s: no answer from the resolver within the timeout",
		    host);
		return NULL;
	}
	if (l->error != 0) {
		tb_err_set(err, CR_UPSTREAM_DNS, PHASE_DNS, "resolve %s: %s",
		    host, gai_strerror(l->error));
		return NULL;
	}
	return l->req.ar_result;
}

/*
 * Connects to hp within timeout_ms, trying each address in turn.  Returns
 * the connected non-blocking socket, or -1 with err set the way the
 * broker classifies it (upstream_dns, upstream_refused, ...).  The name
 * lookup counts against timeout_ms too.
 */
static int
probe_tcp_connect(const struct hostport *hp, uint64_t timeout_ms, char *addr,
    size_t addrcap, struct tb_err *err)
{
	const struct addrinfo *res, *ai;
	char port[8], ip[INET6_ADDRSTRLEN];
	uint64_t deadline = now_ms() + timeout_ms;
	socklen_t sl;
	int fd, e, soerr, last = ECONNREFUSED, one = 1;

	snprintf(port, sizeof(port), "%u", (unsigned)hp->port);
	snprintf(addr, addrcap, "%s:%u", hp->host, (unsigned)hp->port);
	if ((res = probe_resolve(hp->host, port, deadline, err)) == NULL)
		return -1;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (getnameinfo(ai->ai_addr, ai->ai_addrlen, ip, sizeof(ip), NULL,
		    0, NI_NUMERICHOST) != 0)
			snprintf(ip, sizeof(ip), "?");
		snprintf(addr, addrcap, ai->ai_family == AF_INET6 ? "[%s]:%u" :
		    "%s:%u", ip, (unsigned)hp->port);
		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
		if (fd == -1) {
			last = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			goto connected;
		if (errno != EINPROGRESS) {
			last = errno;
			close(fd);
			continue;
		}
		if ((e = probe_wait(fd, POLLOUT, deadline)) <= 0) {
			int wait_errno = errno;	/* before close() */

			close(fd);
			if (e == 0) {
				tb_err_set(err, CR_UPSTREAM_CONNECT_TIMEOUT, PHASE_CONNECT,
				    "connect %s: no answer within %llu ms", addr,
				    (unsigned long long)timeout_ms);
				return -1;
			}
			diag_from_connect_errno(err, wait_errno, addr);
			return -1;
		}
		soerr = 0;
		sl = sizeof(soerr);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == -1)
			soerr = errno;
		if (soerr == 0)
			goto connected;
		last = soerr;
		close(fd);
	}
	diag_from_connect_errno(err, last, addr);
	return -1;
connected:
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* Runs the handshake to its end or the deadline, as tlsio's tls_hs_step(). */
static void
probe_handshake(SSL *ssl, int fd, uint64_t deadline, struct tls_hs_result *res)
{
	int r, e;

	memset(res, 0, sizeof(*res));
	for (;;) {
		ERR_clear_error();
		errno = 0;
		r = SSL_do_handshake(ssl);
		if (r == 1) {
			res->ok = true;
			return;
		}
		e = SSL_get_error(ssl, r);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			if (probe_wait(fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT,
			    deadline) <= 0) {
				res->timeout = true;
				return;
			}
			continue;
		}
		res->ssl_error = e;
		res->sys_errno = e == SSL_ERROR_SYSCALL ? errno : 0;
		res->err = ERR_peek_error();
		if (res->err != 0)
			ERR_error_string_n(res->err, res->err_str,
			    sizeof(res->err_str));
		ERR_clear_error();
		return;
	}
}

/* Writes all of buf over ssl (or the plain socket when ssl is NULL). */
static int
probe_send(int fd, SSL *ssl, const void *buf, size_t len, uint64_t deadline)
{
	const char *p = buf;
	size_t done = 0, n;
	ssize_t k;
	short want;
	int r, e;

	while (done < len) {
		if (ssl != NULL) {
			ERR_clear_error();
			r = SSL_write_ex(ssl, p + done, len - done, &n);
			if (r == 1) {
				done += n;
				continue;
			}
			e = SSL_get_error(ssl, r);
			if (e == SSL_ERROR_WANT_READ)
				want = POLLIN;
			else if (e == SSL_ERROR_WANT_WRITE)
				want = POLLOUT;
			else
				return -1;
		} else {
			k = send(fd, p + done, len - done, MSG_NOSIGNAL);
			if (k >= 0) {
				done += (size_t)k;
				continue;
			}
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				return -1;
			want = POLLOUT;
		}
		if (probe_wait(fd, want, deadline) <= 0)
			return -1;
	}
	return 0;
}

/* Reads some bytes; returns their count, or 0 with *st saying why none. */
static size_t
probe_recv(int fd, SSL *ssl, void *buf, size_t cap, uint64_t deadline,
    enum probe_rd *st)
{
	size_t n;
	ssize_t k;
	short want;
	int r, e, w;

	for (;;) {
		if (ssl != NULL) {
			ERR_clear_error();
			errno = 0;
			r = SSL_read_ex(ssl, buf, cap, &n);
			if (r == 1) {
				*st = RD_DATA;
				return n;
			}
			e = SSL_get_error(ssl, r);
			if (e == SSL_ERROR_WANT_READ)
				want = POLLIN;
			else if (e == SSL_ERROR_WANT_WRITE)
				want = POLLOUT;
			else {
				if (e == SSL_ERROR_ZERO_RETURN ||
				    (e == SSL_ERROR_SYSCALL && errno == 0))
					*st = RD_EOF;
				else if (e == SSL_ERROR_SYSCALL && errno == ECONNRESET)
					*st = RD_RESET;
				else
					*st = RD_ERROR;
				ERR_clear_error();
				return 0;
			}
		} else {
			k = recv(fd, buf, cap, 0);
			if (k > 0) {
				*st = RD_DATA;
				return (size_t)k;
			}
			if (k == 0) {
				*st = RD_EOF;
				return 0;
			}
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
				*st = errno == ECONNRESET ? RD_RESET : RD_ERROR;
				return 0;
			}
			want = POLLIN;
		}
		if ((w = probe_wait(fd, want, deadline)) <= 0) {
			*st = w == 0 ? RD_TIMEOUT : RD_ERROR;
			return 0;
		}
	}
}

/* The SNI for raw ClientHellos, as tls_client would send it; NULL = none. */
static const char *
probe_sni(const struct probe_result *r)
{
	if (r->sni_off)
		return NULL;
	if (r->sni[0] != '\0')
		return r->sni;
	return probe_is_ip(r->target.host) ? NULL : r->target.host;
}

static const char *
probe_verify_name(const struct probe_result *r)
{
	return r->sni[0] != '\0' && !r->sni_off ? r->sni : r->target.host;
}

/* ---- HTTP ---------------------------------------------------------------- */

struct probe_http {
	bool answered;
	char status[128];
	char server[128];
	char detail[128];
	enum probe_rd end;
};

/* Sends HEAD / and reads the response head, on ssl or the plain socket. */
static void
probe_http_head(const struct probe_result *r, int fd, SSL *ssl,
    struct probe_http *h)
{
	char req[700], host[300], buf[8192];
	const char *name = r->sni[0] != '\0' && !r->sni_off ? r->sni :
	    r->target.host;
	uint64_t deadline = now_ms() + r->timeout_ms;
	unsigned defport = ssl != NULL ? 443 : 80;
	enum probe_rd st = RD_DATA;
	size_t len = 0, n;

	memset(h, 0, sizeof(*h));
	if (strchr(name, ':') != NULL)
		snprintf(host, sizeof(host), "[%s]", name);
	else
		snprintf(host, sizeof(host), "%s", name);
	if (r->target.port != defport)
		snprintf(host + strlen(host), sizeof(host) - strlen(host), ":%u",
		    (unsigned)r->target.port);
	snprintf(req, sizeof(req), "HEAD / HTTP/1.1\r\nHost: %s\r\n"
	    "Connection: close\r\n\r\n", host);
	if (probe_send(fd, ssl, req, strlen(req), deadline) == -1) {
		h->end = RD_ERROR;
		snprintf(h->detail, sizeof(h->detail), "could not send the request");
		return;
	}
	while (len < sizeof(buf)) {
		if ((n = probe_recv(fd, ssl, buf + len, sizeof(buf) - len, deadline,
		    &st)) == 0)
			break;
		len += n;
		if (memmem(buf, len, "\r\n\r\n", 4) != NULL ||
		    memmem(buf, len, "\n\n", 2) != NULL)
			break;
		if (len >= 5 && memcmp(buf, "HTTP/", 5) != 0)
			break;		/* not HTTP: no need to wait for more */
	}
	h->end = st;
	if (len > 0 && probe_parse_http_head(buf, len, h->status,
	    sizeof(h->status), h->server, sizeof(h->server)) == 0) {
		h->answered = true;
		return;
	}
	if (len > 0)
		snprintf(h->detail, sizeof(h->detail), "answered %zu bytes that "
		    "are not HTTP", len);
	else if (st == RD_EOF)
		snprintf(h->detail, sizeof(h->detail), "closed the connection "
		    "without an answer");
	else if (st == RD_TIMEOUT)
		snprintf(h->detail, sizeof(h->detail), "no answer within %llu ms",
		    (unsigned long long)r->timeout_ms);
	else if (st == RD_RESET)
		snprintf(h->detail, sizeof(h->detail), "reset the connection");
	else
		snprintf(h->detail, sizeof(h->detail), "read failed");
}

static void
probe_set_http(struct probe_result *r, const struct probe_http *h,
    const char *over)
{
	r->http_tried = true;
	r->http = h->answered;
	snprintf(r->http_over, sizeof(r->http_over), "%s", over);
	snprintf(r->http_status, sizeof(r->http_status), "%s", h->status);
	snprintf(r->http_server, sizeof(r->http_server), "%s", h->server);
	snprintf(r->http_detail, sizeof(r->http_detail), "%s", h->detail);
}

/* HEAD / over plain TCP: is this a plain HTTP port? */
static void
probe_http_plain(const struct probe_result *r, struct probe_http *h)
{
	struct tb_err err;
	char addr[280];
	int fd;

	memset(h, 0, sizeof(*h));
	if ((fd = probe_tcp_connect(&r->target, r->timeout_ms, addr, sizeof(addr),
	    &err)) == -1) {
		h->end = RD_ERROR;
		snprintf(h->detail, sizeof(h->detail), "%.120s", err.msg);
		return;
	}
	probe_http_head(r, fd, NULL, h);
	close(fd);
}

/* ---- raw ClientHellos for 3DES and RC4 ----------------------------------- */

static void
probe_weak_try(const struct probe_result *r, struct probe_weak *w,
    const uint16_t *suites, size_t nsuites, uint16_t version)
{
	unsigned char hello[512], buf[20480], rnd[32];
	struct probe_hello h;
	struct tb_err err;
	enum probe_rd st = RD_DATA;
	char addr[280];
	uint64_t deadline;
	size_t got = 0, n, i;
	int fd, len, pr = 0;
	const char *an;

	memset(w, 0, sizeof(*w));
	w->tried = true;
	if ((fd = probe_tcp_connect(&r->target, r->timeout_ms, addr, sizeof(addr),
	    &err)) == -1) {
		snprintf(w->detail, sizeof(w->detail), "%.120s", err.msg);
		return;
	}
	deadline = now_ms() + r->timeout_ms;
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		memset(rnd, 0x5a, sizeof(rnd));
	len = probe_client_hello(version, suites, nsuites, probe_sni(r), rnd,
	    hello, sizeof(hello));
	if (len < 0 || probe_send(fd, NULL, hello, (size_t)len, deadline) == -1) {
		close(fd);
		snprintf(w->detail, sizeof(w->detail), "could not send the "
		    "ClientHello");
		return;
	}
	while ((pr = probe_parse_server_hello(buf, got, &h)) == 0 &&
	    got < sizeof(buf)) {
		if ((n = probe_recv(fd, NULL, buf + got, sizeof(buf) - got, deadline,
		    &st)) == 0)
			break;
		got += n;
	}
	close(fd);
	if (pr == 1 && h.alert) {
		an = diag_alert_name(h.alert_desc);
		snprintf(w->detail, sizeof(w->detail), "alert %s", an != NULL ? an :
		    "unknown");
	} else if (pr == 1) {
		for (i = 0; i < nsuites; i++)
			if (suites[i] == h.suite)
				w->accepted = true;
		if (w->accepted) {
			w->suite = h.suite;
			w->version = h.version;
			w->reneg_info = h.reneg_info;
			snprintf(w->detail, sizeof(w->detail), "ServerHello %s %s",
			    tls_version_str(h.version), probe_suite_name(h.suite));
		} else
			snprintf(w->detail, sizeof(w->detail), "ServerHello with "
			    "suite 0x%04x, which was not offered", h.suite);
	} else if (pr == -1)
		snprintf(w->detail, sizeof(w->detail), "answered bytes that are "
		    "not a TLS ServerHello");
	else if (st == RD_EOF)
		snprintf(w->detail, sizeof(w->detail), "closed the connection "
		    "without an alert");
	else if (st == RD_RESET)
		snprintf(w->detail, sizeof(w->detail), "reset the connection");
	else if (st == RD_TIMEOUT)
		snprintf(w->detail, sizeof(w->detail), "no answer within %llu ms",
		    (unsigned long long)r->timeout_ms);
	else
		snprintf(w->detail, sizeof(w->detail), "read failed");
}

/*
 * A TLS 1.0 ClientHello first (what 2003-era servers speak); when the
 * endpoint takes only newer versions, once more at its highest <= 1.2.
 */
static void
probe_weak_all(struct probe_result *r)
{
	static const uint16_t des3[] = { SUITE_RSA_3DES_EDE_CBC_SHA };
	static const uint16_t rc4[] = { SUITE_RSA_RC4_128_SHA,
	    SUITE_RSA_RC4_128_MD5 };
	int hi12 = 0, retry;
	unsigned i;

	for (i = 0; i < PROBE_NVERSIONS; i++)
		if (r->v[i].accepted && r->v[i].version <= TLS1_2_VERSION)
			hi12 = r->v[i].version;
	retry = hi12 == TLS1_VERSION ? 0 : hi12 != 0 ? hi12 : TLS1_2_VERSION;
	probe_weak_try(r, &r->des3, des3, 1, TLS1_VERSION);
	if (!r->des3.accepted && retry != 0)
		probe_weak_try(r, &r->des3, des3, 1, (uint16_t)retry);
	probe_weak_try(r, &r->rc4, rc4, 2, TLS1_VERSION);
	if (!r->rc4.accepted && retry != 0)
		probe_weak_try(r, &r->rc4, rc4, 2, (uint16_t)retry);
}

/* ---- TLS connections through tls_client ---------------------------------- */

struct probe_conn {
	int fd;
	SSL *ssl;
	struct tls_info info;
	struct tls_out_info out;	/* info.out */
	SSL_SESSION *sess;		/* newest session the endpoint issued; owned */
	struct tb_err err;
	char addr[280];
};

/* Discovery settings as a route, so tls_client builds the SSL_CTX. */
struct probe_route {
	struct route_conf rc;
	char name[8];
	char ciphers[128];
	char sni[256];
	struct tls_client *cli;		/* owned */
};

static int
probe_on_session(void *owner, SSL_SESSION *sess)
{
	struct probe_conn *c = owner;

	if (c->sess != NULL)
		SSL_SESSION_free(c->sess);
	c->sess = sess;
	return 1;
}

static void
probe_conn_init(struct probe_conn *c)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	tls_info_init(&c->info);
	c->info.out = &c->out;
}

/*
 * One connection to rc->upstream with cli (NULL: plain TCP), offering
 * offer for resumption.  Returns 0 with the handshake done (and the pin
 * checked), or -1 with c->err classified exactly as upstream.c does.
 * probe_conn_close() must follow either way.
 */
static int
probe_conn_open(struct probe_conn *c, const struct route_conf *rc,
    struct tls_client *cli, SSL_SESSION *offer, uint64_t connect_ms,
    uint64_t hs_ms)
{
	struct tls_hs_result res;
	struct tls_failure f;

	probe_conn_init(c);
	if ((c->fd = probe_tcp_connect(&rc->upstream, connect_ms, c->addr,
	    sizeof(c->addr), &c->err)) == -1)
		return -1;
	if (cli == NULL)
		return 0;
	c->out.on_session = probe_on_session;
	c->out.owner = c;
	if ((c->ssl = tls_client_ssl_new(cli, &c->info)) == NULL ||
	    SSL_set_fd(c->ssl, c->fd) != 1) {
		tb_err_set(&c->err, CR_INTERNAL, PHASE_HANDSHAKE,
		    "cannot set up TLS towards %s", c->addr);
		return -1;
	}
	if (offer != NULL)
		(void)SSL_set_session(c->ssl, offer);
	probe_handshake(c->ssl, c->fd, now_ms() + hs_ms, &res);
	if (res.ok && !tls_client_pin_ok(cli, c->ssl, &c->info)) {
		tb_err_set(&c->err, CR_UPSTREAM_CERT, PHASE_HANDSHAKE,
		    "pin mismatch: %.120s presented the key %s", c->addr,
		    c->out.pin_seen);
		c->err.cause = DIAG_CAUSE_PIN_MISMATCH;
		return -1;
	}
	if (res.ok)
		return 0;
	if (res.timeout) {
		tb_err_set(&c->err, CR_UPSTREAM_TIMEOUT, PHASE_HANDSHAKE,
		    "no TLS handshake with %s within %llu ms", c->addr,
		    (unsigned long long)hs_ms);
		return -1;
	}
	memset(&f, 0, sizeof(f));
	f.ssl_err = res.err;
	f.sys_errno = res.sys_errno;
	/*
	 * With SSL_OP_IGNORE_UNEXPECTED_EOF (tls_client sets it) a TCP EOF
	 * mid-handshake comes back as SSL_ERROR_ZERO_RETURN, not as
	 * SSL_ERROR_SYSCALL: both are an EOF without an alert (finding 4).
	 */
	f.eof = (res.ssl_error == SSL_ERROR_SYSCALL && res.sys_errno == 0 &&
	    res.err == 0) || (res.ssl_error == SSL_ERROR_ZERO_RETURN &&
	    c->info.alert_recv < 0);
	f.alert_recv = c->info.alert_recv;
	f.alert_sent = c->info.alert_sent;
	f.verify_result = SSL_get_verify_result(c->ssl);
	f.pin_mismatch = c->out.pin_mismatch;
	f.offered = tls_client_offered(cli);
	diag_from_upstream_tls(&c->err, &f);
	if (c->out.pin_mismatch)
		snprintf(c->err.msg, sizeof(c->err.msg), "pin mismatch: %.120s "
		    "presented the key %s", c->addr, c->out.pin_seen);
	return -1;
}

/* clean: the connection worked, so its session stays resumable. */
static void
probe_conn_close(struct probe_conn *c, bool clean)
{
	if (c->ssl != NULL) {
		if (clean)
			SSL_set_shutdown(c->ssl, SSL_SENT_SHUTDOWN |
			    SSL_RECEIVED_SHUTDOWN);
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd != -1) {
		close(c->fd);
		c->fd = -1;
	}
	if (c->sess != NULL) {
		SSL_SESSION_free(c->sess);
		c->sess = NULL;
	}
}

/*
 * Discovery settings (LEGACY-TLS.md): min..max alone, the given suites,
 * security level 0, legacy renegotiation allowed, verification off, SNI
 * as the route would send it.  pr must not move while pr->cli lives.
 */
static int
probe_route_init(struct probe_route *pr, const struct probe_result *r,
    int min, int max, const char *ciphers, struct tb_err *err)
{
	struct conf_errors errs = { 0 };

	memset(pr, 0, sizeof(*pr));
	snprintf(pr->name, sizeof(pr->name), "probe");
	snprintf(pr->ciphers, sizeof(pr->ciphers), "%s", ciphers);
	pr->rc.name = pr->name;
	pr->rc.loc.file = "probe";
	pr->rc.mode = ROUTE_MODE_TCP;
	pr->rc.upstream = r->target;
	pr->rc.up_tls.min = min;
	pr->rc.up_tls.max = max;
	pr->rc.up_ciphers = pr->ciphers;
	pr->rc.up_security_level = 0;
	pr->rc.up_legacy_renegotiation = true;
	pr->rc.up_verify = VERIFY_OFF;
	if (r->sni_off)
		pr->rc.up_sni_off = true;
	else if (r->sni[0] != '\0') {
		snprintf(pr->sni, sizeof(pr->sni), "%s", r->sni);
		pr->rc.up_sni = pr->sni;
	}
	pr->rc.connect_timeout_ms = r->timeout_ms;
	pr->rc.handshake_timeout_ms = r->timeout_ms;
	if ((pr->cli = tls_client_new(&pr->rc, &errs)) == NULL) {
		tb_err_set(err, CR_INTERNAL, PHASE_HANDSHAKE, "%s", errs.count > 0 ?
		    errs.msgs[0] : "cannot build the TLS context");
		conf_errors_free(&errs);
		return -1;
	}
	conf_errors_free(&errs);
	return 0;
}

/* probe_route_init() plus one connection; end with probe_attempt_end(). */
static int
probe_attempt(const struct probe_result *r, int min, int max,
    const char *ciphers, struct probe_route *pr, struct probe_conn *c)
{
	struct tb_err err;

	if (probe_route_init(pr, r, min, max, ciphers, &err) == -1) {
		probe_conn_init(c);
		c->err = err;
		return -1;
	}
	return probe_conn_open(c, &pr->rc, pr->cli, NULL, r->timeout_ms,
	    r->timeout_ms);
}

static void
probe_attempt_end(struct probe_route *pr, struct probe_conn *c, bool clean)
{
	probe_conn_close(c, clean);
	tls_client_free(pr->cli);
	pr->cli = NULL;
}

/* ---- certificates -------------------------------------------------------- */

static void
probe_name_str(const X509_NAME *name, char *buf, size_t cap)
{
	BIO *b;
	int n = 0;

	buf[0] = '\0';
	if ((b = BIO_new(BIO_s_mem())) == NULL)
		return;
	if (X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253) >= 0)
		n = BIO_read(b, buf, (int)cap - 1);
	buf[n > 0 ? n : 0] = '\0';
	BIO_free(b);
}

static void
probe_time_str(const ASN1_TIME *t, char *buf, size_t cap)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1 ||
	    strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, cap, "?");
}

static void
probe_cert_fill(struct probe_cert *c, X509 *x)
{
	EVP_PKEY *pk;
	const char *s;
	int nid;

	memset(c, 0, sizeof(*c));
	probe_name_str(X509_get_subject_name(x), c->subject, sizeof(c->subject));
	probe_name_str(X509_get_issuer_name(x), c->issuer, sizeof(c->issuer));
	probe_time_str(X509_get0_notBefore(x), c->not_before,
	    sizeof(c->not_before));
	probe_time_str(X509_get0_notAfter(x), c->not_after, sizeof(c->not_after));
	c->expired = X509_cmp_current_time(X509_get0_notAfter(x)) < 0;
	c->not_yet_valid = X509_cmp_current_time(X509_get0_notBefore(x)) > 0;
	nid = X509_get_signature_nid(x);
	s = nid != NID_undef ? OBJ_nid2ln(nid) : NULL;
	snprintf(c->sigalg, sizeof(c->sigalg), "%s", s != NULL ? s : "unknown");
	if ((pk = X509_get0_pubkey(x)) != NULL) {
		s = EVP_PKEY_get0_type_name(pk);
		snprintf(c->key_type, sizeof(c->key_type), "%s",
		    s != NULL ? s : "unknown");
		c->key_bits = EVP_PKEY_get_bits(pk);
	} else
		snprintf(c->key_type, sizeof(c->key_type), "unknown");
}

/* Verifies the chain the endpoint sent against --ca or the system store. */
static void
probe_verify_chain(struct probe_result *r, X509 *leaf, STACK_OF(X509) *chain)
{
	X509_STORE *store;
	X509_STORE_CTX *ctx = NULL;
	X509_VERIFY_PARAM *param;
	const char *name = probe_verify_name(r);
	int ok;

	r->verify_tried = true;
	r->chain_verified = false;
	snprintf(r->verify_name, sizeof(r->verify_name), "%s", name);
	if ((store = X509_STORE_new()) == NULL)
		goto fail;
	if (r->ca[0] != '\0' ? X509_STORE_load_file(store, r->ca) != 1 :
	    X509_STORE_set_default_paths(store) != 1) {
		snprintf(r->verify_error, sizeof(r->verify_error),
		    "cannot load %.100s", r->ca[0] != '\0' ? r->ca :
		    "the system store");
		r->verify_code = -1;
		ERR_clear_error();
		X509_STORE_free(store);
		return;
	}
	if ((ctx = X509_STORE_CTX_new()) == NULL ||
	    X509_STORE_CTX_init(ctx, store, leaf, chain) != 1)
		goto fail;
	X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
	param = X509_STORE_CTX_get0_param(ctx);
	if (probe_is_ip(name))
		ok = X509_VERIFY_PARAM_set1_ip_asc(param, name);
	else
		ok = X509_VERIFY_PARAM_set1_host(param, name, 0);
	if (ok != 1)
		goto fail;
	r->chain_verified = X509_verify_cert(ctx) == 1;
	r->verify_code = X509_STORE_CTX_get_error(ctx);
	snprintf(r->verify_error, sizeof(r->verify_error), "%s",
	    r->chain_verified ? "" : X509_verify_cert_error_string(r->verify_code));
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return;
fail:
	snprintf(r->verify_error, sizeof(r->verify_error), "cannot set up the "
	    "verification");
	r->verify_code = -1;
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
}

static void
probe_collect_chain(struct probe_result *r, SSL *ssl)
{
	STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);
	X509 *leaf = SSL_get0_peer_certificate(ssl);
	unsigned char digest[32];
	int i, n;

	if (leaf == NULL)
		return;
	r->ncerts = 0;
	n = chain != NULL ? sk_X509_num(chain) : 0;
	if (n == 0)
		probe_cert_fill(&r->certs[r->ncerts++], leaf);
	for (i = 0; i < n && r->ncerts < PROBE_MAX_CERTS; i++)
		probe_cert_fill(&r->certs[r->ncerts++], sk_X509_value(chain, i));
	if (tls_spki_pin(leaf, digest, r->pin, sizeof(r->pin)) == -1)
		r->pin[0] = '\0';
	probe_verify_chain(r, leaf, chain);
}

/* ---- discovery ----------------------------------------------------------- */

static void
probe_version_try(struct probe_result *r, unsigned i)
{
	struct probe_version *v = &r->v[i];
	struct probe_route pr;
	struct probe_conn c;

	v->tried = true;
	if (probe_attempt(r, v->version, v->version, PROBE_ALL_CIPHERS, &pr,
	    &c) == 0) {
		v->accepted = true;
		snprintf(v->cipher, sizeof(v->cipher), "%s",
		    SSL_get_cipher_name(c.ssl));
		v->secure_reneg = SSL_get_secure_renegotiation_support(c.ssl) == 1;
		probe_collect_chain(r, c.ssl);
	} else
		v->err = c.err;
	probe_attempt_end(&pr, &c, v->accepted);
}

/* ECDHE, DHE (with the group size) and plain RSA, each offered alone. */
static void
probe_families(struct probe_result *r, unsigned i)
{
	struct probe_version *v = &r->v[i];
	struct probe_route pr;
	struct probe_conn c;
	EVP_PKEY *key;

	v->families_tried = true;
	if (probe_attempt(r, v->version, v->version,
	    "kECDHE:!aNULL:@SECLEVEL=0", &pr, &c) == 0) {
		v->ecdhe = true;
		if (SSL_get_peer_tmp_key(c.ssl, &key) == 1) {
			if (EVP_PKEY_get_group_name(key, v->ecdhe_group,
			    sizeof(v->ecdhe_group), NULL) != 1)
				v->ecdhe_group[0] = '\0';
			EVP_PKEY_free(key);
		}
	}
	probe_attempt_end(&pr, &c, v->ecdhe);
	if (probe_attempt(r, v->version, v->version, "kDHE:!aNULL:@SECLEVEL=0",
	    &pr, &c) == 0) {
		v->dhe = true;
		if (SSL_get_peer_tmp_key(c.ssl, &key) == 1) {
			v->dh_bits = EVP_PKEY_get_bits(key);
			EVP_PKEY_free(key);
		}
	}
	probe_attempt_end(&pr, &c, v->dhe);
	if (probe_attempt(r, v->version, v->version, "kRSA:@SECLEVEL=0", &pr,
	    &c) == 0) {
		v->rsa = true;
		snprintf(v->rsa_cipher, sizeof(v->rsa_cipher), "%s",
		    SSL_get_cipher_name(c.ssl));
	}
	probe_attempt_end(&pr, &c, v->rsa);
}

/* HEAD / over the best version, then a connection offering its session. */
static void
probe_http_resume(struct probe_result *r, unsigned best)
{
	int version = r->v[best].version;
	struct probe_route pr;
	struct probe_conn c;
	struct probe_http h;
	struct tb_err err;
	SSL_SESSION *sess = NULL;

	if (probe_route_init(&pr, r, version, version, PROBE_ALL_CIPHERS,
	    &err) == -1)
		return;
	if (probe_conn_open(&c, &pr.rc, pr.cli, NULL, r->timeout_ms,
	    r->timeout_ms) == 0) {
		/* Reading the answer also takes in TLS 1.3 session tickets. */
		probe_http_head(r, c.fd, c.ssl, &h);
		probe_set_http(r, &h, tls_version_str(SSL_version(c.ssl)));
		sess = c.sess;
		c.sess = NULL;
		if (sess == NULL)
			sess = SSL_get1_session(c.ssl);
		probe_conn_close(&c, true);
	} else {
		r->http_tried = true;
		snprintf(r->http_detail, sizeof(r->http_detail), "%.120s",
		    c.err.msg);
		probe_conn_close(&c, false);
	}
	if (sess != NULL) {
		r->resumption_tried = true;
		if (SSL_SESSION_is_resumable(sess) &&
		    probe_conn_open(&c, &pr.rc, pr.cli, sess, r->timeout_ms,
		    r->timeout_ms) == 0)
			r->resumed = SSL_session_reused(c.ssl) == 1;
		probe_conn_close(&c, true);
		SSL_SESSION_free(sess);
	}
	tls_client_free(pr.cli);
}

static void
probe_discover(struct probe_result *r)
{
	struct probe_route pr;
	struct probe_conn c;
	struct probe_http h;
	int fd, best = -1;
	unsigned i;

	if ((fd = probe_tcp_connect(&r->target, r->timeout_ms, r->addr,
	    sizeof(r->addr), &r->connect_err)) == -1)
		return;
	close(fd);
	r->connect_ok = true;
	/*
	 * Any TLS at all?  If not, a plain HTTP port answers HEAD; a port
	 * that answers neither in time is silent, and trying every version
	 * would only multiply the wait.
	 */
	if (probe_attempt(r, TLS1_VERSION, TLS1_3_VERSION, PROBE_ALL_CIPHERS,
	    &pr, &c) == -1) {
		r->tls_err = c.err;
		probe_attempt_end(&pr, &c, false);
		probe_http_plain(r, &h);
		/*
		 * Plain when the answer to our ClientHello was not TLS, or when
		 * the port waited or closed on it but answers HEAD.  A TLS port
		 * that refused with an alert stays TLS even if it also answers
		 * plain HTTP (nginx: "plain HTTP request sent to HTTPS port").
		 */
		if (r->tls_err.cause == DIAG_CAUSE_NOT_TLS || (h.answered &&
		    (r->tls_err.code == CR_UPSTREAM_TIMEOUT ||
		    r->tls_err.cause == DIAG_CAUSE_EOF))) {
			r->plain = true;
			probe_set_http(r, &h, "plain");
			return;
		}
		if (r->tls_err.code == CR_UPSTREAM_TIMEOUT && h.end == RD_TIMEOUT) {
			r->silent = true;
			probe_set_http(r, &h, "plain");
			return;
		}
	} else
		probe_attempt_end(&pr, &c, true);
	for (i = 0; i < PROBE_NVERSIONS; i++)
		probe_version_try(r, i);
	for (i = 0; i < PROBE_NVERSIONS; i++) {
		if (!r->v[i].accepted)
			continue;
		best = (int)i;
		if (r->v[i].version <= TLS1_2_VERSION)
			probe_families(r, i);
	}
	probe_weak_all(r);
	if (best >= 0)
		probe_http_resume(r, (unsigned)best);
}

/* ---- proving a route block ----------------------------------------------- */

/*
 * conf_check wants every route to belong to a listener; this stand-in is
 * never bound or built (only the route's tls_client is), and /dev/null
 * satisfies the "cert can be opened" check.
 */
#define PROBE_STANDIN_LISTENER \
	"[listener probe]\nbind = 127.0.0.1:9\ncert = /dev/null\n\n"

/*
 * Builds the block of candidate idx, loads it through the real config
 * parser and checks, builds its tls_client and connects with it (and
 * sends HEAD / when the endpoint answered HTTP).  True when all of that
 * worked; the block is then in buf.
 */
static bool
probe_try_candidate(struct probe_result *r, unsigned idx, char *buf,
    size_t cap)
{
	struct probe_candidate *cd = &r->cands[idx];
	struct conf_errors errs = { 0 };
	struct conf *conf = NULL;
	struct tls_client *cli = NULL;
	const struct route_conf *rc;
	struct probe_conn c;
	struct probe_http h;
	char *text = NULL;
	size_t len;

	cd->tried = true;
	cd->ok = false;
	if (probe_route_block(r, idx, buf, cap) == -1) {
		snprintf(cd->failure, sizeof(cd->failure), "the block is too long");
		return false;
	}
	len = sizeof(PROBE_STANDIN_LISTENER) + strlen(buf);
	if ((text = malloc(len)) == NULL) {
		snprintf(cd->failure, sizeof(cd->failure), "out of memory");
		return false;
	}
	snprintf(text, len, "%s%s", PROBE_STANDIN_LISTENER, buf);
	if ((conf = conf_load_string("probe", text, &errs)) == NULL ||
	    conf_check(conf, &errs) != 0) {
		snprintf(cd->failure, sizeof(cd->failure), "the config loader "
		    "rejects the block: %.200s", errs.count > 0 ? errs.msgs[0] : "?");
		goto out;
	}
	rc = &conf->routes[0];
	if (!rc->up_tls.off && (cli = tls_client_new(rc, &errs)) == NULL) {
		snprintf(cd->failure, sizeof(cd->failure), "%.250s",
		    errs.count > 0 ? errs.msgs[0] : "cannot build the TLS context");
		goto out;
	}
	if (probe_conn_open(&c, rc, cli, NULL, r->timeout_ms,
	    r->timeout_ms) == -1) {
		snprintf(cd->failure, sizeof(cd->failure), "%s: %.250s",
		    close_reason_str(c.err.code), c.err.msg);
		probe_conn_close(&c, false);
		goto out;
	}
	if (r->http) {
		probe_http_head(r, c.fd, c.ssl, &h);
		if (!h.answered) {
			snprintf(cd->failure, sizeof(cd->failure), "connected, but "
			    "HEAD / got no HTTP answer: %s", h.detail);
			probe_conn_close(&c, false);
			goto out;
		}
	}
	if (cli != NULL)
		snprintf(cd->outcome, sizeof(cd->outcome), "%s %s, verified by %s",
		    tls_version_str(SSL_version(c.ssl)), SSL_get_cipher_name(c.ssl),
		    rc->up_verify == VERIFY_CA ? "ca" : "pin");
	else
		snprintf(cd->outcome, sizeof(cd->outcome), "plain TCP to %.100s%s",
		    c.addr, r->http ? ", HTTP answered" : "");
	probe_conn_close(&c, true);
	cd->ok = true;
out:
	tls_client_free(cli);
	conf_free(conf);
	conf_errors_free(&errs);
	free(text);
	return cd->ok;
}

static void
probe_set_message(struct probe_result *r)
{
	bool any = false;
	unsigned i;

	for (i = 0; i < PROBE_NVERSIONS; i++)
		any = any || r->v[i].accepted;
	if (!r->connect_ok)
		snprintf(r->message, sizeof(r->message), "cannot connect: %s; %s",
		    r->connect_err.msg, diag_hint(&r->connect_err));
	else if (r->silent)
		snprintf(r->message, sizeof(r->message), "the endpoint accepts TCP "
		    "but answers neither a TLS ClientHello nor HTTP within %llu ms",
		    (unsigned long long)r->timeout_ms);
	else if (!any && (r->des3.accepted || r->rc4.accepted))
		snprintf(r->message, sizeof(r->message), "%s", WEAK_MESSAGE);
	else if (!any)
		snprintf(r->message, sizeof(r->message), "the endpoint accepted no "
		    "TLS version with any suite this OpenSSL offers (%s: %s)",
		    close_reason_str(r->v[0].err.code), r->v[0].err.msg);
	else
		snprintf(r->message, sizeof(r->message), "the endpoint accepts "
		    "TLS, but no complete route setting worked (see tried:)");
}

/* ---- command line -------------------------------------------------------- */

static void
probe_usage(FILE *out)
{
	fprintf(out,
	    "usage: tlsbroker probe HOST:PORT [--sni NAME|off] [--ca FILE]\n"
	    "                       [--timeout DUR] [--name ROUTE] [--json]\n"
	    "       tlsbroker probe --route NAME [-c FILE]\n"
	    "\n"
	    "Connects to an endpoint as the broker would and reports which TLS\n"
	    "versions and cipher families it accepts (including 3DES and RC4),\n"
	    "RFC 5746 support, session resumption, its certificate chain and\n"
	    "SPKI pin, and whether it answers HTTP; then prints a [route] block\n"
	    "that was verified by connecting with exactly those settings.\n"
	    "\n"
	    "  --sni NAME       server name to send and to verify (default: the\n"
	    "                   host, unless it is an IP address); off sends none\n"
	    "  --ca FILE        verify the chain against FILE instead of the\n"
	    "                   system store\n"
	    "  --timeout DUR    bound on the name lookup and on every connect,\n"
	    "                   handshake and read (default 5s)\n"
	    "  --name ROUTE     name of the suggested [route] (default: the host)\n"
	    "  --json           print the facts as one JSON object\n"
	    "  --route NAME     make one connection with the settings of that\n"
	    "                   route and print the outcome or the close reason\n"
	    "  -c, --config FILE  configuration for --route (default %s)\n"
	    "  -h, --help       this help\n"
	    "\n"
	    "Exit status: 0 a working route (or --route connected), 1 none,\n"
	    "2 usage error.\n", PROBE_DEFAULT_CONF);
}

static const char *
probe_verified_by(enum upstream_verify v)
{
	switch (v) {
	case VERIFY_CA:
		return "verified by ca";
	case VERIFY_PIN:
		return "verified by pin";
	case VERIFY_OFF:
		break;
	}
	return "NOT verified (upstream_verify = off)";
}

/* `probe --route NAME`: one connection with the route's own settings. */
static int
probe_route_main(const char *path, const char *name)
{
	struct conf_errors errs = { 0 };
	const struct route_conf *rc = NULL;
	struct tls_client *cli = NULL;
	struct probe_conn c;
	struct gen *g;
	unsigned i;
	int status = 1;

	if ((g = gen_load(path, &errs)) == NULL) {
		for (i = 0; i < errs.count; i++)
			fprintf(stderr, "tlsbroker: %s\n", errs.msgs[i]);
		conf_errors_free(&errs);
		return 1;
	}
	conf_errors_free(&errs);
	for (i = 0; i < g->conf->nroutes; i++) {
		if (strcmp(g->conf->routes[i].name, name) == 0) {
			rc = &g->conf->routes[i];
			cli = g->clients[i];
		}
	}
	if (rc == NULL) {
		fprintf(stderr, "tlsbroker probe: no [route %s] in %s\n", name, path);
		gen_unref(g);
		return 2;
	}
	if (probe_conn_open(&c, rc, cli, NULL, rc->connect_timeout_ms,
	    rc->handshake_timeout_ms) == 0) {
		if (cli != NULL)
			printf("OK: %s %s, %s\n", tls_version_str(SSL_version(c.ssl)),
			    SSL_get_cipher_name(c.ssl), probe_verified_by(rc->up_verify));
		else
			printf("OK: plain TCP, connected to %s\n", c.addr);
		status = 0;
	} else {
		printf("FAIL: %s (phase %s)\n", close_reason_str(c.err.code),
		    diag_phase_str(c.err.phase));
		if (c.err.alert[0] != '\0')
			printf("alert:  %s\n", c.err.alert);
		printf("detail: %s\n", c.err.msg);
		printf("hint:   %s\n", diag_hint(&c.err));
	}
	probe_conn_close(&c, status == 0);
	gen_unref(g);
	return status;
}

static void
probe_result_init(struct probe_result *r)
{
	unsigned i;

	memset(r, 0, sizeof(*r));
	for (i = 0; i < PROBE_NVERSIONS; i++)
		r->v[i].version = probe_versions[i];
	r->timeout_ms = PROBE_DEFAULT_TIMEOUT_MS;
	r->chosen = -1;
}

int
probe_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "sni", required_argument, NULL, 's' },
		{ "ca", required_argument, NULL, 'a' },
		{ "timeout", required_argument, NULL, 't' },
		{ "name", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "route", required_argument, NULL, 'r' },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct probe_result *r;
	const char *route = NULL, *path = NULL, *name = NULL;
	char err[PARSE_ERRLEN];
	bool json = false, host_opts = false;
	unsigned i;
	int ch, status;

	if ((r = malloc(sizeof(*r))) == NULL) {
		fprintf(stderr, "tlsbroker probe: out of memory\n");
		return 1;
	}
	probe_result_init(r);
	optind = 0;	/* glibc: a full re-initialisation, whatever ran before */
	while ((ch = getopt_long(argc, argv, ":c:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			host_opts = true;
			if (strcmp(optarg, "off") == 0)
				r->sni_off = true;
			else if (strlen(optarg) >= sizeof(r->sni) ||
			    !parse_is_server_name(optarg, false)) {
				/* it goes into a route block and a Host header */
				fprintf(stderr, "tlsbroker probe: --sni: '%s' is not "
				    "a host name or off\n", optarg);
				goto usage;
			} else
				snprintf(r->sni, sizeof(r->sni), "%s", optarg);
			break;
		case 'a':
			host_opts = true;
			if (strlen(optarg) >= sizeof(r->ca)) {
				fprintf(stderr, "tlsbroker probe: --ca: path too long\n");
				goto usage;
			}
			snprintf(r->ca, sizeof(r->ca), "%s", optarg);
			break;
		case 't':
			host_opts = true;
			if (parse_duration_ms(optarg, &r->timeout_ms, err) == -1 ||
			    r->timeout_ms == 0) {
				fprintf(stderr, "tlsbroker probe: --timeout: %s\n",
				    r->timeout_ms == 0 ? "must be more than 0" : err);
				goto usage;
			}
			break;
		case 'n':
			host_opts = true;
			name = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'r':
			route = optarg;
			break;
		case 'c':
			path = optarg;
			break;
		case 'h':
			probe_usage(stdout);
			free(r);
			return 0;
		case ':':
			fprintf(stderr, "tlsbroker probe: %s needs a value\n",
			    argv[optind - 1]);
			goto usage;
		default:
			fprintf(stderr, "tlsbroker probe: unknown option %s\n",
			    argv[optind - 1]);
			goto usage;
		}
	}
	if (route != NULL) {
		if (optind != argc || host_opts || json) {
			fprintf(stderr, "tlsbroker probe: --route takes only -c FILE\n");
			goto usage;
		}
		free(r);
		if (tlsio_init() == -1) {
			fprintf(stderr, "tlsbroker probe: cannot initialise OpenSSL\n");
			return 1;
		}
		signal(SIGPIPE, SIG_IGN);
		status = probe_route_main(path != NULL ? path : PROBE_DEFAULT_CONF,
		    route);
		probe_lookup_drop();
		tls_client_cleanup();
		return status;
	}
	if (path != NULL) {
		fprintf(stderr, "tlsbroker probe: -c is only for --route\n");
		goto usage;
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "tlsbroker probe: %s\n", optind == argc ?
		    "HOST:PORT missing" : "more than one HOST:PORT");
		goto usage;
	}
	if (parse_hostport(argv[optind], 443, &r->target, err) == -1) {
		fprintf(stderr, "tlsbroker probe: %s\n", err);
		goto usage;
	}
	if (name != NULL) {
		if (!parse_is_name(name) || strlen(name) >= sizeof(r->name)) {
			fprintf(stderr, "tlsbroker probe: --name: '%s': a route name "
			    "has 1-63 letters, digits, '_', '.' or '-'\n", name);
			goto usage;
		}
		snprintf(r->name, sizeof(r->name), "%s", name);
	} else
		probe_route_name(r->target.host, r->name, sizeof(r->name));
	if (tlsio_init() == -1) {
		fprintf(stderr, "tlsbroker probe: cannot initialise OpenSSL\n");
		free(r);
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	probe_discover(r);
	probe_candidates(r);
	for (i = 0; i < r->ncands; i++) {
		if (probe_try_candidate(r, i, r->block, sizeof(r->block))) {
			r->chosen = (int)i;
			break;
		}
	}
	if (r->chosen < 0) {
		r->block[0] = '\0';
		probe_set_message(r);
	}
	if (json)
		(void)probe_json(r, stdout);
	else
		probe_report(r, stdout);
	status = r->chosen >= 0 ? 0 : 1;
	free(r);
	probe_lookup_drop();
	tls_client_cleanup();
	return status;
usage:
	probe_usage(stderr);
	free(r);
	return 2;
}
