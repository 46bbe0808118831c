/*
 * EIP-4361 (Sign-In with Ethereum) message parser and checks.
 */
#include <string.h>
#include <time.h>

#include "phr/crypto.h"
#include "phr/siwe.h"

static const char header_tail[] = " wants you to sign in with your Ethereum account:";

struct cursor {
	const char *p, *end;
};

/* Takes the next line (without its LF); the last line need not end in LF. */
static bool next_line(struct cursor *c, const char **line, size_t *n)
{
	const char *lf;

	if (c->p >= c->end)
		return false;
	lf = memchr(c->p, '\n', (size_t)(c->end - c->p));
	*line = c->p;
	if (lf == NULL) {
		*n = (size_t)(c->end - c->p);
		c->p = c->end;
	} else {
		*n = (size_t)(lf - c->p);
		c->p = lf + 1;
	}
	return true;
}

static bool copy_field(char *dst, size_t cap, const char *s, size_t n)
{
	if (n == 0 || n >= cap || memchr(s, '\0', n) != NULL || memchr(s, '\r', n) != NULL)
		return false;
	memcpy(dst, s, n);
	dst[n] = '\0';
	return true;
}

/* Line "<name>: <value>"; *val points into the line. */
static bool field(const char *line, size_t n, const char *name, const char **val, size_t *vn)
{
	size_t k = strlen(name);

	if (n < k + 2 || memcmp(line, name, k) != 0 || line[k] != ':' || line[k + 1] != ' ')
		return false;
	*val = line + k + 2;
	*vn = n - k - 2;
	return true;
}

static int digits(const char *s, size_t n, int *out)
{
	int v = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return PHR_ERR_PARSE;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return PHR_OK;
}

int phr_rfc3339_parse(int64_t *t, const char *s, size_t len)
{
	int Y, M, D, h, mi, sec, oh = 0, om = 0, sign = 0;
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	struct tm tm;
	size_t i = 19;
	time_t base;

	if (len < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
	    s[13] != ':' || s[16] != ':')
		return PHR_ERR_PARSE;
	if (digits(s, 4, &Y) || digits(s + 5, 2, &M) || digits(s + 8, 2, &D) ||
	    digits(s + 11, 2, &h) || digits(s + 14, 2, &mi) || digits(s + 17, 2, &sec))
		return PHR_ERR_PARSE;
	if (M < 1 || M > 12 || D < 1 || D > mdays[M - 1] || h > 23 || mi > 59 || sec > 60)
		return PHR_ERR_PARSE;
	if (s[i] == '.') {
		size_t f = ++i;
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == f || i - f > 9)
			return PHR_ERR_PARSE;
	}
	if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
		i++;
	} else if (i < len && (s[i] == '+' || s[i] == '-')) {
		sign = s[i] == '+' ? 1 : -1;
		if (len - i != 6 || s[i + 3] != ':' || digits(s + i + 1, 2, &oh) ||
		    digits(s + i + 4, 2, &om) || oh > 23 || om > 59)
			return PHR_ERR_PARSE;
		i += 6;
	} else {
		return PHR_ERR_PARSE;
	}
	if (i != len)
		return PHR_ERR_PARSE;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = Y - 1900;
	tm.tm_mon = M - 1;
	tm.tm_mday = D;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec == 60 ? 59 : sec;
	base = timegm(&tm);
	if (base == (time_t)-1 && !(Y == 1969 && M == 12 && D == 31))
		return PHR_ERR_PARSE;
	*t = (int64_t)base - sign * (int64_t)(oh * 3600 + om * 60);
	return PHR_OK;
}

static bool alnum(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

int phr_siwe_parse(struct phr_siwe *out, const char *msg, size_t len)
{
	struct phr_siwe m;
	struct cursor c = { msg, msg + len };
	const char *line, *v;
	size_t n, vn, hl = sizeof(header_tail) - 1;
	char addr[PHR_ETH_ADDRESS_STR_LEN], check[PHR_ETH_ADDRESS_STR_LEN];
	uint64_t cid = 0;

	if (len > PHR_SIWE_MAX_MESSAGE)
		return PHR_ERR_TOO_LARGE;
	if (msg == NULL || memchr(msg, '\0', len) != NULL)
		return PHR_ERR_PARSE;
	memset(&m, 0, sizeof(m));
	/* header: [scheme "://"] domain " wants you to sign in ..." */
	if (!next_line(&c, &line, &n) || n <= hl || memcmp(line + n - hl, header_tail, hl) != 0)
		return PHR_ERR_PARSE;
	n -= hl;
	{
		const char *sep = NULL;
		for (size_t i = 0; i + 2 < n; i++)
			if (line[i] == ':' && line[i + 1] == '/' && line[i + 2] == '/') {
				sep = line + i;
				break;
			}
		if (sep != NULL) {
			if (!copy_field(m.scheme, sizeof(m.scheme), line, (size_t)(sep - line)))
				return PHR_ERR_PARSE;
			n -= (size_t)(sep - line) + 3;
			line = sep + 3;
		}
		for (size_t i = 0; i < n; i++)
			if (!(alnum(line[i]) || strchr(".-:[]_~%!$&'()*+,;=@", line[i]) != NULL))
				return PHR_ERR_PARSE;
		if (!copy_field(m.domain, sizeof(m.domain), line, n))
			return PHR_ERR_PARSE;
	}
	/* address, EIP-55 checksummed */
	if (!next_line(&c, &line, &n) || n != 42 || !copy_field(addr, sizeof(addr), line, n) ||
	    phr_eth_address_parse(m.address, addr) != PHR_OK)
		return PHR_ERR_PARSE;
	phr_eth_address_checksum(check, m.address);
	if (strcmp(check, addr) != 0)
		return PHR_ERR_INVALID;
	/* empty line, optional statement + empty line */
	if (!next_line(&c, &line, &n) || n != 0 || !next_line(&c, &line, &n))
		return PHR_ERR_PARSE;
	if (n != 0) {
		if (!copy_field(m.statement, sizeof(m.statement), line, n) ||
		    memchr(line, '\n', n) != NULL || !next_line(&c, &line, &n) || n != 0)
			return PHR_ERR_PARSE;
	}
	if (!next_line(&c, &line, &n) || !field(line, n, "URI", &v, &vn) ||
	    !copy_field(m.uri, sizeof(m.uri), v, vn) || memchr(v, ' ', vn) != NULL ||
	    memchr(v, ':', vn) == NULL)
		return PHR_ERR_PARSE;
	if (!next_line(&c, &line, &n) || !field(line, n, "Version", &v, &vn))
		return PHR_ERR_PARSE;
	if (vn != 1 || v[0] != '1')
		return PHR_ERR_INVALID;
	if (!next_line(&c, &line, &n) || !field(line, n, "Chain ID", &v, &vn) || vn == 0 || vn > 19 ||
	    (v[0] == '0' && vn > 1))
		return PHR_ERR_PARSE;
	for (size_t i = 0; i < vn; i++) {
		if (v[i] < '0' || v[i] > '9')
			return PHR_ERR_PARSE;
		cid = cid * 10 + (uint64_t)(v[i] - '0');
	}
	m.chain_id = cid;
	if (!next_line(&c, &line, &n) || !field(line, n, "Nonce", &v, &vn) || vn < 8 ||
	    !copy_field(m.nonce, sizeof(m.nonce), v, vn))
		return PHR_ERR_PARSE;
	for (size_t i = 0; i < vn; i++)
		if (!alnum(v[i]))
			return PHR_ERR_PARSE;
	if (!next_line(&c, &line, &n) || !field(line, n, "Issued At", &v, &vn) ||
	    phr_rfc3339_parse(&m.issued_at, v, vn) != PHR_OK)
		return PHR_ERR_PARSE;
	/* optional fields, in order */
	bool more = next_line(&c, &line, &n);
	if (more && field(line, n, "Expiration Time", &v, &vn)) {
		if (phr_rfc3339_parse(&m.expiration, v, vn) != PHR_OK)
			return PHR_ERR_PARSE;
		m.has_expiration = true;
		more = next_line(&c, &line, &n);
	}
	if (more && field(line, n, "Not Before", &v, &vn)) {
		if (phr_rfc3339_parse(&m.not_before, v, vn) != PHR_OK)
			return PHR_ERR_PARSE;
		m.has_not_before = true;
		more = next_line(&c, &line, &n);
	}
	if (more && field(line, n, "Request ID", &v, &vn)) {
		if (vn > 0 && !copy_field(m.request_id, sizeof(m.request_id), v, vn))
			return PHR_ERR_PARSE;
		more = next_line(&c, &line, &n);
	}
	if (more && n == 10 && memcmp(line, "Resources:", 10) == 0) {
		while ((more = next_line(&c, &line, &n))) {
			if (n < 3 || line[0] != '-' || line[1] != ' ' ||
			    memchr(line + 2, ' ', n - 2) != NULL ||
			    memchr(line + 2, ':', n - 2) == NULL)
				return PHR_ERR_PARSE;
			if (++m.n_resources > PHR_SIWE_MAX_RESOURCES)
				return PHR_ERR_TOO_LARGE;
		}
	}
	/* nothing else may follow (a final LF was consumed with the last line) */
	if (more || c.p != c.end)
		return PHR_ERR_PARSE;
	*out = m;
	return PHR_OK;
}

int phr_siwe_check(const struct phr_siwe *m, const char *domain, uint64_t chain_id, int64_t now,
		   int64_t max_age)
{
	if (strcmp(m->domain, domain) != 0 || m->chain_id != chain_id)
		return PHR_ERR_UNAUTHENTICATED;
	if (m->issued_at > now + 60 || now - m->issued_at > max_age)
		return PHR_ERR_EXPIRED;
	if (m->has_expiration && now >= m->expiration)
		return PHR_ERR_EXPIRED;
	if (m->has_not_before && now < m->not_before)
		return PHR_ERR_EXPIRED;
	return PHR_OK;
}
