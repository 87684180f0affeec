/* SPDX-License-Identifier: MIT */
/*
 * probe: the command line of `tlsbroker probe`.  It parses the options,
 * then runs the steps in their order (discover, candidates, prove,
 * report) or the --route check, and maps the outcome to the exit status.
 * The facts every step shares live in struct probe_result; the small
 * helpers over it that several steps need are here too.  See probe.h.
 */
#include "config.h"

#include "probe.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>

#include "parse.h"
#include "probe_cand.h"
#include "probe_check.h"
#include "probe_discover.h"
#include "probe_net.h"
#include "probe_prove.h"
#include "probe_report.h"
#include "tls_client.h"
#include "tlsio.h"
#include "upstream_proxy.h"

#define PROBE_DEFAULT_TIMEOUT_MS 5000
#define PROBE_DEFAULT_CONF SYSCONFDIR "/tlsbroker/tlsbroker.ini"

/* What the command line asked for, beside the facts in probe_result. */
struct probe_opts {
	const char *route;	/* --route NAME */
	const char *path;	/* -c FILE */
	const char *name;	/* --name ROUTE */
	bool json;		/* --json */
	bool host_opts;		/* an option only a discovery takes */
	bool help;		/* -h: nothing else is looked at */
};

static const struct option probe_longopts[] = {
	{ "sni", required_argument, NULL, 's' },
	{ "ca", required_argument, NULL, 'a' },
	{ "timeout", required_argument, NULL, 't' },
	{ "name", required_argument, NULL, 'n' },
	{ "json", no_argument, NULL, 'j' },
	{ "route", required_argument, NULL, 'r' },
	{ "config", required_argument, NULL, 'c' },
	{ "proxy", required_argument, NULL, 'p' },
	{ "proxy-auth", required_argument, NULL, 'P' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

static const int probe_versions[PROBE_NVERSIONS] = {
	TLS1_VERSION, TLS1_1_VERSION, TLS1_2_VERSION, TLS1_3_VERSION
};

/* ---- the shared facts ---------------------------------------------------- */

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

bool
probe_is_ip(const char *host)
{
	unsigned char a[16];

	return inet_pton(AF_INET, host, a) == 1 ||
	    inet_pton(AF_INET6, host, a) == 1;
}

const char *
probe_verify_name(const struct probe_result *r)
{
	return r->sni[0] != '\0' && !r->sni_off ? r->sni : r->target.host;
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

/* ---- options ------------------------------------------------------------- */

static void
probe_usage(FILE *out)
{
	fprintf(out,
	    "usage: tlsbroker probe HOST:PORT [--sni NAME|off] [--ca FILE]\n"
	    "                       [--timeout DUR] [--name ROUTE] [--json]\n"
	    "                       [--proxy http://HOST:PORT [--proxy-auth FILE]]\n"
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
	    "  --proxy URL      connect through this HTTP proxy with CONNECT, as\n"
	    "                   upstream_proxy does\n"
	    "  --proxy-auth FILE  Basic credentials (user:password) for --proxy\n"
	    "  --json           print the facts as one JSON object\n"
	    "  --route NAME     make one connection with the settings of that\n"
	    "                   route (one per address when it lists several)\n"
	    "                   and print the outcome or the close reason\n"
	    "  -c, --config FILE  configuration for --route (default %s)\n"
	    "  -h, --help       this help\n"
	    "\n"
	    "Exit status: 0 a working route (or --route connected to every\n"
	    "address), 1 none,\n"
	    "2 usage error.\n", PROBE_DEFAULT_CONF);
}

/*
 * --sni, --ca, --proxy, --proxy-auth, --timeout or --name into r and o: 0, or -1 after saying
 * why on stderr.
 */
static int
probe_host_opt(int ch, const char *arg, struct probe_result *r,
    struct probe_opts *o)
{
	char err[PARSE_ERRLEN];
	struct hostport hp;

	o->host_opts = true;
	switch (ch) {
	case 's':
		if (strcmp(arg, "off") == 0)
			r->sni_off = true;
		else if (strlen(arg) >= sizeof(r->sni) ||
		    !parse_is_server_name(arg, false)) {
			/* it goes into a route block and a Host header */
			fprintf(stderr, "tlsbroker probe: --sni: '%s' is not a host "
			    "name or off\n", arg);
			return -1;
		} else
			snprintf(r->sni, sizeof(r->sni), "%s", arg);
		return 0;
	case 'a':
		if (strlen(arg) >= sizeof(r->ca)) {
			fprintf(stderr, "tlsbroker probe: --ca: path too long\n");
			return -1;
		}
		snprintf(r->ca, sizeof(r->ca), "%s", arg);
		return 0;
	case 'p':
		if (strlen(arg) >= sizeof(r->proxy) ||
		    upstream_proxy_parse_url(arg, &hp, err) == -1) {
			fprintf(stderr, "tlsbroker probe: --proxy: %s\n",
			    strlen(arg) >= sizeof(r->proxy) ? "URL too long" : err);
			return -1;
		}
		snprintf(r->proxy, sizeof(r->proxy), "%s", arg);
		return 0;
	case 'P':
		if (strlen(arg) >= sizeof(r->proxy_auth)) {
			fprintf(stderr, "tlsbroker probe: --proxy-auth: path too "
			    "long\n");
			return -1;
		}
		snprintf(r->proxy_auth, sizeof(r->proxy_auth), "%s", arg);
		return 0;
	case 't':
		if (parse_duration_ms(arg, &r->timeout_ms, err) == -1 ||
		    r->timeout_ms == 0) {
			fprintf(stderr, "tlsbroker probe: --timeout: %s\n",
			    r->timeout_ms == 0 ? "must be more than 0" : err);
			return -1;
		}
		return 0;
	default:
		o->name = arg;
		return 0;
	}
}

/*
 * The options of argv into r and o, leaving optind at the first operand:
 * 0, or -1 after saying why on stderr (a usage error).
 */
static int
probe_parse_opts(int argc, char **argv, struct probe_result *r,
    struct probe_opts *o)
{
	int ch;

	memset(o, 0, sizeof(*o));
	optind = 0;	/* glibc: a full re-initialisation, whatever ran before */
	while ((ch = getopt_long(argc, argv, ":c:h", probe_longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
		case 'a':
		case 'p':
		case 'P':
		case 't':
		case 'n':
			if (probe_host_opt(ch, optarg, r, o) == -1)
				return -1;
			break;
		case 'j':
			o->json = true;
			break;
		case 'r':
			o->route = optarg;
			break;
		case 'c':
			o->path = optarg;
			break;
		case 'h':
			o->help = true;
			return 0;
		case ':':
			fprintf(stderr, "tlsbroker probe: %s needs a value\n",
			    argv[optind - 1]);
			return -1;
		default:
			fprintf(stderr, "tlsbroker probe: unknown option %s\n",
			    argv[optind - 1]);
			return -1;
		}
	}
	return 0;
}

/*
 * The one HOST:PORT operand (argv[optind]) and the route name of a
 * discovery into r: 0, or -1 after saying why on stderr.
 */
static int
probe_parse_target(int argc, char **argv, struct probe_result *r,
    const struct probe_opts *o)
{
	char err[PARSE_ERRLEN];

	if (o->path != NULL) {
		fprintf(stderr, "tlsbroker probe: -c is only for --route\n");
		return -1;
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "tlsbroker probe: %s\n", optind == argc ?
		    "HOST:PORT missing" : "more than one HOST:PORT");
		return -1;
	}
	if (parse_hostport(argv[optind], 443, &r->target, err) == -1) {
		fprintf(stderr, "tlsbroker probe: %s\n", err);
		return -1;
	}
	if (o->name == NULL) {
		probe_route_name(r->target.host, r->name, sizeof(r->name));
		return 0;
	}
	if (!parse_is_name(o->name) || strlen(o->name) >= sizeof(r->name)) {
		fprintf(stderr, "tlsbroker probe: --name: '%s': a route name has "
		    "1-63 letters, digits, '_', '.' or '-'\n", o->name);
		return -1;
	}
	snprintf(r->name, sizeof(r->name), "%s", o->name);
	return 0;
}

/* ---- running ------------------------------------------------------------- */

/* OpenSSL, and no SIGPIPE from a peer that closed: 0, or -1 after saying why. */
static int
probe_run_begin(void)
{
	if (tlsio_init() == -1) {
		fprintf(stderr, "tlsbroker probe: cannot initialise OpenSSL\n");
		return -1;
	}
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

static void
probe_run_end(void)
{
	probe_net_cleanup();
	tls_client_cleanup();
}

/* Discovery, candidates, proof and report: 0 with a working route, else 1. */
/* --proxy and --proxy-auth for every connection of this run: 0 or -1. */
static int
probe_use_proxy(const struct probe_result *r)
{
	char basic[UPSTREAM_PROXY_BASIC_MAX], why[1200];
	struct hostport hp;
	int rc = 0;

	if (r->proxy[0] == '\0' && r->proxy_auth[0] != '\0') {
		fprintf(stderr, "tlsbroker probe: --proxy-auth needs --proxy\n");
		return -1;
	}
	if (r->proxy[0] == '\0')
		return 0;
	/* parsed once already by the option: it cannot fail here */
	if (upstream_proxy_parse_url(r->proxy, &hp, why) == -1)
		return -1;
	if (r->proxy_auth[0] == '\0')
		probe_net_set_proxy(&hp, NULL);
	else if (upstream_proxy_basic_file(r->proxy_auth, basic, sizeof(basic),
	    why, sizeof(why)) == -1) {
		fprintf(stderr, "tlsbroker probe: --proxy-auth: %s\n", why);
		rc = -1;
	} else
		probe_net_set_proxy(&hp, basic);
	OPENSSL_cleanse(basic, sizeof(basic));
	return rc;
}

static int
probe_run_host(struct probe_result *r, bool json)
{
	if (probe_use_proxy(r) == -1)
		return 1;
	if (probe_run_begin() == -1)
		return 1;
	probe_discover(r);
	probe_candidates(r);
	probe_prove(r);
	if (json)
		(void)probe_json(r, stdout);
	else
		probe_report(r, stdout);
	probe_run_end();
	return r->chosen >= 0 ? 0 : 1;
}

static int
probe_run_route(const char *path, const char *route)
{
	int status;

	if (probe_run_begin() == -1)
		return 1;
	status = probe_check_route(path != NULL ? path : PROBE_DEFAULT_CONF,
	    route);
	probe_run_end();
	return status;
}

int
probe_main(int argc, char **argv)
{
	struct probe_result *r;
	struct probe_opts o;
	int status;

	if ((r = malloc(sizeof(*r))) == NULL) {
		fprintf(stderr, "tlsbroker probe: out of memory\n");
		return 1;
	}
	probe_result_init(r);
	if (probe_parse_opts(argc, argv, r, &o) == -1)
		goto usage;
	if (o.help) {
		probe_usage(stdout);
		status = 0;
	} else if (o.route != NULL) {
		if (optind != argc || o.host_opts || o.json) {
			fprintf(stderr, "tlsbroker probe: --route takes only -c "
			    "FILE\n");
			goto usage;
		}
		status = probe_run_route(o.path, o.route);
	} else {
		if (probe_parse_target(argc, argv, r, &o) == -1)
			goto usage;
		status = probe_run_host(r, o.json);
	}
	free(r);
	return status;
usage:
	probe_usage(stderr);
	free(r);
	return 2;
}
