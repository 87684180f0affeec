/* SPDX-License-Identifier: MIT */
/*
 * probe_fixture: hand-built discovery results for the probe unit tests.
 * See probe_fixture.h.
 */
#include "config.h"

#include "probe_fixture.h"

#include <stdio.h>
#include <string.h>

#include <openssl/ssl.h>

void
fx_base(struct probe_result *r)
{
	unsigned i;

	memset(r, 0, sizeof(*r));
	for (i = 0; i < PROBE_NVERSIONS; i++)
		r->v[i].version = probe_version_at(i);
	snprintf(r->target.host, sizeof(r->target.host), "127.0.0.1");
	r->target.port = 4433;
	snprintf(r->name, sizeof(r->name), "ep");
	snprintf(r->sni, sizeof(r->sni), "localhost");
	snprintf(r->verify_name, sizeof(r->verify_name), "localhost");
	snprintf(r->pin, sizeof(r->pin), "%s", ZERO_PIN);
	r->connect_ok = true;
	r->verify_tried = true;
	r->chosen = -1;
}

struct probe_version *
fx_ver(struct probe_result *r, int version)
{
	return &r->v[probe_version_index(version)];
}

void
fx_accept(struct probe_result *r, int version, bool reneg, bool ecdhe,
    bool rsa)
{
	struct probe_version *v = fx_ver(r, version);

	v->tried = v->accepted = true;
	v->secure_reneg = reneg;
	v->families_tried = version <= TLS1_2_VERSION;
	v->ecdhe = ecdhe;
	v->rsa = rsa;
	if (rsa)
		snprintf(v->rsa_cipher, sizeof(v->rsa_cipher), "AES256-SHA");
	snprintf(v->cipher, sizeof(v->cipher), "ECDHE-RSA-AES256-SHA");
}
