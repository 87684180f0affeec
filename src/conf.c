/* SPDX-License-Identifier: MIT */
/*
 * conf: loads the ini file into a struct conf.  Owns the walk through the
 * file: the inih reader callback, section headers, key lines looked up in
 * the key table (conf_keys.c) with their duplicates and locations, the
 * required keys, and the route listener default.  Errors are collected
 * (conf_err.c) before loading fails; lines come from conf_lines.c.
 * Cross-references, files and consistency between keys are
 * conf_check.c's; SSL_CTXs are built by tls_server.c and tls_client.c.
 *
 * Why the reader does more than read: Debian 12's inih 55 parses into a
 * fixed 200-byte buffer and splits longer lines into a bogus value plus a
 * bogus "key", shifting every later line number; it truncates section
 * names to 49 bytes; it gives the handler no line number and no call for
 * a section without keys; it takes indented lines as continuations of the
 * previous value; and it reports only the first malformed line.  So the
 * reader counts lines itself, strips indentation (no continuation lines),
 * handles section headers, comments and malformed lines itself, and hands
 * inih only "key = value" lines.  Those that do not fit inih's buffer are
 * kept here and inih gets a short stand-in line whose handler call
 * processes the stored text; lines over CONF_MAX_LINE are an error.  As
 * inih asks for exactly one line per key, the handler runs while
 * conf_parser.lineno is that key's line.
 */
#include "config.h"

#include "conf.h"

#include "metrics.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>
#include <openssl/ssl.h>

#include "conf_check.h"
#include "parse.h"
#include "regfile.h"
#include "upstream_proxy.h"

#define CONF_LONG_KEY "__tlsbroker_long_line__"
#define CONF_BOM "\xef\xbb\xbf"	/* UTF-8 byte order mark */

struct conf_parser {
	struct conf *conf;
	struct conf_errors *errs;	/* may be NULL */
	unsigned nerrors;
	unsigned listeners_cap, routes_cap;

	struct conf_lines in;		/* the input; in.line is the line last read */
	bool stopped;			/* stopped at CONF_MAX_ERRORS */

	int lineno;			/* physical line last handed to inih */
	bool long_pending;		/* inih got the stand-in for in.line */
	const char *long_name;		/* key and value inside line */
	const char *long_value;

	enum conf_kind kind;		/* section being read */
	const struct conf_sect_desc *desc;	/* its keys; NULL while kind has none */
	void *sect;			/* its struct, whose at[] says which keys were seen */
	unsigned index;			/* its position in conf.listeners/routes */
	char label[CONF_MAX_LINE + 16];	/* "route payroll", for errors */
};

/* ---- errors ------------------------------------------------------------ */

static void conf_err(struct conf_parser *p, int line, const char *section,
    const char *key, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Records one error at line of the file being parsed. */
static void
conf_err(struct conf_parser *p, int line, const char *section,
    const char *key, const char *fmt, ...)
{
	struct conf_loc loc = { p->conf->path, line };
	va_list ap;

	p->nerrors++;
	va_start(ap, fmt);
	conf_errors_vadd_at(p->errs, &loc, section, key, fmt, ap);
	va_end(ap);
}

/* ---- sections ---------------------------------------------------------- */

/* The struct of the section being read, or NULL. */
static void *
conf_cur_sect(struct conf_parser *p)
{
	switch (p->kind) {
	case CONF_SECT_BROKER:
		return &p->conf->broker;
	case CONF_SECT_LISTENER:
		return &p->conf->listeners[p->index];
	case CONF_SECT_ROUTE:
		return &p->conf->routes[p->index];
	default:
		return NULL;
	}
}

/*
 * One more element of size bytes at the end of *arr (n used, cap
 * allocated), or NULL if out of memory.  Its contents are undefined.
 */
static void *
conf_grow(void *arr, unsigned *n, unsigned *cap, size_t size)
{
	void **base = arr, *grown;
	unsigned ncap;

	if (*n == *cap) {
		ncap = *cap ? *cap * 2 : 4;
		if ((grown = realloc(*base, ncap * size)) == NULL)
			return NULL;
		*base = grown;
		*cap = ncap;
	}
	return (char *)*base + (size_t)(*n)++ * size;
}

/*
 * Starts a [listener NAME] or [route NAME] with the table's defaults; -1
 * with err if out of memory (or if a default does not parse: a table bug).
 */
static int
conf_new_named(struct conf_parser *p, enum conf_kind kind, const char *name,
    char *err)
{
	struct conf *c = p->conf;
	const struct conf_sect_desc *d = conf_sect_desc(kind);
	bool listener = kind == CONF_SECT_LISTENER;
	struct listener_conf *l = NULL;
	struct route_conf *r = NULL;
	void *sect;

	snprintf(err, CONF_ERRLEN, "out of memory");
	if (listener)
		sect = l = conf_grow(&c->listeners, &c->nlisteners, &p->listeners_cap,
		    sizeof(*l));
	else
		sect = r = conf_grow(&c->routes, &c->nroutes, &p->routes_cap, sizeof(*r));
	if (sect == NULL)
		return -1;
	p->index = (listener ? c->nlisteners : c->nroutes) - 1;
	if (conf_sect_defaults(d, sect, c->path, err) == -1)
		goto fail;
	if (listener) {
		if ((l->name = strdup(name)) == NULL)
			goto fail;
		l->loc = (struct conf_loc){ c->path, p->lineno };
		l->index = p->index;
	} else {
		if ((r->name = strdup(name)) == NULL)
			goto fail;
		r->loc = (struct conf_loc){ c->path, p->lineno };
		r->index = p->index;
	}
	p->kind = kind;
	return 0;
fail:
	/* the defaults zeroed the struct first: releasing it is safe */
	conf_sect_release(d, sect);
	if (listener)
		c->nlisteners--;
	else
		c->nroutes--;
	return -1;
}

/* Line of an earlier section of kind named name, or 0. */
static int
conf_named_line(const struct conf *c, enum conf_kind kind, const char *name)
{
	unsigned i;

	if (kind == CONF_SECT_LISTENER) {
		for (i = 0; i < c->nlisteners; i++)
			if (strcmp(c->listeners[i].name, name) == 0)
				return c->listeners[i].loc.line;
	} else {
		for (i = 0; i < c->nroutes; i++)
			if (strcmp(c->routes[i].name, name) == 0)
				return c->routes[i].loc.line;
	}
	return 0;
}

/*
 * A "[...]" line (s has no leading blanks, no trailing blanks): checks
 * it and makes it the current section, or CONF_SECT_SKIP after an error.
 */
static void
conf_section_line(struct conf_parser *p, char *s)
{
	char *end, *inner, *name, *rest, err[CONF_ERRLEN];
	enum conf_kind kind;
	int first;

	p->kind = CONF_SECT_SKIP;
	p->label[0] = '\0';
	if ((end = strchr(s, ']')) == NULL) {
		conf_err(p, p->lineno, NULL, NULL,
		    "'%s': a section header needs a closing ']'", s);
		return;
	}
	rest = end + 1;
	rest += strspn(rest, " \t");
	if (*rest != '\0' && *rest != ';' && *rest != '#') {
		conf_err(p, p->lineno, NULL, NULL,
		    "'%s': unexpected text after ']'", s);
		return;
	}
	*end = '\0';
	inner = s + 1;
	inner += strspn(inner, " \t");
	end = inner + strlen(inner);
	while (end > inner && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	name = inner + strcspn(inner, " \t");
	if (*name != '\0') {
		*name++ = '\0';
		name += strspn(name, " \t");
	}
	if (strcmp(inner, "broker") == 0)
		kind = CONF_SECT_BROKER;
	else if (strcmp(inner, "listener") == 0)
		kind = CONF_SECT_LISTENER;
	else if (strcmp(inner, "route") == 0)
		kind = CONF_SECT_ROUTE;
	else {
		conf_err(p, p->lineno, NULL, NULL,
		    "unknown section [%s%s%s]; sections are [broker], [listener NAME], [route NAME]",
		    inner, *name != '\0' ? " " : "", name);
		return;
	}
	if (kind == CONF_SECT_BROKER) {
		if (*name != '\0') {
			conf_err(p, p->lineno, NULL, NULL,
			    "[broker %s]: [broker] takes no name", name);
			return;
		}
		if (p->conf->broker.loc.line != 0) {
			conf_err(p, p->lineno, "broker", NULL,
			    "duplicate section (first at line %d)", p->conf->broker.loc.line);
			return;
		}
		p->conf->broker.loc.line = p->lineno;
		p->kind = CONF_SECT_BROKER;
		snprintf(p->label, sizeof(p->label), "broker");
		return;
	}
	if (*name == '\0') {
		conf_err(p, p->lineno, NULL, NULL,
		    "[%s] needs a name: [%s NAME]", inner, inner);
		return;
	}
	snprintf(p->label, sizeof(p->label), "%s %s", inner, name);
	if (!parse_is_name(name)) {
		conf_err(p, p->lineno, p->label, NULL,
		    "a name may only contain letters, digits, '_', '.' and '-'");
		return;
	}
	if (strcmp(name, "-") == 0) {
		/* metrics and audit records use "-" for "no route" */
		conf_err(p, p->lineno, p->label, NULL,
		    "'-' is reserved (it stands for \"no route\" in metrics)");
		return;
	}
	if ((first = conf_named_line(p->conf, kind, name)) != 0) {
		conf_err(p, p->lineno, p->label, NULL,
		    "duplicate %s name (first at line %d)", inner, first);
		return;
	}
	if (conf_new_named(p, kind, name, err) == -1)
		conf_err(p, p->lineno, p->label, NULL, "%s", err);
}

/* "unknown key", saying which section kind has one of that name. */
static void
conf_unknown_key(struct conf_parser *p, const char *name)
{
	const struct conf_sect_desc *d;
	enum conf_kind other;

	for (other = CONF_SECT_BROKER; other <= CONF_SECT_ROUTE; other++) {
		d = conf_sect_desc(other);
		if (other != p->kind && conf_key_find(d, name) >= 0) {
			conf_err(p, p->lineno, p->label, name,
			    "unknown key; it belongs in %s", d->header);
			return;
		}
	}
	conf_err(p, p->lineno, p->label, name, "unknown key");
}

/* One "key = value" line at p->lineno. */
static void
conf_key_line(struct conf_parser *p, const char *name, const char *value)
{
	const struct conf_sect_desc *d;
	const struct conf_key *k;
	char err[CONF_ERRLEN];
	struct conf_loc *seen, at = { p->conf->path, p->lineno };
	void *sect;
	int i;

	if (*name == '\0') {
		conf_err(p, p->lineno, p->kind == CONF_SECT_SKIP || p->kind == CONF_SECT_NONE ?
		    NULL : p->label, NULL, "a key name is missing before '='");
		return;
	}
	if (p->kind == CONF_SECT_NONE) {
		conf_err(p, p->lineno, NULL, name,
		    "key outside a section; keys go under [broker], [listener NAME] or [route NAME]");
		return;
	}
	if ((d = conf_sect_desc(p->kind)) == NULL || (sect = conf_cur_sect(p)) == NULL)
		return;
	if ((i = conf_key_find(d, name)) < 0) {
		conf_unknown_key(p, name);
		return;
	}
	k = &d->keys[i];
	seen = &conf_sect_at(d, sect)[i];
	if (seen->line != 0 && !(k->flags & KEY_REPEAT)) {
		conf_err(p, p->lineno, p->label, name,
		    "duplicate key (first at line %d)", seen->line);
		return;
	}
	/* Set even if the value is bad, so "required key missing" is not added. */
	if (seen->line == 0)
		*seen = at;
	if (k->parse(k, value, sect, &at, err) == -1) {
		conf_err(p, p->lineno, p->label, name, "%s", err);
		if (p->kind == CONF_SECT_LISTENER)
			p->conf->listeners[p->index].bad = true;
		else if (p->kind == CONF_SECT_ROUTE)
			p->conf->routes[p->index].bad = true;
	}
}

/* ---- reading ----------------------------------------------------------- */

/* The ini_reader: hands inih one line per physical line, see the top. */
static char *
conf_reader(char *str, int num, void *stream)
{
	struct conf_parser *p = stream;
	char *s, *e;
	long n;
	bool nul;

	p->long_pending = false;
	/* enough for anyone to fix first; the rest of a bad file is noise */
	if (p->nerrors >= CONF_MAX_ERRORS) {
		p->stopped = true;
		return NULL;
	}
	if (num < 2 || (n = conf_lines_read(&p->in, &nul)) < 0)
		return NULL;
	p->lineno++;
	str[0] = '\n';
	str[1] = '\0';
	if (n > CONF_MAX_LINE) {
		conf_err(p, p->lineno, NULL, NULL, "line too long (%ld bytes, at most %d)",
		    n, CONF_MAX_LINE);
		return str;
	}
	if (nul) {
		conf_err(p, p->lineno, NULL, NULL, "line contains a NUL byte");
		return str;
	}
	s = p->in.line;
	if (p->lineno == 1 && strncmp(s, CONF_BOM, 3) == 0)
		s += 3;
	s += strspn(s, " \t\f\v\r");
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	if (*s == '\0' || *s == ';' || *s == '#')
		return str;
	if (*s == '[') {
		conf_section_line(p, s);
		return str;
	}
	if (conf_lines_split(s, NULL, NULL) == -1) {
		conf_err(p, p->lineno, NULL, NULL,
		    "'%s' is not 'key = value', a [section] or a comment", s);
		return str;
	}
	/* inih would strip a (second) BOM from line 1 and misread the rest */
	if ((size_t)(e - s) + 2 <= (size_t)num &&
	    !(p->lineno == 1 && strncmp(s, CONF_BOM, 3) == 0)) {
		memcpy(str, s, (size_t)(e - s));
		memcpy(str + (e - s), "\n", 2);
		return str;
	}
	/* Not for inih's buffer: keep the line here, give inih a stand-in. */
	if ((size_t)num < sizeof(CONF_LONG_KEY "=1\n")) {
		conf_err(p, p->lineno, NULL, NULL, "line too long for the ini parser");
		return str;
	}
	conf_lines_split(s, &p->long_name, &p->long_value);
	p->long_pending = true;
	snprintf(str, (size_t)num, "%s=1\n", CONF_LONG_KEY);
	return str;
}

static int
conf_ini_handler(void *user, const char *section, const char *name,
    const char *value)
{
	struct conf_parser *p = user;

	(void)section;	/* inih's copy is cut at 49 bytes; we track our own */
	if (p->long_pending && strcmp(name, CONF_LONG_KEY) == 0) {
		name = p->long_name;
		value = p->long_value;
	}
	p->long_pending = false;
	conf_key_line(p, name, value);
	return 1;
}

/* "required key missing" for each KEY_REQUIRED key of sect never written. */
static void
conf_required(struct conf_parser *p, enum conf_kind kind, void *sect,
    const struct conf_loc *header, const char *label)
{
	const struct conf_sect_desc *d = conf_sect_desc(kind);
	const struct conf_loc *at = conf_sect_at(d, sect);
	unsigned i;

	for (i = 0; i < d->nkeys; i++) {
		if ((d->keys[i].flags & KEY_REQUIRED) && at[i].line == 0)
			conf_err(p, header->line, label, d->keys[i].name,
			    "required key missing (%s)", d->keys[i].missing);
	}
}

/* After the last line: required keys, the route listener default. */
static void
conf_finish(struct conf_parser *p)
{
	struct conf *c = p->conf;
	struct listener_conf *l;
	struct route_conf *r;
	char label[CONF_MAX_LINE + 16], names[512];
	unsigned i;
	size_t off;

	for (i = 0; i < c->nlisteners; i++) {
		l = &c->listeners[i];
		snprintf(label, sizeof(label), "listener %s", l->name);
		conf_required(p, CONF_SECT_LISTENER, l, &l->loc, label);
	}
	names[0] = '\0';
	for (i = 0, off = 0; i < c->nlisteners && off < sizeof(names); i++)
		off += (size_t)snprintf(names + off, sizeof(names) - off, "%s%s",
		    i > 0 ? ", " : "", c->listeners[i].name);
	for (i = 0; i < c->nroutes; i++) {
		r = &c->routes[i];
		snprintf(label, sizeof(label), "route %s", r->name);
		conf_required(p, CONF_SECT_ROUTE, r, &r->loc, label);
		if (r->at[ROUTE_KEY_LISTENER].line != 0)
			continue;
		if (c->nlisteners == 1) {
			if ((r->listener = strdup(c->listeners[0].name)) == NULL)
				conf_err(p, r->loc.line, label, "listener", "out of memory");
		} else if (c->nlisteners == 0)
			conf_err(p, r->loc.line, label, "listener",
			    "required key missing (no [listener NAME] in this file)");
		else
			conf_err(p, r->loc.line, label, "listener",
			    "required key missing (this file has %u listeners: %s)",
			    c->nlisteners, names);
	}
}

/* Parses from the source set in p; returns the conf or NULL after errors. */
static struct conf *
conf_parse(struct conf_parser *p)
{
	int rc;

	rc = ini_parse_stream(conf_reader, p, conf_ini_handler, p);
	if (p->stopped) {
		/* past the cap, this becomes the "only the first N" notice */
		conf_errors_add(p->errs, "%s:%d: stopped reading after %u errors",
		    p->conf->path, p->lineno, p->nerrors);
	} else if (p->in.too_big) {
		p->nerrors++;
		conf_errors_add(p->errs, "%s: longer than %d bytes; not read beyond",
		    p->conf->path, CONF_MAX_SIZE);
	} else if (p->in.read_errno != 0) {
		p->nerrors++;
		conf_errors_add(p->errs, "%s: cannot read: %s", p->conf->path,
		    strerror(p->in.read_errno));
	} else if (rc < 0) {
		p->nerrors++;
		conf_errors_add(p->errs, "%s: out of memory", p->conf->path);
	} else if (rc > 0 && p->nerrors == 0) {
		/* the reader passes only lines inih accepts; this is a safety net */
		conf_err(p, rc, NULL, NULL, "cannot parse this line");
	}
	conf_finish(p);
	if (p->nerrors > 0) {
		/* list the file's other problems too: one run, every error */
		conf_check_partial(p->conf, p->errs);
		conf_free(p->conf);
		return NULL;
	}
	return p->conf;
}

/* A new empty conf named path, or NULL. */
static struct conf *
conf_new(const char *path, struct conf_errors *errs)
{
	struct conf *c;
	char err[CONF_ERRLEN];

	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->path = strdup(path)) == NULL) {
		free(c);
		conf_errors_add(errs, "%s: out of memory", path);
		return NULL;
	}
	if (conf_sect_defaults(conf_sect_desc(CONF_SECT_BROKER), &c->broker, c->path,
	    err) == -1) {
		/* a default that does not parse is a bug of the table */
		conf_errors_add(errs, "%s: [broker] default: %s", path, err);
		conf_free(c);
		return NULL;
	}
	c->broker.loc.file = c->path;
	return c;
}

struct conf *
conf_load(const char *path, struct conf_errors *errs)
{
	struct conf_parser p;
	struct conf *c;
	struct stat st;
	char err[REGFILE_ERRLEN];
	FILE *fp;
	int fd;

	/* A FIFO would hang us, /dev/zero spin, /dev/urandom grow the errors. */
	if ((fd = regfile_open(path, O_RDONLY, 0, err)) == -1) {
		conf_errors_add(errs, "%s: cannot open: %s", path, err);
		return NULL;
	}
	if (fstat(fd, &st) == 0 && st.st_size > CONF_MAX_SIZE) {
		conf_errors_add(errs, "%s: %lld bytes; a configuration file has at "
		    "most %d", path, (long long)st.st_size, CONF_MAX_SIZE);
		(void)close(fd);
		return NULL;
	}
	if ((fp = fdopen(fd, "r")) == NULL) {
		conf_errors_add(errs, "%s: cannot open: %s", path, strerror(errno));
		(void)close(fd);
		return NULL;
	}
	if ((c = conf_new(path, errs)) == NULL) {
		fclose(fp);
		return NULL;
	}
	memset(&p, 0, sizeof(p));
	p.conf = c;
	p.errs = errs;
	p.in.fp = fp;
	c = conf_parse(&p);
	fclose(fp);
	return c;
}

struct conf *
conf_load_string(const char *name, const char *text, struct conf_errors *errs)
{
	struct conf_parser p;
	struct conf *c;

	if ((c = conf_new(name, errs)) == NULL)
		return NULL;
	memset(&p, 0, sizeof(p));
	p.conf = c;
	p.errs = errs;
	p.in.text = text;
	return conf_parse(&p);
}

void
conf_free(struct conf *conf)
{
	struct route_conf *r;
	unsigned i;

	if (conf == NULL)
		return;
	conf_sect_release(conf_sect_desc(CONF_SECT_BROKER), &conf->broker);
	for (i = 0; i < conf->nlisteners; i++) {
		conf_sect_release(conf_sect_desc(CONF_SECT_LISTENER), &conf->listeners[i]);
		free(conf->listeners[i].name);
	}
	free(conf->listeners);
	for (i = 0; i < conf->nroutes; i++) {
		r = &conf->routes[i];
		conf_sect_release(conf_sect_desc(CONF_SECT_ROUTE), r);
		free(r->name);
		/* what conf_check derived from the keys' files */
		if (r->up_proxy_basic != NULL)
			OPENSSL_cleanse(r->up_proxy_basic, strlen(r->up_proxy_basic));
		free(r->up_proxy_basic);
		OPENSSL_cleanse(r->secret_sha256, sizeof(r->secret_sha256));
	}
	free(conf->routes);
	free(conf->path);
	free(conf);
}

const struct listener_conf *
conf_find_listener(const struct conf *conf, const char *name)
{
	unsigned i;

	for (i = 0; i < conf->nlisteners; i++) {
		if (strcmp(conf->listeners[i].name, name) == 0)
			return &conf->listeners[i];
	}
	return NULL;
}
