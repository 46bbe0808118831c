/*
 * Terminology checks: ICD-10-CM structure, SNOMED CT identifiers, LOINC check
 * digits, CVX membership. See include/phr/terminology.h.
 */
#include <phr/terminology.h>

#include <stdarg.h>

#include "fhir_int.h"

PHR_PRINTF(3, 4)
static int fail(char *reason, size_t cap, const char *fmt, ...)
{
	if (reason && cap) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(reason, cap, fmt, ap);
		va_end(ap);
	}
	return PHR_ERR_INVALID;
}

static int ok(char *reason, size_t cap)
{
	if (reason && cap)
		reason[0] = '\0';
	return PHR_OK;
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }

static bool all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_digit(s[i]))
			return false;
	return true;
}

enum phr_fhir_term_system phr_fhir_term_system_of(const char *system)
{
	static const struct {
		const char *uri;
		enum phr_fhir_term_system sys;
	} map[] = {
		{ PHR_FHIR_SYSTEM_ICD10CM, PHR_FHIR_TERM_ICD10CM },
		{ PHR_FHIR_SYSTEM_SNOMED, PHR_FHIR_TERM_SNOMED },
		{ PHR_FHIR_SYSTEM_LOINC, PHR_FHIR_TERM_LOINC },
		{ PHR_FHIR_SYSTEM_CVX, PHR_FHIR_TERM_CVX },
	};
	if (!system)
		return PHR_FHIR_TERM_OTHER;
	for (size_t i = 0; i < PHR_ARRAY_LEN(map); i++)
		if (strcmp(system, map[i].uri) == 0)
			return map[i].sys;
	return PHR_FHIR_TERM_OTHER;
}

/* ---- ICD-10-CM ---------------------------------------------------------- */

int phr_fhir_icd10cm_check(char *reason, size_t cap, const char *code, size_t n)
{
	if (n < 3)
		return fail(reason, cap, "ICD-10-CM code has %zu characters, at least 3 needed", n);
	if (!is_upper(code[0]))
		return fail(reason, cap, "ICD-10-CM code must start with an upper-case letter");
	if (!is_digit(code[1]))
		return fail(reason, cap, "ICD-10-CM code needs a digit as its second character");
	if (!is_digit(code[2]) && !is_upper(code[2]))
		return fail(reason, cap, "ICD-10-CM code needs a digit or upper-case letter as its third character");
	if (n == 3)
		return ok(reason, cap);
	if (code[3] != '.')
		return fail(reason, cap, "ICD-10-CM characters after the category follow a dot");
	size_t rest = n - 4;
	if (rest < 1 || rest > 4)
		return fail(reason, cap, "ICD-10-CM code has %zu characters after the dot, 1 to 4 allowed", rest);
	for (size_t i = 4; i < n; i++)
		if (!is_digit(code[i]) && !is_upper(code[i]))
			return fail(reason, cap, "ICD-10-CM character %zu is not a digit or upper-case letter", i + 1);
	return ok(reason, cap);
}

/* ---- SNOMED CT ---------------------------------------------------------- */

/* Verhoeff's dihedral-group tables (multiplication, permutation, inverse). */
static const uint8_t verhoeff_d[10][10] = {
	{ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 }, { 1, 2, 3, 4, 0, 6, 7, 8, 9, 5 },
	{ 2, 3, 4, 0, 1, 7, 8, 9, 5, 6 }, { 3, 4, 0, 1, 2, 8, 9, 5, 6, 7 },
	{ 4, 0, 1, 2, 3, 9, 5, 6, 7, 8 }, { 5, 9, 8, 7, 6, 0, 4, 3, 2, 1 },
	{ 6, 5, 9, 8, 7, 1, 0, 4, 3, 2 }, { 7, 6, 5, 9, 8, 2, 1, 0, 4, 3 },
	{ 8, 7, 6, 5, 9, 3, 2, 1, 0, 4 }, { 9, 8, 7, 6, 5, 4, 3, 2, 1, 0 },
};
static const uint8_t verhoeff_p[8][10] = {
	{ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 }, { 1, 5, 7, 6, 2, 8, 3, 0, 9, 4 },
	{ 5, 8, 0, 3, 7, 9, 6, 1, 4, 2 }, { 8, 9, 1, 6, 0, 4, 3, 5, 2, 7 },
	{ 9, 4, 5, 3, 1, 2, 6, 8, 7, 0 }, { 4, 2, 8, 6, 5, 7, 3, 9, 0, 1 },
	{ 2, 7, 9, 3, 8, 0, 6, 4, 1, 5 }, { 7, 0, 4, 6, 9, 1, 3, 2, 5, 8 },
};
static const uint8_t verhoeff_inv[10] = { 0, 4, 3, 2, 1, 5, 6, 7, 8, 9 };

int phr_fhir_verhoeff_digit(const char *digits, size_t len)
{
	unsigned c = 0;
	if (!all_digits(digits, len))
		return -1;
	/* the check digit will take position 0; the payload starts at position 1 */
	for (size_t i = 0; i < len; i++) {
		unsigned d = (unsigned)(digits[len - 1 - i] - '0');
		c = verhoeff_d[c][verhoeff_p[(i + 1) % 8][d]];
	}
	return verhoeff_inv[c];
}

int phr_fhir_snomed_parse(struct phr_fhir_snomed_id *out, char *reason, size_t cap, const char *code,
			  size_t n)
{
	if (n < 6 || n > 18)
		return fail(reason, cap, "SNOMED CT identifier has %zu characters, 6 to 18 digits allowed", n);
	if (!all_digits(code, n))
		return fail(reason, cap, "SNOMED CT identifier must be decimal digits only");
	if (code[0] == '0')
		return fail(reason, cap, "SNOMED CT identifier must not start with 0");
	int want = phr_fhir_verhoeff_digit(code, n - 1);
	if (want != code[n - 1] - '0')
		return fail(reason, cap, "SNOMED CT identifier fails its Verhoeff check digit (expected %d)", want);
	char fmt = code[n - 3], kind = code[n - 2];
	if ((fmt != '0' && fmt != '1') || kind < '0' || kind > '2')
		return fail(reason, cap, "SNOMED CT partition identifier %c%c is not 00-02 or 10-12", fmt, kind);
	struct phr_fhir_snomed_id id = { .kind = (enum phr_fhir_snomed_kind)(kind - '0'),
					 .long_format = fmt == '1' };
	size_t item_len = n - 3;
	if (id.long_format) {
		if (n < 11)
			return fail(reason, cap, "long-format SNOMED CT identifier too short for a namespace");
		item_len = n - 10;
		for (size_t i = item_len; i < item_len + 7; i++)
			id.namespace_id = id.namespace_id * 10 + (uint32_t)(code[i] - '0');
	}
	for (size_t i = 0; i < item_len; i++)
		id.item = id.item * 10 + (uint64_t)(code[i] - '0');
	if (out)
		*out = id;
	return ok(reason, cap);
}

static int concept_check(char *reason, size_t cap, const char *code, size_t n)
{
	struct phr_fhir_snomed_id id;
	int rc = phr_fhir_snomed_parse(&id, reason, cap, code, n);
	if (rc != PHR_OK)
		return rc;
	if (id.kind != PHR_FHIR_SNOMED_CONCEPT)
		return fail(reason, cap, "SNOMED CT identifier is a %s identifier, not a concept",
			    id.kind == PHR_FHIR_SNOMED_DESCRIPTION ? "description" : "relationship");
	return ok(reason, cap);
}

/*
 * SNOMED CT Compositional Grammar (v2.3): a post-coordinated expression such
 * as "71341001:272741003=7771000" is a valid code of http://snomed.info/sct
 * (FHIR R4, "Using SNOMED CT with HL7 FHIR"). Every concept identifier in it
 * is checked like a plain code; terms between pipes, string, numeric and
 * boolean values are taken as written. Recursive descent, nesting bounded.
 */
#define SCG_DEPTH_MAX 16

struct scg {
	const char *s;
	size_t n, i;
	char *reason;
	size_t cap;
};

static bool scg_is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

static void scg_ws(struct scg *g)
{
	while (g->i < g->n && scg_is_ws(g->s[g->i]))
		g->i++;
}

static bool scg_eat(struct scg *g, char c)
{
	scg_ws(g);
	if (g->i < g->n && g->s[g->i] == c) {
		g->i++;
		return true;
	}
	return false;
}

static int scg_err(struct scg *g, const char *what)
{
	return fail(g->reason, g->cap, "SNOMED CT expression: %s at character %zu", what, g->i + 1);
}

/* conceptReference = conceptId [ws "|" term "|"] */
static int scg_concept(struct scg *g)
{
	scg_ws(g);
	size_t start = g->i;
	while (g->i < g->n && is_digit(g->s[g->i]))
		g->i++;
	if (g->i == start)
		return scg_err(g, "concept identifier expected");
	int rc = concept_check(g->reason, g->cap, g->s + start, g->i - start);
	if (rc != PHR_OK)
		return rc;
	if (scg_eat(g, '|')) {
		const char *end = memchr(g->s + g->i, '|', g->n - g->i);
		if (!end || end == g->s + g->i)
			return scg_err(g, "term not closed by '|'");
		g->i = (size_t)(end - g->s) + 1;
	}
	return PHR_OK;
}

static int scg_subexpression(struct scg *g, int depth);

/* attributeValue = conceptReference / "(" subExpression ")" / "#" number / string / boolean */
static int scg_value(struct scg *g, int depth)
{
	scg_ws(g);
	if (g->i >= g->n)
		return scg_err(g, "attribute value expected");
	char c = g->s[g->i];
	if (c == '(') {
		g->i++;
		int rc = scg_subexpression(g, depth + 1);
		if (rc != PHR_OK)
			return rc;
		return scg_eat(g, ')') ? PHR_OK : scg_err(g, "')' expected");
	}
	if (c == '#') {
		size_t start = ++g->i;
		if (g->i < g->n && (g->s[g->i] == '-' || g->s[g->i] == '+'))
			g->i++;
		size_t digits = 0, dots = 0;
		for (; g->i < g->n && (is_digit(g->s[g->i]) || g->s[g->i] == '.'); g->i++) {
			digits += is_digit(g->s[g->i]);
			dots += g->s[g->i] == '.';
		}
		return digits && dots <= 1 && g->i > start ? PHR_OK : scg_err(g, "number expected");
	}
	if (c == '"') {
		for (g->i++; g->i < g->n; g->i++) {
			if (g->s[g->i] == '\\' && g->i + 1 < g->n)
				g->i++;
			else if (g->s[g->i] == '"') {
				g->i++;
				return PHR_OK;
			}
		}
		return scg_err(g, "string not closed");
	}
	if (g->n - g->i >= 4 && memcmp(g->s + g->i, "true", 4) == 0) {
		g->i += 4;
		return PHR_OK;
	}
	if (g->n - g->i >= 5 && memcmp(g->s + g->i, "false", 5) == 0) {
		g->i += 5;
		return PHR_OK;
	}
	return scg_concept(g);
}

/* attributeSet = attribute *("," attribute); attribute = conceptReference "=" value */
static int scg_attribute_set(struct scg *g, int depth)
{
	do {
		int rc = scg_concept(g);
		if (rc != PHR_OK)
			return rc;
		if (!scg_eat(g, '='))
			return scg_err(g, "'=' expected");
		if ((rc = scg_value(g, depth)) != PHR_OK)
			return rc;
		scg_ws(g);
		/* a comma before a group belongs to the refinement, not to this set */
		if (g->i < g->n && g->s[g->i] == ',') {
			size_t save = g->i++;
			scg_ws(g);
			if (g->i < g->n && g->s[g->i] == '{') {
				g->i = save;
				return PHR_OK;
			}
			g->i = save;
		}
	} while (scg_eat(g, ','));
	return PHR_OK;
}

/* refinement = (attributeSet / attributeGroup) *([","] attributeGroup) */
static int scg_refinement(struct scg *g, int depth)
{
	int rc;
	scg_ws(g);
	if (g->i < g->n && g->s[g->i] != '{' && (rc = scg_attribute_set(g, depth)) != PHR_OK)
		return rc;
	for (;;) {
		size_t save = g->i;
		(void)scg_eat(g, ',');
		if (!scg_eat(g, '{')) {
			g->i = save;
			return PHR_OK;
		}
		if ((rc = scg_attribute_set(g, depth)) != PHR_OK)
			return rc;
		if (!scg_eat(g, '}'))
			return scg_err(g, "'}' expected");
	}
}

/* subExpression = focusConcept *("+" focusConcept) [":" refinement] */
static int scg_subexpression(struct scg *g, int depth)
{
	if (depth > SCG_DEPTH_MAX)
		return scg_err(g, "nested too deeply");
	int rc;
	do {
		if ((rc = scg_concept(g)) != PHR_OK)
			return rc;
	} while (scg_eat(g, '+'));
	if (scg_eat(g, ':'))
		return scg_refinement(g, depth);
	return PHR_OK;
}

bool phr_fhir_snomed_rt_id(const char *code, size_t n)
{
	size_t i = 1;

	if (code == NULL || n < 6 || !is_upper(code[0]))
		return false;
	if (code[1] != '-') {
		if (!is_upper(code[1]) && !is_digit(code[1]))
			return false;
		i = 2;
	}
	if (code[i] != '-' || n - i - 1 < 4 || n - i - 1 > 5)
		return false;
	for (i++; i < n; i++)
		if (!is_upper(code[i]) && !is_digit(code[i]))
			return false;
	return true;
}

static int snomed_check(char *reason, size_t cap, const char *code, size_t n)
{
	if (all_digits(code, n))
		return concept_check(reason, cap, code, n);
	struct scg g = { code, n, 0, reason, cap };
	if (scg_is_ws(code[0]) || scg_is_ws(code[n - 1]))
		return fail(reason, cap, "SNOMED CT code has leading or trailing white space");
	/* definitionStatus: "===" (equivalent to) or "<<<" (subtype of) */
	if (g.n - g.i >= 3 && (memcmp(code + g.i, "===", 3) == 0 || memcmp(code + g.i, "<<<", 3) == 0))
		g.i += 3;
	int rc = scg_subexpression(&g, 0);
	if (rc != PHR_OK)
		return rc;
	scg_ws(&g);
	if (g.i != g.n)
		return scg_err(&g, "unexpected character");
	return ok(reason, cap);
}

/* ---- LOINC -------------------------------------------------------------- */

/* Official LOINC codes published with a check digit that the algorithm does
 * not give; they stay valid codes. */
static const char *const loinc_exceptions[] = {
	"11491-6", "11501-6", "5895-7", "5896-5", "5897-3", "5928-1", "6028-3",
	"6415-5",  "6580-7",  "6645-7", "6646-5", "6647-3", "6648-1", "6649-9",
};

int phr_fhir_loinc_digit(const char *digits, size_t len)
{
	unsigned sum = 0;
	if (!all_digits(digits, len))
		return -1;
	/* LOINC's mod 10: double the digits in odd positions counted from the
	 * right, add the digits of the products and the even-position digits. */
	for (size_t i = 0; i < len; i++) {
		unsigned d = (unsigned)(digits[len - 1 - i] - '0');
		if (i % 2 == 0) {
			d *= 2;
			d = d / 10 + d % 10;
		}
		sum += d;
	}
	return (int)((10 - sum % 10) % 10);
}

int phr_fhir_loinc_check(char *reason, size_t cap, const char *code, size_t n)
{
	size_t start = 0;
	if (n >= 2 && code[0] == 'L' &&
	    (code[1] == 'A' || code[1] == 'P' || code[1] == 'L' || code[1] == 'G'))
		start = 2;
	if (n < start + 3 || code[n - 2] != '-')
		return fail(reason, cap, "LOINC code must be digits, a hyphen and a check digit");
	size_t len = n - 2 - start;
	if (len > 7)
		return fail(reason, cap, "LOINC code has %zu digits before the hyphen, at most 7 allowed", len);
	if (!all_digits(code + start, len) || !is_digit(code[n - 1]))
		return fail(reason, cap, "LOINC code must be digits, a hyphen and a check digit");
	if (code[start] == '0')
		return fail(reason, cap, "LOINC code must not start with 0");
	/* Part, answer and list codes (LP, LA, LL, LG) carry check digits that
	 * LOINC does not derive with the published term algorithm: their
	 * structure is all we check. */
	if (start)
		return ok(reason, cap);
	int want = phr_fhir_loinc_digit(code + start, len);
	if (want == code[n - 1] - '0')
		return ok(reason, cap);
	for (size_t i = 0; i < PHR_ARRAY_LEN(loinc_exceptions); i++)
		if (strlen(loinc_exceptions[i]) == n && memcmp(loinc_exceptions[i], code, n) == 0)
			return ok(reason, cap);
	return fail(reason, cap, "LOINC code fails its mod-10 check digit (expected %d)", want);
}

/* ---- CVX ---------------------------------------------------------------- */

static int cvx_cmp(const char *a, size_t an, const char *b)
{
	size_t bn = strlen(b);
	int c = memcmp(a, b, an < bn ? an : bn);
	if (c)
		return c;
	return an < bn ? -1 : an > bn ? 1 : 0;
}

int phr_fhir_cvx_lookup(const char **display, const char *code, size_t n)
{
	size_t lo = 0, hi = phr_fhir_cvx_table_len;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cvx_cmp(code, n, phr_fhir_cvx_table[mid].code);
		if (c == 0) {
			if (display)
				*display = phr_fhir_cvx_table[mid].display;
			return PHR_OK;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return PHR_ERR_NOT_FOUND;
}

size_t phr_fhir_cvx_count(void) { return phr_fhir_cvx_table_len; }

/* ---- entry point -------------------------------------------------------- */

int phr_fhir_term_check(char *reason, size_t cap, const char *system, const char *code, size_t n)
{
	if (!code || n == 0)
		return fail(reason, cap, "code is empty");
	if (memchr(code, '\0', n))
		return fail(reason, cap, "code contains a NUL byte");
	switch (phr_fhir_term_system_of(system)) {
	case PHR_FHIR_TERM_ICD10CM:
		return phr_fhir_icd10cm_check(reason, cap, code, n);
	case PHR_FHIR_TERM_SNOMED:
		return snomed_check(reason, cap, code, n);
	case PHR_FHIR_TERM_LOINC:
		return phr_fhir_loinc_check(reason, cap, code, n);
	case PHR_FHIR_TERM_CVX:
		if (phr_fhir_cvx_lookup(NULL, code, n) != PHR_OK)
			return fail(reason, cap, "code is not in the CVX value set");
		return ok(reason, cap);
	case PHR_FHIR_TERM_OTHER:
		break;
	}
	return ok(reason, cap);
}
