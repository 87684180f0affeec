/* SPDX-License-Identifier: MIT */
/*
 * probe_cand: the candidate route settings, from discovery facts.  The
 * order matters: probe_prove.c takes the first that works, so the most
 * secure setting that could work comes first and every step down is one
 * that a narrower one failed to make unnecessary.  See probe_cand.h.
 */
#include "config.h"

#include "probe_cand.h"

#include <stdio.h>
#include <string.h>

#include <openssl/ssl.h>

/*
 * Plain-RSA key exchange suites that work at security level 2: with no
 * signed key exchange there is no MD5+SHA-1 signature for level 1 and up
 * to refuse, as there is in TLS 1.0/1.1 with (EC)DHE.
 */
#define PROBE_KRSA_CIPHERS "AES128-SHA:AES256-SHA"

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

/* What the accepted versions below TLS 1.2 offered, taken together. */
struct probe_legacy {
	int min, max;			/* 0: none accepted */
	bool fs;			/* ECDHE or DHE */
	bool krsa;			/* plain RSA key exchange */
	bool lsc;			/* one lacks RFC 5746 */
	const char *rsa_cipher;		/* the plain-RSA suite picked, or NULL */
};

static void
probe_legacy_facts(const struct probe_result *r, struct probe_legacy *l)
{
	const struct probe_version *v;
	unsigned i;

	memset(l, 0, sizeof(*l));
	for (i = 0; i < PROBE_NVERSIONS; i++) {
		v = &r->v[i];
		if (!v->accepted || v->version >= TLS1_2_VERSION)
			continue;
		if (l->min == 0)
			l->min = v->version;
		l->max = v->version;
		l->fs = l->fs || v->ecdhe || v->dhe;
		l->krsa = l->krsa || v->rsa;
		l->lsc = l->lsc || !v->secure_reneg;
		if (v->rsa && v->rsa_cipher[0] != '\0')
			l->rsa_cipher = v->rsa_cipher;
	}
}

/* Plain RSA at level 2, the suite the endpoint picked first. */
static void
probe_cand_krsa(struct probe_result *r, enum upstream_verify verify,
    const struct probe_legacy *l)
{
	struct probe_candidate *c;

	if ((c = probe_cand_add(r, verify, l->min, l->max)) == NULL)
		return;
	c->security_level = 2;
	if (l->rsa_cipher != NULL &&
	    strstr(PROBE_KRSA_CIPHERS, l->rsa_cipher) == NULL)
		snprintf(c->ciphers, sizeof(c->ciphers), "%s:%s", l->rsa_cipher,
		    PROBE_KRSA_CIPHERS);
	else
		snprintf(c->ciphers, sizeof(c->ciphers), "%s", PROBE_KRSA_CIPHERS);
	c->why_level = l->fs ? "plain RSA key exchange at security level 2: "
	    "no forward secrecy, but no MD5+SHA-1 signature to allow" :
	    "the endpoint offers only plain RSA key exchange: these suites "
	    "work at security level 2 (no MD5+SHA-1 signature to allow)";
	c->legacy_reneg = l->lsc;
}

/* TLS 1.0/1.1: forward secrecy at level 0 first, then plain RSA at level 2. */
static void
probe_cands_legacy(struct probe_result *r, enum upstream_verify verify)
{
	struct probe_candidate *c;
	struct probe_legacy l;

	probe_legacy_facts(r, &l);
	if (l.min == 0)
		return;
	if (l.fs || !l.krsa) {
		if ((c = probe_cand_add(r, verify, l.min, l.max)) == NULL)
			return;
		c->security_level = 0;
		c->why_level = "security level 0: TLS 1.0/1.1 sign the key "
		    "exchange with MD5+SHA-1, which levels 1 and up refuse";
		c->legacy_reneg = l.lsc;
	}
	if (l.krsa)
		probe_cand_krsa(r, verify, &l);
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
