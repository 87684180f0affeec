/* SPDX-License-Identifier: MIT */
/*
 * conf_check: whole-config checks after conf_load() has parsed every key:
 * route -> listener references, duplicate routes and binds, keys that only
 * make sense together (pin and verify, TLS-only keys with upstream_tls =
 * off, http-only keys in tcp mode, upstream_key and upstream_cert), pool
 * bounds, a loopback admin address, that every certificate, key and CA
 * file is a regular file that can be opened, and that the audit_log can
 * be appended to (or created).  It also settles the defaults that depend on
 * other keys (listener_index, upstream_verify = pin, security level 0
 * below TLS 1.2).  It does not build SSL_CTXs: tls_server.c and
 * tls_client.c do, reporting through conf_errors_add_at().  It reads the
 * files behind "allow = servicetag:" and secret_file, and warns
 * (conf_warnings) about what is allowed but unwise.
 */
#ifndef TLSBROKER_CONF_CHECK_H
#define TLSBROKER_CONF_CHECK_H

struct conf;
struct conf_errors;

/*
 * Checks conf (as returned by conf_load) and fills in the derived values.
 * Adds one "FILE:LINE: [section] key: ..." per problem to errs (may be
 * NULL).  Returns 0 if it added none, -1 otherwise.
 */
int conf_check(struct conf *conf, struct conf_errors *errs);

/*
 * For conf_load() after parse errors: the same checks for the sections
 * that did parse, without the whole-file ones ("no [route NAME]"), which
 * a section with a bad header would make misleading.
 */
int conf_check_partial(struct conf *conf, struct conf_errors *errs);

#define CONF_WARN_CERT_DAYS 30		/* a served certificate expiring sooner */
#define CONF_WARN_SERVICETAG_DAYS 14	/* a Service Tags file older than this */

/*
 * Warnings (tlsbroker -t, start and reload) about a checked conf that is
 * valid but fails the ERP's hop or its security: a listener that any
 * address can use unauthenticated (no allow, no client_ca, routes without
 * secret_header), a served chain that is self-signed, incomplete or not
 * from a public CA, or expires within CONF_WARN_CERT_DAYS, a Service Tags
 * file older than CONF_WARN_SERVICETAG_DAYS, a short or group/world
 * readable secret_file.  One message per problem, in the errors' format,
 * appended to warns.
 */
void conf_warnings(const struct conf *conf, struct conf_errors *warns);

#endif
