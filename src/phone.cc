/*
 * The phone-number shim, the only C++ in the tree: phone.h's C API over
 * libphonenumber's PhoneNumberUtil.  Every entry point catches every
 * exception, so nothing C++ crosses into C, and nothing here logs a number.
 */
#include "phone.h"

#include <cstdio>
#include <cstring>
#include <new>
#include <string>

#include <phonenumbers/logger.h>
#include <phonenumbers/phonenumberutil.h>

extern "C" {
#include "err.h"
}

using i18n::phonenumbers::NullLogger;
using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

/* E.164 allows 15 digits; an IDD prefix ("00") in front adds two. */
#define PHONE_INPUT_DIGITS_MAX 17
#define PHONE_E164_DIGITS_MAX 15

/* libphonenumber's region for "no region": only '+' numbers parse. */
static const char phone_no_region[] = "ZZ";

/*
 * libphonenumber's types, ours, their names, and why we refuse to verify
 * the ones we refuse (NULL: we verify them).  Inbound service lines and
 * numbers that cost their caller receive no SMS, and a call to one reaches
 * an IVR or a business, never the person who asked for a code.
 */
static const struct {
	PhoneNumberUtil::PhoneNumberType lib;
	enum phone_type type;
	const char *name;
	const char *refusal;
} phone_types[] = {
	{PhoneNumberUtil::UNKNOWN, PHONE_UNKNOWN, "unknown", nullptr},
	{PhoneNumberUtil::MOBILE, PHONE_MOBILE, "mobile", nullptr},
	{PhoneNumberUtil::FIXED_LINE, PHONE_FIXED_LINE, "fixed_line", nullptr},
	{PhoneNumberUtil::FIXED_LINE_OR_MOBILE, PHONE_FIXED_LINE_OR_MOBILE,
	 "fixed_line_or_mobile", nullptr},
	{PhoneNumberUtil::VOIP, PHONE_VOIP, "voip", nullptr},
	{PhoneNumberUtil::TOLL_FREE, PHONE_TOLL_FREE, "toll_free",
	 "toll-free numbers cannot receive verification codes"},
	{PhoneNumberUtil::PREMIUM_RATE, PHONE_PREMIUM_RATE, "premium_rate",
	 "premium-rate numbers cannot receive verification codes"},
	{PhoneNumberUtil::SHARED_COST, PHONE_SHARED_COST, "shared_cost",
	 "shared-cost numbers cannot receive verification codes"},
	{PhoneNumberUtil::PERSONAL_NUMBER, PHONE_PERSONAL, "personal_number",
	 "personal (forwarding) numbers cannot receive verification codes"},
	{PhoneNumberUtil::PAGER, PHONE_PAGER, "pager",
	 "pager numbers cannot receive verification codes"},
	{PhoneNumberUtil::UAN, PHONE_UAN, "uan",
	 "UAN (universal access) numbers cannot receive verification codes"},
	{PhoneNumberUtil::VOICEMAIL, PHONE_VOICEMAIL, "voicemail",
	 "voicemail access numbers cannot receive verification codes"},
	/* Only for its name: a type this table does not know yet. */
	{PhoneNumberUtil::UNKNOWN, PHONE_OTHER, "other", nullptr},
};

#define PHONE_TYPES_LEN (sizeof(phone_types) / sizeof(phone_types[0]))

/* A type libphonenumber may add after this table is "other". */
static enum phone_type phone_type_from_lib(PhoneNumberUtil::PhoneNumberType t)
{
	for (size_t i = 0; i < PHONE_TYPES_LEN; i++) {
		if (phone_types[i].lib == t)
			return phone_types[i].type;
	}
	return PHONE_OTHER;
}

/*
 * Copies the digits of `input` (and a leading '+') into text, dropping the
 * separators people type.  Letters are refused although libphonenumber
 * would read them as a vanity number ("1-800-FLOWERS"), and so is anything
 * else it tolerates ("tel:", extensions), so that only plain numbers pass.
 */
static int phone_clean_input(const char *input, char *text, size_t textlen,
			     size_t *ndigits, bool *plus)
{
	size_t len = strnlen(input, PHONE_INPUT_MAX + 1);
	size_t n = 0, nd = 0;

	*plus = false;
	if (len == 0 || len > PHONE_INPUT_MAX)
		return KV_EINVAL;
	for (size_t i = 0; i < len; i++) {
		char c = input[i];

		if (c >= '0' && c <= '9') {
			if (++nd > PHONE_INPUT_DIGITS_MAX)
				return KV_EINVAL;
		} else if (c == '+' && !*plus && nd == 0) {
			*plus = true;
		} else if (c == ' ' || c == '-' || c == '.' || c == '(' ||
			   c == ')') {
			continue;
		} else {
			return KV_EINVAL;
		}
		if (n + 1 >= textlen)
			return KV_EINVAL;
		text[n++] = c;
	}
	text[n] = '\0';
	*ndigits = nd;
	return nd == 0 ? KV_EINVAL : 0;
}

/* Upper-cases a 2-letter region into *region; KV_EINVAL if unknown. */
static int phone_region_normalise(const PhoneNumberUtil *u, const char *in,
				  std::string *region)
{
	char rc[3];

	if (strnlen(in, 3) != 2)
		return KV_EINVAL;
	for (size_t i = 0; i < 2; i++) {
		char c = in[i];

		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (c < 'A' || c > 'Z')
			return KV_EINVAL;
		rc[i] = c;
	}
	rc[2] = '\0';
	region->assign(rc);
	/* "ZZ" and unassigned codes have no country calling code. */
	if (u->GetCountryCodeForRegion(*region) == 0)
		return KV_EINVAL;
	return 0;
}

/*
 * The usual input, "+91" and ten digits that do not start with 0, read
 * without Parse(): the country code and the ten digits as they are.  That
 * is Parse()'s reading too (India's national prefix, 0, cannot start them,
 * so nothing is stripped, and ten digits are a possible length), which it
 * reaches through a dozen regular expressions: 12 of the 21 us a request's
 * number cost on the test machine.  Validity is still GetNumberType()'s.
 * tests/unit/test_phone.c compares both readings of such numbers.
 */
static bool phone_read_indian(const std::string &text, PhoneNumber *n)
{
	uint64_t national = 0;

	if (text.size() != 13 || text.compare(0, 3, "+91") != 0 ||
	    text[3] == '0')
		return false;
	for (size_t i = 3; i < text.size(); i++) {
		if (text[i] < '0' || text[i] > '9')
			return false;
		national = national * 10 + (uint64_t)(text[i] - '0');
	}
	n->set_country_code(91);
	n->set_national_number(national);
	return true;
}

/*
 * True, with *n and *type filled, when text parses in region to a valid
 * number.  IsValidNumber() is GetNumberType() != UNKNOWN under the hood;
 * asking for the type once instead of both halves the regex work, which
 * dominates the cost of a parse.
 */
static bool phone_try(const PhoneNumberUtil *u, const std::string &text,
		      const std::string &region, PhoneNumber *n,
		      PhoneNumberUtil::PhoneNumberType *type)
{
	n->Clear();
	if (!(region == phone_no_region && phone_read_indian(text, n)) &&
	    u->Parse(text, region, n) != PhoneNumberUtil::NO_PARSING_ERROR)
		return false;
	*type = u->GetNumberType(*n);
	return *type != PhoneNumberUtil::UNKNOWN;
}

/*
 * A number without '+' or `country`: national-looking numbers in the
 * default region first (a 10-digit Indian mobile such as 6042006276 would
 * otherwise be read as +60 Malaysia), then the digits as E.164 without the
 * '+' (Vonage's clients), then anything else in the default region.
 */
static bool phone_try_default(const PhoneNumberUtil *u, const char *text,
			      size_t ndigits, const std::string &region,
			      PhoneNumber *n,
			      PhoneNumberUtil::PhoneNumberType *type)
{
	bool national = ndigits == 10 || (ndigits == 11 && text[0] == '0');
	bool have_region = !region.empty();

	if (have_region && national && phone_try(u, text, region, n, type))
		return true;
	if (phone_try(u, std::string("+") + text, phone_no_region, n, type))
		return true;
	return have_region && !national && phone_try(u, text, region, n, type);
}

static int phone_fill(const PhoneNumberUtil *u, const PhoneNumber &n,
		      PhoneNumberUtil::PhoneNumberType type, struct phone *out)
{
	std::string e164, nsn, region;

	u->Format(n, PhoneNumberUtil::E164, &e164);
	u->GetNationalSignificantNumber(n, &nsn);
	u->GetRegionCodeForNumber(n, &region);
	/* A valid number always fits; refuse rather than cut if not. */
	if (e164.size() < 2 || e164[0] != '+' ||
	    e164.size() >= sizeof(out->e164) ||
	    nsn.size() >= sizeof(out->national))
		return KV_EINVAL;
	memcpy(out->e164, e164.data(), e164.size());
	out->e164[e164.size()] = '\0';
	memcpy(out->digits, e164.data() + 1, e164.size() - 1);
	out->digits[e164.size() - 1] = '\0';
	memcpy(out->national, nsn.data(), nsn.size());
	out->national[nsn.size()] = '\0';
	/* Non-geographic numbers (+800, +882...) have region "001". */
	if (region.size() == 2 && region != phone_no_region)
		memcpy(out->region, region.data(), 3);
	out->country_code = n.country_code();
	out->type = phone_type_from_lib(type);
	return 0;
}

static int phone_parse_cxx(const char *input, const char *country,
			   const char *default_country, struct phone *out)
{
	const PhoneNumberUtil *u = PhoneNumberUtil::GetInstance();
	const char *region_in = country ? country : default_country;
	char text[PHONE_INPUT_MAX + 1];
	std::string region;
	PhoneNumber n;
	PhoneNumberUtil::PhoneNumberType type = PhoneNumberUtil::UNKNOWN;
	size_t ndigits;
	bool plus, ok;
	int err;

	err = phone_clean_input(input, text, sizeof(text), &ndigits, &plus);
	if (err)
		return err;
	if (region_in) {
		err = phone_region_normalise(u, region_in, &region);
		if (err)
			return err;
	}
	if (plus)
		ok = phone_try(u, text, phone_no_region, &n, &type);
	else if (country)
		ok = phone_try(u, text, region, &n, &type);
	else
		ok = phone_try_default(u, text, ndigits, region, &n, &type);
	if (!ok)
		return KV_EINVAL;
	/*
	 * The store keeps the E.164 digits and reads them back through
	 * phone_parse_digits(), so they must parse to the same number.  A few
	 * countries' numbers do not (libphonenumber keeps Mexico's old mobile
	 * "1" in "52 1 415..." but drops it when the E.164 form is parsed
	 * again): take the E.164 form's reading, which is stable, and refuse a
	 * number that still moves.  Indian numbers round-trip (the fuzzer
	 * checks), so the hot path skips the second parse.
	 */
	if (n.country_code() != 91) {
		std::string e164, again;
		PhoneNumber m;

		u->Format(n, PhoneNumberUtil::E164, &e164);
		if (!phone_try(u, e164, phone_no_region, &m, &type))
			return KV_EINVAL;
		u->Format(m, PhoneNumberUtil::E164, &again);
		if (again != e164) {
			n = m;
			if (!phone_try(u, again, phone_no_region, &m, &type))
				return KV_EINVAL;
			u->Format(m, PhoneNumberUtil::E164, &e164);
			if (e164 != again)
				return KV_EINVAL;
		}
	}
	return phone_fill(u, n, type, out);
}

extern "C" void phone_init(void)
{
	try {
		/* Logged parse errors could quote the number: drop them all. */
		PhoneNumberUtil::GetInstance()->SetLogger(new NullLogger());
	} catch (...) {
		/* Only out of memory; phone_parse() will report it. */
	}
}

extern "C" int phone_parse(const char *input, const char *country,
			   const char *default_country, struct phone *out)
{
	int err;

	if (!out)
		return KV_EINVAL;
	memset(out, 0, sizeof(*out));
	if (!input)
		return KV_EINVAL;
	try {
		err = phone_parse_cxx(input, country, default_country, out);
	} catch (const std::bad_alloc &) {
		err = KV_ENOMEM;
	} catch (...) {
		err = KV_EINVAL;
	}
	if (err)
		memset(out, 0, sizeof(*out));
	return err;
}

extern "C" int phone_check_region(const char *region)
{
	std::string rc;

	if (!region)
		return KV_EINVAL;
	try {
		return phone_region_normalise(PhoneNumberUtil::GetInstance(),
					      region, &rc);
	} catch (const std::bad_alloc &) {
		return KV_ENOMEM;
	} catch (...) {
		return KV_EINVAL;
	}
}

extern "C" int phone_parse_digits(const char *digits, struct phone *out)
{
	char text[PHONE_E164_DIGITS_MAX + 2];
	size_t len;

	if (!out)
		return KV_EINVAL;
	memset(out, 0, sizeof(*out));
	if (!digits)
		return KV_EINVAL;
	len = strnlen(digits, PHONE_E164_DIGITS_MAX + 1);
	if (len == 0 || len > PHONE_E164_DIGITS_MAX ||
	    strspn(digits, "0123456789") != len)
		return KV_EINVAL;
	text[0] = '+';
	memcpy(text + 1, digits, len);
	text[len + 1] = '\0';
	return phone_parse(text, nullptr, nullptr, out);
}

extern "C" const char *phone_type_name(enum phone_type t)
{
	for (size_t i = 0; i < PHONE_TYPES_LEN; i++) {
		if (phone_types[i].type == t)
			return phone_types[i].name;
	}
	return "unknown";
}

extern "C" const char *phone_type_refusal(enum phone_type t)
{
	for (size_t i = 0; i < PHONE_TYPES_LEN; i++) {
		if (phone_types[i].type == t)
			return phone_types[i].refusal;
	}
	return nullptr;
}

/*
 * Length of the country calling code that starts digits[0..nd), or 0.
 * Calling codes are prefix-free, so the first known prefix is the one.
 */
static size_t phone_cc_len(const char *digits, size_t nd)
{
	const PhoneNumberUtil *u = PhoneNumberUtil::GetInstance();
	std::string region;
	int cc = 0;

	for (size_t k = 1; k <= 3 && k < nd; k++) {
		cc = cc * 10 + (digits[k - 1] - '0');
		u->GetRegionCodeForCountryCode(cc, &region);
		if (region != phone_no_region)
			return k;
	}
	return 0;
}

extern "C" void phone_redact(const char *e164, char *out, size_t outlen)
{
	char buf[PHONE_REDACT_LEN];
	size_t nd, keep = 0, tail = 2, n = 0;
	const char *digits;

	if (!out || outlen == 0)
		return;
	if (!e164)
		goto invalid;
	digits = e164[0] == '+' ? e164 + 1 : e164;
	nd = strnlen(digits, PHONE_E164_DIGITS_MAX + 1);
	if (nd == 0 || nd > PHONE_E164_DIGITS_MAX ||
	    strspn(digits, "0123456789") != nd)
		goto invalid;
	try {
		keep = phone_cc_len(digits, nd);
	} catch (...) {
		keep = 0; /* hide the country code too */
	}
	if (keep + tail >= nd)
		tail = 0;
	buf[n++] = '+';
	for (size_t i = 0; i < nd; i++)
		buf[n++] = (i < keep || i >= nd - tail) ? digits[i] : '*';
	buf[n] = '\0';
	snprintf(out, outlen, "%s", buf);
	return;
invalid:
	snprintf(out, outlen, "%s", "(invalid)");
}

extern "C" void phone_kookoo_form(const struct phone *p, char *out,
				  size_t outlen)
{
	if (!out || outlen == 0)
		return;
	if (!p)
		out[0] = '\0';
	else if (p->country_code == 91 && p->type == PHONE_MOBILE)
		snprintf(out, outlen, "%s", p->national);
	else if (p->country_code == 91)
		/*
		 * KooKoo dials like a phone in India: a fixed line needs its
		 * STD code behind the trunk prefix 0 ("01123456789"), and 0
		 * before a number that may be a mobile still reaches it, so
		 * every Indian number that is not surely a mobile gets it.
		 */
		snprintf(out, outlen, "0%s", p->national);
	else
		snprintf(out, outlen, "00%s", p->digits);
}
