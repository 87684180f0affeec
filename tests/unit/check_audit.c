/* SPDX-License-Identifier: MIT */
/*
 * check_audit: the audit record format (parsed back with a small strict
 * JSON reader: field order, presence rules, escaping), the overflow
 * fallbacks, and the descriptor life cycle: open, write, rename, reopen
 * (logrotate), a failed reopen, stderr and "off", and writers on several
 * threads during reopens.
 */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "diag.h"

/* ---- a small strict JSON reader for one flat object per line ---- */

enum jtype { J_STR, J_NUM, J_BOOL };

struct jfield {
	char key[32];
	enum jtype type;
	char str[4096];		/* decoded string value (UTF-8) */
	long long num;
	bool b;
};

struct jobj {
	struct jfield f[40];
	int n;
};

static bool
utf8_ok(const unsigned char *s, size_t n, size_t *adv)
{
	unsigned cp, need, i;

	if (s[0] < 0x80) {
		*adv = 1;
		return true;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		need = 1;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		need = 2;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		need = 3;
		cp = s[0] & 0x07;
	} else
		return false;
	if (n < need + 1)
		return false;
	for (i = 1; i <= need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return false;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return false;
	*adv = need + 1;
	return true;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Parses a JSON string at *p into out; no raw control characters allowed. */
static bool
jstring(const char **p, const char *end, char *out, size_t cap)
{
	const char *s = *p;
	size_t o = 0, adv;
	unsigned cp;
	int i, h;

	if (s >= end || *s++ != '"')
		return false;
	while (s < end && *s != '"') {
		if (o + 5 >= cap)
			return false;
		if ((unsigned char)*s < 0x20)
			return false;
		if (*s != '\\') {
			if (!utf8_ok((const unsigned char *)s, (size_t)(end - s), &adv))
				return false;
			memcpy(out + o, s, adv);
			o += adv;
			s += adv;
			continue;
		}
		if (++s >= end)
			return false;
		switch (*s++) {
		case '"': out[o++] = '"'; break;
		case '\\': out[o++] = '\\'; break;
		case '/': out[o++] = '/'; break;
		case 'b': out[o++] = '\b'; break;
		case 'f': out[o++] = '\f'; break;
		case 'n': out[o++] = '\n'; break;
		case 'r': out[o++] = '\r'; break;
		case 't': out[o++] = '\t'; break;
		case 'u':
			if (end - s < 4)
				return false;
			for (cp = 0, i = 0; i < 4; i++) {
				if ((h = hexval(s[i])) < 0)
					return false;
				cp = cp << 4 | (unsigned)h;
			}
			s += 4;
			if (cp >= 0xd800 && cp <= 0xdfff)
				return false;	/* the writer never needs pairs */
			if (cp < 0x80)
				out[o++] = (char)cp;
			else if (cp < 0x800) {
				out[o++] = (char)(0xc0 | cp >> 6);
				out[o++] = (char)(0x80 | (cp & 0x3f));
			} else {
				out[o++] = (char)(0xe0 | cp >> 12);
				out[o++] = (char)(0x80 | ((cp >> 6) & 0x3f));
				out[o++] = (char)(0x80 | (cp & 0x3f));
			}
			break;
		default:
			return false;
		}
	}
	if (s >= end)
		return false;
	out[o] = '\0';
	*p = s + 1;
	return true;
}

/*
 * Parses exactly one object followed by "\n" (nothing else) into o.
 * Values must be strings, integers or booleans; keys must be unique.
 */
static bool
jparse(const char *line, size_t len, struct jobj *o)
{
	const char *p = line, *end = line + len;
	struct jfield *f;
	char *e;
	int i;

	o->n = 0;
	if (len < 3 || line[len - 1] != '\n')
		return false;
	end--;		/* the newline */
	if (*p++ != '{')
		return false;
	if (*p == '}')
		return p + 1 == end;
	for (;;) {
		if (o->n == (int)(sizeof(o->f) / sizeof(o->f[0])))
			return false;
		f = &o->f[o->n];
		if (!jstring(&p, end, f->key, sizeof(f->key)))
			return false;
		for (i = 0; i < o->n; i++) {
			if (strcmp(o->f[i].key, f->key) == 0)
				return false;
		}
		if (p >= end || *p++ != ':')
			return false;
		if (p < end && *p == '"') {
			f->type = J_STR;
			if (!jstring(&p, end, f->str, sizeof(f->str)))
				return false;
		} else if (end - p >= 4 && strncmp(p, "true", 4) == 0) {
			f->type = J_BOOL;
			f->b = true;
			p += 4;
		} else if (end - p >= 5 && strncmp(p, "false", 5) == 0) {
			f->type = J_BOOL;
			f->b = false;
			p += 5;
		} else {
			f->type = J_NUM;
			if (p >= end || (*p != '-' && (*p < '0' || *p > '9')))
				return false;
			errno = 0;
			f->num = strtoll(p, &e, 10);
			if (errno != 0 || e == p || e > end)
				return false;
			p = e;
		}
		o->n++;
		if (p >= end)
			return false;
		if (*p == '}')
			return p + 1 == end;
		if (*p++ != ',')
			return false;
	}
}

static const struct jfield *
jget(const struct jobj *o, const char *key)
{
	int i;

	for (i = 0; i < o->n; i++) {
		if (strcmp(o->f[i].key, key) == 0)
			return &o->f[i];
	}
	return NULL;
}

static const char *
jstr(const struct jobj *o, const char *key)
{
	const struct jfield *f = jget(o, key);

	ck_assert_msg(f != NULL, "field %s missing", key);
	ck_assert_msg(f->type == J_STR, "field %s not a string", key);
	return f->str;
}

static long long
jnum(const struct jobj *o, const char *key)
{
	const struct jfield *f = jget(o, key);

	ck_assert_msg(f != NULL, "field %s missing", key);
	ck_assert_msg(f->type == J_NUM, "field %s not a number", key);
	return f->num;
}

/* Formats rec and parses it back; fails the test if either step fails. */
static void
format_parse(const struct audit_rec *rec, struct jobj *o)
{
	char buf[4096];
	long n;

	n = audit_format(rec, buf, sizeof(buf));
	ck_assert_msg(n > 0, "audit_format failed");
	ck_assert_int_eq((long)strlen(buf), n);
	ck_assert_msg(jparse(buf, (size_t)n, o), "not one JSON object: %s", buf);
}

/* ---- records ---- */

#define TS_2026	1795701787412ULL	/* 2026-11-26T14:03:07.412Z */

/*
 * A thread keeps the last second's text: records in the same second, the
 * next one, a minute, a day and a year on, back in time, and a year past
 * 9999 (snprintf's fallback) all carry their own time, as gmtime_r and
 * snprintf say apart from audit.c.
 */
START_TEST(test_timestamp_every_second)
{
	static const uint64_t times[] = {
		TS_2026, TS_2026 + 1, TS_2026 + 587, TS_2026 + 588, TS_2026 + 1000,
		TS_2026 + 60000, TS_2026 + 86400000, TS_2026 + 31536000000ULL,
		TS_2026 - 1000, TS_2026 - 413, 1000, 1, 253402300799999ULL,
		253402300800000ULL, 253402300800001ULL, TS_2026,
	};
	struct audit_rec rec;
	struct jobj o;
	struct tm tm;
	char want[64];
	time_t secs;
	size_t i;

	for (i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		audit_rec_init(&rec);
		rec.ts_ms = times[i];
		format_parse(&rec, &o);
		secs = (time_t)(times[i] / 1000);
		ck_assert_ptr_nonnull(gmtime_r(&secs, &tm));
		snprintf(want, sizeof(want), "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec, (unsigned)(times[i] % 1000));
		ck_assert_str_eq(jstr(&o, "ts"), want);
	}
}
END_TEST

static void
full_ok_rec(struct audit_rec *rec)
{
	audit_rec_init(rec);
	rec->ts_ms = TS_2026;
	rec->worker = 1;
	rec->conn = 1842;
	rec->req = 3;
	rec->listener = "erp";
	rec->route = "payroll";
	rec->client = "20.37.1.9:51514";
	rec->sni = "payroll.broker.example.com";
	rec->tls = "TLSv1.3";
	rec->cipher = "TLS_AES_256_GCM_SHA384";
	rec->method = "POST";
	rec->path = "/soap/Employee";
	rec->status = 200;
	rec->bytes_in = 5120;
	rec->bytes_out = 40960;
	audit_set_upstream(rec, "10.1.2.3:443");
	rec->up_tls = "TLSv1";
	rec->up_cipher = "AES128-SHA";
	rec->up_reused = true;
	rec->connect_ms = 0;
	rec->handshake_ms = 0;
	rec->ttfb_ms = 38;
	rec->total_ms = 41;
}

START_TEST(test_full_record)
{
	static const char *const order[] = {
		"ts", "worker", "conn", "req", "listener", "route", "client",
		"sni", "tls", "cipher", "method", "path", "status", "bytes_in",
		"bytes_out", "upstream", "up_tls", "up_cipher", "up_reused",
		"up_resumed", "connect_ms", "handshake_ms", "ttfb_ms",
		"total_ms", "close",
	};
	struct audit_rec rec;
	struct jobj o;
	size_t i;

	full_ok_rec(&rec);
	format_parse(&rec, &o);
	ck_assert_int_eq(o.n, (int)(sizeof(order) / sizeof(order[0])));
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		ck_assert_str_eq(o.f[i].key, order[i]);
	ck_assert_str_eq(jstr(&o, "ts"), "2026-11-26T14:03:07.412Z");
	ck_assert_int_eq(jnum(&o, "conn"), 1842);
	ck_assert_int_eq(jnum(&o, "status"), 200);
	ck_assert_int_eq(jnum(&o, "connect_ms"), 0);
	ck_assert_int_eq(jnum(&o, "total_ms"), 41);
	ck_assert_str_eq(jstr(&o, "up_tls"), "TLSv1");
	ck_assert(jget(&o, "up_reused")->b);
	ck_assert(!jget(&o, "up_resumed")->b);
	ck_assert_str_eq(jstr(&o, "close"), "ok");
}
END_TEST

/* A failed tcp-mode connection: unknown fields absent, diagnosis present. */
START_TEST(test_failed_record)
{
	static const char *const order[] = {
		"ts", "worker", "conn", "listener", "route", "client",
		"tls", "cipher", "bytes_in", "bytes_out", "upstream", "up_reused",
		"connect_ms", "total_ms", "close", "phase", "hint", "detail",
	};
	struct audit_rec rec;
	struct tls_failure f = {
		.ssl_err = 0, .sys_errno = 0, .eof = true, .alert_recv = -1,
		.alert_sent = -1, .verify_result = 0, .pin_mismatch = false,
		.offered = "1.2-1.3",
	};
	struct jobj o;
	size_t i;

	audit_rec_init(&rec);
	rec.ts_ms = TS_2026;
	rec.conn = 7;
	rec.listener = "erp";
	rec.route = "legacy";
	rec.client = "127.0.0.1:40000";
	rec.tls = "TLSv1.3";
	rec.cipher = "TLS_AES_128_GCM_SHA256";
	rec.method = "";		/* empty: absent like NULL */
	snprintf(rec.upstream, sizeof(rec.upstream), "127.0.0.1:17103");
	rec.connect_ms = 1;
	rec.total_ms = 9;
	diag_from_upstream_tls(&rec.err, &f);
	format_parse(&rec, &o);
	for (i = 0; i < sizeof(order) / sizeof(order[0]) && (int)i < o.n; i++)
		ck_assert_str_eq(o.f[i].key, order[i]);
	ck_assert_int_eq(o.n, (int)(sizeof(order) / sizeof(order[0])));
	ck_assert_int_eq(jnum(&o, "worker"), 0);
	ck_assert_str_eq(jstr(&o, "close"), "upstream_reset");
	ck_assert_str_eq(jstr(&o, "phase"), "handshake");
	ck_assert_str_eq(jstr(&o, "hint"), diag_hint(&rec.err));
	ck_assert_ptr_nonnull(strstr(jstr(&o, "detail"), "(no alert)"));
	/* No req, status, up_tls, handshake/ttfb, alert: all unknown. */
	ck_assert_ptr_null(jget(&o, "req"));
	ck_assert_ptr_null(jget(&o, "status"));
	ck_assert_ptr_null(jget(&o, "alert"));
	ck_assert_ptr_null(jget(&o, "handshake_ms"));
}
END_TEST

START_TEST(test_alert_and_offered)
{
	struct audit_rec rec;
	struct jobj o;

	audit_rec_init(&rec);
	rec.offered = "TLSv1";
	diag_client_tls_version(&rec.err, "TLSv1");
	format_parse(&rec, &o);
	ck_assert_str_eq(jstr(&o, "offered"), "TLSv1");
	ck_assert_str_eq(jstr(&o, "close"), "client_tls_version");
	ck_assert_str_eq(jstr(&o, "phase"), "client_handshake");
	ck_assert_str_eq(jstr(&o, "hint"), "the client offered only TLSv1; "
	    "this listener requires TLS 1.2 or later");
	ck_assert_ptr_null(jget(&o, "upstream"));
	ck_assert_ptr_null(jget(&o, "up_reused"));

	audit_rec_init(&rec);
	tb_err_set(&rec.err, CR_UPSTREAM_TLS_ALERT, PHASE_HANDSHAKE, "x");
	snprintf(rec.err.alert, sizeof(rec.err.alert), "handshake_failure");
	format_parse(&rec, &o);
	ck_assert_str_eq(jstr(&o, "alert"), "handshake_failure");
	/* "ok" never carries phase, hint, alert or detail. */
	audit_rec_init(&rec);
	rec.err.phase = PHASE_EXCHANGE;
	snprintf(rec.err.msg, sizeof(rec.err.msg), "stale");
	format_parse(&rec, &o);
	ck_assert_ptr_null(jget(&o, "phase"));
	ck_assert_ptr_null(jget(&o, "hint"));
	ck_assert_ptr_null(jget(&o, "detail"));
	ck_assert_ptr_nonnull(jget(&o, "ts"));	/* init sets it to now */
}
END_TEST

/* The upstream address is copied whole, or cut to the field and ended. */
START_TEST(test_set_upstream)
{
	struct audit_rec rec;
	char longname[300];

	audit_rec_init(&rec);
	audit_set_upstream(&rec, "10.1.2.3:443");
	ck_assert_str_eq(rec.upstream, "10.1.2.3:443");
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	audit_set_upstream(&rec, longname);
	ck_assert_uint_eq(strlen(rec.upstream), sizeof(rec.upstream) - 1);
	ck_assert_int_eq(strncmp(rec.upstream, longname, sizeof(rec.upstream) - 1), 0);
}
END_TEST

START_TEST(test_escaping)
{
	struct audit_rec rec;
	struct jobj o;

	audit_rec_init(&rec);
	rec.path = "/a\"b\\c\n\r\t\x01\x1b/\xc3\xa9";
	rec.sni = "bad\xff" "sni\xc0";
	tb_err_set(&rec.err, CR_BAD_REQUEST, PHASE_REQUEST,
	    "bad header \"X\x7f\"");
	format_parse(&rec, &o);
	ck_assert_str_eq(jstr(&o, "path"),
	    "/a\"b\\c\n\r\t\x01\x1b/\xc3\xa9");
	ck_assert_str_eq(jstr(&o, "sni"), "bad\xef\xbf\xbdsni\xef\xbf\xbd");
	ck_assert_str_eq(jstr(&o, "detail"), "bad header \"X\x7f\"");
}
END_TEST

START_TEST(test_format_small_buffer)
{
	struct audit_rec rec;
	char buf[64];

	full_ok_rec(&rec);
	memset(buf, 'x', sizeof(buf));
	ck_assert_int_eq(audit_format(&rec, buf, sizeof(buf)), -1);
	ck_assert_str_eq(buf, "");	/* never half a record */
}
END_TEST

/* ---- files ---- */

static char tmpdir[256];	/* short, so every path built from it fits */

static void
make_tmpdir(void)
{
	const char *base = getenv("TMPDIR");

	snprintf(tmpdir, sizeof(tmpdir), "%s/check_audit.XXXXXX",
	    base != NULL && *base != '\0' ? base : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void
rm_tmpdir(const char *dir)
{
	char p[PATH_MAX + 300];
	struct dirent *de;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		(void)unlink(p);
	}
	closedir(d);
	(void)rmdir(dir);
}

/* Reads a whole small file; returns its length. */
static size_t
slurp(const char *path, char *buf, size_t cap)
{
	size_t n;
	FILE *fp = fopen(path, "r");

	ck_assert_msg(fp != NULL, "open %s: %s", path, strerror(errno));
	n = fread(buf, 1, cap - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	return n;
}

/* Counts the lines of text, checking that each is one valid record; conns are summed. */
static int
check_text_lines(const char *what, char *text, unsigned long long *conn_sum)
{
	struct jobj o;
	char *p, *nl;
	int lines = 0;

	for (p = text; *p != '\0'; p = nl + 1) {
		nl = strchr(p, '\n');
		ck_assert_msg(nl != NULL, "%s: last line unterminated", what);
		ck_assert_msg(jparse(p, (size_t)(nl - p + 1), &o),
		    "%s: bad line: %.*s", what, (int)(nl - p), p);
		if (conn_sum != NULL)
			*conn_sum += (unsigned long long)jnum(&o, "conn");
		lines++;
	}
	return lines;
}

static int
check_lines_from(char *text)
{
	return check_text_lines("text", text, NULL);
}

static int
check_lines(const char *path, unsigned long long *conn_sum)
{
	static char buf[1 << 20];

	slurp(path, buf, sizeof(buf));
	return check_text_lines(path, buf, conn_sum);
}

static void
write_recs(unsigned long long first, int count)
{
	struct audit_rec rec;
	int i;

	for (i = 0; i < count; i++) {
		full_ok_rec(&rec);
		rec.conn = first + (unsigned long long)i;
		audit_write(&rec);
	}
}

/* The descriptor audit.c holds for path (found through /proc), or -1. */
static int
fd_of(const char *path)
{
	char link[64], target[PATH_MAX];
	ssize_t n;
	int fd;

	for (fd = 3; fd < 1024; fd++) {
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		if ((n = readlink(link, target, sizeof(target) - 1)) == -1)
			continue;
		target[n] = '\0';
		if (strcmp(target, path) == 0)
			return fd;
	}
	return -1;
}

START_TEST(test_open_write_reopen)
{
	char path[PATH_MAX], old[PATH_MAX + 16];
	struct stat st;
	int fd;

	make_tmpdir();
	snprintf(path, sizeof(path), "%s/audit.jsonl", tmpdir);
	snprintf(old, sizeof(old), "%s/audit.jsonl.1", tmpdir);
	umask(022);
	ck_assert_int_eq(audit_open(path), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0640);
	write_recs(1, 3);
	ck_assert_int_eq(rename(path, old), 0);
	ck_assert_int_eq(audit_reopen(), 0);
	write_recs(4, 2);
	ck_assert_int_eq(check_lines(old, NULL), 3);
	ck_assert_int_eq(check_lines(path, NULL), 2);
	/* The swapped-in descriptor keeps close-on-exec (dup2 would drop it). */
	fd = fd_of(path);
	ck_assert_int_ge(fd, 0);
	ck_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	/* Appends to an existing file. */
	audit_close();
	ck_assert_int_eq(audit_open(path), 0);
	write_recs(6, 1);
	ck_assert_int_eq(check_lines(path, NULL), 3);
	audit_close();
	rm_tmpdir(tmpdir);
}
END_TEST

/*
 * A reload switching file -> off -> another file (workers writing all
 * along): the file's descriptor number never changes and is never closed,
 * and each record lands where the target of the moment says.
 */
START_TEST(test_switch_targets)
{
	char a[PATH_MAX], b[PATH_MAX];
	int fd;

	make_tmpdir();
	snprintf(a, sizeof(a), "%s/a.jsonl", tmpdir);
	snprintf(b, sizeof(b), "%s/b.jsonl", tmpdir);
	ck_assert_int_eq(audit_open(a), 0);
	fd = fd_of(a);
	ck_assert_int_ge(fd, 0);
	write_recs(1, 2);
	ck_assert_int_eq(audit_open("off"), 0);
	write_recs(3, 1);
	ck_assert(fcntl(fd, F_GETFD) != -1);	/* still open */
	ck_assert_int_eq(audit_reopen(), 0);	/* off: nothing to reopen */
	ck_assert_int_eq(audit_open(b), 0);
	ck_assert_int_eq(fd_of(b), fd);		/* the same number */
	write_recs(4, 3);
	ck_assert_int_eq(check_lines(a, NULL), 2);
	ck_assert_int_eq(check_lines(b, NULL), 3);
	audit_close();
	rm_tmpdir(tmpdir);
}
END_TEST

START_TEST(test_reopen_failure_keeps_old)
{
	char dir[300], path[PATH_MAX], moved[300];

	make_tmpdir();
	snprintf(dir, sizeof(dir), "%s/d", tmpdir);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	snprintf(path, sizeof(path), "%s/audit.jsonl", dir);
	ck_assert_int_eq(audit_open(path), 0);
	write_recs(1, 1);
	/* The directory disappears: reopen fails, records go to the old file. */
	snprintf(moved, sizeof(moved), "%s/moved", tmpdir);
	ck_assert_int_eq(rename(dir, moved), 0);
	errno = 0;
	ck_assert_int_eq(audit_reopen(), -1);
	ck_assert_int_eq(errno, ENOENT);
	write_recs(2, 1);
	snprintf(path, sizeof(path), "%s/audit.jsonl", moved);
	ck_assert_int_eq(check_lines(path, NULL), 2);
	audit_close();
	rm_tmpdir(moved);
	rm_tmpdir(tmpdir);
	ck_assert_int_eq(audit_open("/nonexistent-dir/audit.jsonl"), -1);
	ck_assert_int_eq(errno, ENOENT);
}
END_TEST

/* Runs one write with stderr redirected to a file; returns what was written. */
static size_t
stderr_capture(const char *target, char *buf, size_t cap)
{
	char path[PATH_MAX];
	int fd, saved;
	size_t n;

	make_tmpdir();
	snprintf(path, sizeof(path), "%s/stderr", tmpdir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	saved = dup(STDERR_FILENO);
	ck_assert_int_ge(saved, 0);
	ck_assert_int_eq(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	ck_assert_int_eq(audit_open(target), 0);
	write_recs(99, 1);
	ck_assert_int_eq(audit_reopen(), 0);	/* a no-op here */
	audit_close();
	ck_assert_int_eq(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
	close(fd);
	n = slurp(path, buf, cap);
	rm_tmpdir(tmpdir);
	return n;
}

START_TEST(test_stderr_and_off)
{
	char buf[8192];
	struct jobj o;
	size_t n;

	n = stderr_capture("-", buf, sizeof(buf));
	ck_assert_msg(jparse(buf, n, &o), "stderr got: %s", buf);
	ck_assert_int_eq(jnum(&o, "conn"), 99);
	n = stderr_capture(NULL, buf, sizeof(buf));
	ck_assert_msg(jparse(buf, n, &o), "stderr got: %s", buf);
	n = stderr_capture("off", buf, sizeof(buf));
	ck_assert_uint_eq(n, 0);
	/* stderr stays usable after audit_close() in stderr mode. */
	ck_assert(fcntl(STDERR_FILENO, F_GETFD) != -1);
}
END_TEST

/* Oversized records shrink but stay valid JSON. */
START_TEST(test_overflow_fallbacks)
{
	char path[PATH_MAX], buf[16384], longpath[AUDIT_PATH_MAX];
	struct audit_rec rec;
	struct jobj o;
	size_t n;
	char *nl;
	char longsni[256];	/* a DNS name's maximum */

	make_tmpdir();
	snprintf(path, sizeof(path), "%s/audit.jsonl", tmpdir);
	ck_assert_int_eq(audit_open(path), 0);

	/* path escapes to ~3 KiB and detail to ~1.5 KiB: only detail goes. */
	memset(longpath, '\x01', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	audit_rec_init(&rec);
	rec.conn = 1;
	rec.path = longpath;
	tb_err_set(&rec.err, CR_BAD_REQUEST, PHASE_REQUEST, NULL);
	memset(rec.err.msg, '\x02', sizeof(rec.err.msg) - 1);
	audit_write(&rec);

	/* sni and path together exceed 4 KiB: minimal record. */
	audit_rec_init(&rec);
	rec.conn = 2;
	rec.route = "r";
	rec.path = longpath;
	memset(longsni, '\x01', sizeof(longsni) - 1);
	longsni[sizeof(longsni) - 1] = '\0';
	rec.sni = longsni;
	tb_err_set(&rec.err, CR_UPSTREAM_RESET, PHASE_EXCHANGE, "d");
	audit_write(&rec);
	audit_close();

	ck_assert_int_eq(check_lines(path, NULL), 2);
	n = slurp(path, buf, sizeof(buf));
	nl = strchr(buf, '\n');
	ck_assert_ptr_nonnull(nl);
	ck_assert(jparse(buf, (size_t)(nl - buf + 1), &o));
	ck_assert_int_eq(jnum(&o, "conn"), 1);
	ck_assert_uint_eq(strlen(jstr(&o, "path")), sizeof(longpath) - 1);
	ck_assert_str_eq(jstr(&o, "close"), "bad_request");
	ck_assert_ptr_nonnull(jget(&o, "hint"));
	ck_assert_ptr_null(jget(&o, "detail"));

	ck_assert(jparse(nl + 1, n - (size_t)(nl + 1 - buf), &o));
	ck_assert_int_eq(jnum(&o, "conn"), 2);
	ck_assert_str_eq(jstr(&o, "close"), "upstream_reset");
	ck_assert_str_eq(jstr(&o, "phase"), "exchange");
	ck_assert_ptr_nonnull(jget(&o, "hint"));
	ck_assert_ptr_nonnull(jget(&o, "audit"));
	ck_assert_ptr_null(jget(&o, "path"));
	ck_assert_ptr_null(jget(&o, "route"));
	rm_tmpdir(tmpdir);
}
END_TEST

#define WRITERS		4
#define PER_WRITER	300

static void *
writer_main(void *arg)
{
	write_recs(*(unsigned long long *)arg, PER_WRITER);
	return NULL;
}

/* WRITERS threads, thread i writing conns first[i] .. first[i] + PER_WRITER - 1. */
static void
writers_start(pthread_t *th, unsigned long long *first)
{
	int i;

	for (i = 0; i < WRITERS; i++) {
		first[i] = (unsigned long long)i * 100000 + 1;
		ck_assert_int_eq(pthread_create(&th[i], NULL, writer_main,
		    &first[i]), 0);
	}
}

static void
writers_join(pthread_t *th)
{
	int i;

	for (i = 0; i < WRITERS; i++)
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
}

/* Reopens while threads write: no record lost, split or interleaved. */
START_TEST(test_concurrent_reopen)
{
	char path[PATH_MAX], old[PATH_MAX + 32];
	unsigned long long first[WRITERS], sum = 0, want = 0;
	pthread_t th[WRITERS];
	int i, lines = 0;

	make_tmpdir();
	snprintf(path, sizeof(path), "%s/audit.jsonl", tmpdir);
	ck_assert_int_eq(audit_open(path), 0);
	writers_start(th, first);
	for (i = 0; i < 3; i++) {
		snprintf(old, sizeof(old), "%s.%d", path, i);
		ck_assert_int_eq(rename(path, old), 0);
		ck_assert_int_eq(audit_reopen(), 0);
	}
	writers_join(th);
	audit_close();

	lines += check_lines(path, &sum);
	for (i = 0; i < 3; i++) {
		snprintf(old, sizeof(old), "%s.%d", path, i);
		lines += check_lines(old, &sum);
	}
	ck_assert_int_eq(lines, WRITERS * PER_WRITER);
	for (i = 0; i < WRITERS; i++)
		want += first[i] * PER_WRITER + PER_WRITER * (PER_WRITER - 1) / 2;
	ck_assert_uint_eq(sum, want);
	rm_tmpdir(tmpdir);
}
END_TEST


/* ---- a full disk: one record, one write ---- */

/* Lets the file grow to limit bytes; later writes are cut short (EFBIG). */
static void
set_fsize(rlim_t limit)
{
	struct rlimit rl;

	ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &rl), 0);
	rl.rlim_cur = limit;
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
}

/* Opens a new audit file; a file size limit will fail writes, not kill us. */
static void
full_disk_open(char *path, size_t cap)
{
	signal(SIGXFSZ, SIG_IGN);
	make_tmpdir();
	snprintf(path, cap, "%s/audit.jsonl", tmpdir);
	ck_assert_int_eq(audit_open(path), 0);
}

static off_t
file_size(const char *path)
{
	struct stat st;

	ck_assert_int_eq(stat(path, &st), 0);
	return st.st_size;
}

/*
 * A record the file system takes only in part is taken back: the file
 * keeps whole lines only, and the next record is a line of its own.  (It
 * was continued with a second write, then a separate "\n".)
 */
START_TEST(test_short_write_taken_back)
{
	char path[PATH_MAX];
	off_t before;

	full_disk_open(path, sizeof(path));
	write_recs(1, 2);
	before = file_size(path);
	/* room for 100 bytes of a ~600-byte record: the write is cut short */
	set_fsize((rlim_t)before + 100);
	write_recs(3, 1);
	ck_assert_int_eq(file_size(path), before);
	write_recs(4, 1);	/* fails outright (EFBIG) */
	set_fsize(RLIM_INFINITY);
	write_recs(5, 1);
	audit_close();
	ck_assert_int_eq(check_lines(path, NULL), 3);
	rm_tmpdir(tmpdir);
}
END_TEST

/*
 * Writers on several threads run into the limit together: every line in
 * the file is a whole record, and no record is in it twice or in pieces.
 */
START_TEST(test_full_disk_threads)
{
	unsigned long long first[WRITERS];
	char path[PATH_MAX];
	pthread_t th[WRITERS];
	int lines;

	full_disk_open(path, sizeof(path));
	set_fsize(64 * 1024 + 37);	/* cuts some record wherever it falls */
	writers_start(th, first);
	writers_join(th);
	set_fsize(RLIM_INFINITY);
	write_recs(999999, 1);
	audit_close();
	lines = check_lines(path, NULL);
	ck_assert_int_gt(lines, 1);
	ck_assert_int_lt(lines, WRITERS * PER_WRITER);
	rm_tmpdir(tmpdir);
}
END_TEST

/*
 * A file that ends inside a line (a crash, kill -9 between the pages of a
 * write) gets the next record on a line of its own, in the same write.
 */
START_TEST(test_cut_tail_gets_newline)
{
	static const char cut[] = "{\"ts\":\"2026-11-26T14:03:07.412Z\",\"wor";
	char path[PATH_MAX], buf[8192], old[PATH_MAX + 8];
	struct jobj o;
	size_t n;
	FILE *fp;

	make_tmpdir();
	snprintf(path, sizeof(path), "%s/audit.jsonl", tmpdir);
	ck_assert_ptr_nonnull(fp = fopen(path, "w"));
	fputs(cut, fp);
	fclose(fp);
	ck_assert_int_eq(audit_open(path), 0);
	write_recs(7, 1);
	write_recs(8, 1);
	/* the same on SIGUSR1 to a cut file */
	snprintf(old, sizeof(old), "%s.1", path);
	ck_assert_int_eq(rename(path, old), 0);
	ck_assert_ptr_nonnull(fp = fopen(path, "w"));
	fputs(cut, fp);
	fclose(fp);
	ck_assert_int_eq(audit_reopen(), 0);
	write_recs(9, 1);
	audit_close();

	n = slurp(old, buf, sizeof(buf));
	ck_assert_uint_gt(n, sizeof(cut));
	ck_assert_int_eq(memcmp(buf, cut, sizeof(cut) - 1), 0);
	ck_assert_int_eq(buf[sizeof(cut) - 1], '\n');
	ck_assert(jparse(buf + sizeof(cut), strcspn(buf + sizeof(cut), "\n") + 1, &o));
	ck_assert_int_eq(jnum(&o, "conn"), 7);
	ck_assert_int_eq(check_lines_from(buf + sizeof(cut)), 2);
	n = slurp(path, buf, sizeof(buf));
	ck_assert_int_eq(buf[sizeof(cut) - 1], '\n');
	ck_assert_int_eq(check_lines_from(buf + sizeof(cut)), 1);
	rm_tmpdir(tmpdir);
}
END_TEST

static Suite *
audit_suite(void)
{
	Suite *s = suite_create("audit");
	TCase *tc;

	tc = tcase_create("format");
	tcase_add_test(tc, test_full_record);
	tcase_add_test(tc, test_timestamp_every_second);
	tcase_add_test(tc, test_failed_record);
	tcase_add_test(tc, test_alert_and_offered);
	tcase_add_test(tc, test_set_upstream);
	tcase_add_test(tc, test_escaping);
	tcase_add_test(tc, test_format_small_buffer);
	suite_add_tcase(s, tc);

	tc = tcase_create("file");
	tcase_add_test(tc, test_open_write_reopen);
	tcase_add_test(tc, test_switch_targets);
	tcase_add_test(tc, test_reopen_failure_keeps_old);
	tcase_add_test(tc, test_stderr_and_off);
	tcase_add_test(tc, test_overflow_fallbacks);
	tcase_add_test(tc, test_concurrent_reopen);
	suite_add_tcase(s, tc);

	tc = tcase_create("full_disk");
	tcase_add_test(tc, test_short_write_taken_back);
	tcase_add_test(tc, test_full_disk_threads);
	tcase_add_test(tc, test_cut_tail_gets_newline);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(audit_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
