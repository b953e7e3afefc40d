package crm

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
)

// ErrInvalidPhone is wrapped by every error that Normalize returns, so callers can test
// for it with errors.Is. The error's own text is the reason alone ("too short").
var ErrInvalidPhone = errors.New("invalid phone number")

// PhoneError says why a phone number was rejected. Error returns Reason unchanged: a short
// English message meant to be shown to the person who typed or uploaded the number.
type PhoneError struct {
	Reason string
}

func (e *PhoneError) Error() string { return e.Reason }

// Unwrap returns ErrInvalidPhone.
func (e *PhoneError) Unwrap() error { return ErrInvalidPhone }

func phoneErr(format string, args ...any) error {
	return &PhoneError{Reason: fmt.Sprintf(format, args...)}
}

const (
	// DefaultPhoneRegion is the region assumed for numbers written without a country code
	// when PhoneNormalizer.DefaultRegion is empty.
	DefaultPhoneRegion = "CN"

	// maxPhoneInput bounds the raw text Normalize looks at (bytes); longer input is not a
	// phone number whatever it holds.
	maxPhoneInput = 256
)

// PhoneNormalizer turns phone numbers as people and spreadsheets write them into E.164.
// The zero value is ready to use and assumes China for numbers without a country code.
// It holds no state and is safe for concurrent use.
type PhoneNormalizer struct {
	// DefaultRegion is the ISO 3166-1 alpha-2 region ("CN", "US") of numbers written
	// without a country code. Empty means DefaultPhoneRegion ("CN").
	DefaultRegion string
}

func (n PhoneNormalizer) region() string {
	if n.DefaultRegion == "" {
		return DefaultPhoneRegion
	}
	return strings.ToUpper(strings.TrimSpace(n.DefaultRegion))
}

// Normalize returns raw as an E.164 number with its leading '+' ("+8613800138000"), or an
// error wrapping ErrInvalidPhone whose text says why ("too short", "contains letters",
// "not a valid phone number for region CN").
//
// It accepts the forms found in real contact lists: spaces, hyphens, dots and brackets
// anywhere; "+86", "0086", "(+86)" and a bare "86" before an 11-digit Chinese mobile;
// full-width digits, plus signs and spaces; no-break and zero-width characters; "tel:"
// URIs; Chinese and Western extensions ("转 123", "分机123", "ext. 123", "x123", "#123"),
// which are dropped; and the spreadsheet artefacts "13800138000.0" and "1.3800138E+10"
// when they still hold every digit. A number must be valid, not merely possible: a
// Chinese mobile number in an unallocated range is rejected.
func (n PhoneNormalizer) Normalize(raw string) (string, error) {
	region := n.region()
	if phonenumbers.GetCountryCodeForRegion(region) == 0 {
		return "", phoneErr("unknown default region %q", region)
	}
	if len(raw) > maxPhoneInput {
		return "", phoneErr("too long")
	}
	if !utf8.ValidString(raw) {
		return "", phoneErr("not valid UTF-8 text")
	}
	s := cleanPhoneText(raw)
	if s == "" {
		return "", phoneErr("empty")
	}
	s = stripTelURI(s)
	s = cutExtension(s)
	s, err := undoSpreadsheet(s)
	if err != nil {
		return "", err
	}
	digits := 0
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case unicode.IsLetter(r):
			return "", phoneErr("contains letters")
		case r == '+' || r == '-' || r == '.' || r == '(' || r == ')' || r == ' ' || r == '/':
		default:
			return "", phoneErr("contains %q, which does not belong in a phone number", r)
		}
	}
	switch {
	case digits == 0:
		return "", phoneErr("no digits")
	case digits < 3:
		return "", phoneErr("too short")
	case digits > 20:
		return "", phoneErr("too long")
	}
	if strings.Count(s, "+") > 1 || (strings.Contains(s, "+") && !strings.HasPrefix(strings.TrimLeft(s, "( "), "+")) {
		return "", phoneErr("'+' may only start the number")
	}
	s = internationalPrefix(s, region)

	num, err := phonenumbers.Parse(s, region)
	if err != nil {
		switch {
		case errors.Is(err, phonenumbers.ErrInvalidCountryCode):
			return "", phoneErr("unknown country code")
		case errors.Is(err, phonenumbers.ErrTooShortNSN), errors.Is(err, phonenumbers.ErrTooShortAfterIDD):
			return "", phoneErr("too short")
		case errors.Is(err, phonenumbers.ErrNumTooLong):
			return "", phoneErr("too long")
		default:
			return "", phoneErr("not a phone number")
		}
	}
	numRegion := phonenumbers.GetRegionCodeForCountryCode(int(num.GetCountryCode()))
	switch phonenumbers.IsPossibleNumberWithReason(num) {
	case phonenumbers.INVALID_COUNTRY_CODE:
		return "", phoneErr("unknown country code")
	case phonenumbers.TOO_SHORT:
		return "", phoneErr("too short")
	case phonenumbers.TOO_LONG:
		return "", phoneErr("too long")
	case phonenumbers.INVALID_LENGTH:
		return "", phoneErr("wrong number of digits for region %s", numRegion)
	}
	if !phonenumbers.IsValidNumber(num) {
		return "", phoneErr("not a valid phone number for region %s", numRegion)
	}
	return phonenumbers.Format(num, phonenumbers.E164), nil
}

// cleanPhoneText folds full-width forms to ASCII, turns every kind of space into ' ',
// drops invisible format characters (zero-width space and joiners, BOM, soft hyphen,
// direction marks) and trims the result.
func cleanPhoneText(raw string) string {
	var b strings.Builder
	b.Grow(len(raw))
	for _, r := range raw {
		switch {
		case r >= 0xFF01 && r <= 0xFF5E: // full-width ASCII block: ＋８６（）－
			r -= 0xFEE0
		case r == 0x3000 || r == 0x00A0 || r == 0x202F || r == 0x2007 || unicode.IsSpace(r):
			r = ' '
		case r == 0x2010 || r == 0x2011 || r == 0x2012 || r == 0x2013 || r == 0x2014 || r == 0x2212 || r == 0x30FC:
			r = '-' // hyphens and dashes that word processors substitute
		case unicode.Is(unicode.Cf, r):
			continue
		}
		b.WriteRune(r)
	}
	return strings.TrimSpace(b.String())
}

// stripTelURI removes a "tel:" scheme and its parameters (";ext=", ";phone-context=").
func stripTelURI(s string) string {
	if len(s) < 4 || !strings.EqualFold(s[:4], "tel:") {
		return s
	}
	s = s[4:]
	if i := strings.IndexByte(s, ';'); i >= 0 {
		s = s[:i]
	}
	if strings.Contains(s, "%") {
		if u, err := url.PathUnescape(s); err == nil {
			s = u
		}
	}
	return strings.TrimSpace(s)
}

// extensionMarkers introduce an extension after the number. The longest marker at the
// earliest position wins, so "extension" beats "ext" and "ext." beats "ext".
var extensionMarkers = []string{"转", "分机号", "分机", "extension", "ext.", "ext", "x", "#", ","}

// cutExtension drops an extension written after the number: a marker followed by 1 to 7
// digits and nothing else. Anything else is left alone for the letter check to report.
func cutExtension(s string) string {
	lower := strings.ToLower(s)
	at, size := -1, 0
	for _, m := range extensionMarkers {
		i := strings.Index(lower, m)
		if i < 0 {
			continue
		}
		if at < 0 || i < at || (i == at && len(m) > size) {
			at, size = i, len(m)
		}
	}
	if at <= 0 || !strings.ContainsAny(s[:at], "0123456789") {
		return s
	}
	rest := strings.Trim(s[at+size:], " .:：-=")
	if len(rest) == 0 || len(rest) > 7 || strings.Trim(rest, "0123456789") != "" {
		return s
	}
	return strings.TrimSpace(s[:at])
}

// undoSpreadsheet reverses what spreadsheets do to a phone number stored as a number:
// "13800138000.0" and "1.3800138E+10" become "13800138000". Scientific notation with six
// or fewer significant digits ("8.61381E+12") is how Excel displays a number that no
// longer fits its column, and the digits it dropped are lost: that is an error, not a
// number to dial.
func undoSpreadsheet(s string) (string, error) {
	if s == "" || s[0] < '0' || s[0] > '9' {
		return s, nil
	}
	if i := strings.IndexByte(s, '.'); i > 0 && isDigits(s[:i]) && strings.Trim(s[i+1:], "0") == "" && len(s) > i+1 {
		return s[:i], nil
	}
	e := strings.IndexAny(s, "eE")
	if e < 0 {
		return s, nil
	}
	mant, exp := s[:e], strings.TrimPrefix(s[e+1:], "+")
	intPart, frac, _ := strings.Cut(mant, ".")
	if len(intPart) != 1 || !isDigits(intPart) || (frac != "" && !isDigits(frac)) || !isDigits(exp) || len(exp) > 2 {
		return s, nil // not scientific notation; the letter check will speak
	}
	x := int(exp[0] - '0')
	if len(exp) == 2 {
		x = x*10 + int(exp[1]-'0')
	}
	frac = strings.TrimRight(frac, "0")
	if len(frac) > x {
		return "", phoneErr("scientific notation %s is not a whole number", s)
	}
	if 1+len(frac) <= 6 {
		return "", phoneErr("scientific notation %s has lost digits (spreadsheet column formatted as a number); export the column as text", s)
	}
	return intPart + frac + strings.Repeat("0", x-len(frac)), nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// internationalPrefix rewrites the ways people write a country code without '+':
// "0086 138..." (the IDD prefix "00" used by most of the world, whatever the default
// region's own), and, for China, a bare "86" before an 11-digit mobile number.
func internationalPrefix(s, region string) string {
	if strings.HasPrefix(s, "00") && len(s) > 2 && s[2] != '0' {
		return "+" + s[2:]
	}
	if region == "CN" && strings.HasPrefix(s, "86") {
		d := onlyDigits(s)
		if len(d) == 13 && d[2] == '1' {
			return "+" + d
		}
	}
	return s
}

func onlyDigits(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			b = append(b, s[i])
		}
	}
	return string(b)
}

// RegionOf returns the ISO 3166-1 region ("CN", "US") of an E.164 number, or "" when it
// does not parse or is not in any one region (a non-geographic "+800" number; a "+1"
// number in no known area code). A number that parses but is not valid gets the main
// region of its country code.
func RegionOf(e164 string) string {
	num, err := phonenumbers.Parse(e164, "")
	if err != nil {
		return ""
	}
	r := phonenumbers.GetRegionCodeForNumber(num)
	if r == "ZZ" || r == "001" {
		return ""
	}
	return r
}

// TimeZonesOf returns the IANA time zones ("Asia/Shanghai") an E.164 number is likely in,
// from libphonenumber's prefix table, or nil when unknown; callers fall back to the
// campaign's zone. Several zones come back where a prefix spans them (US mobiles). The
// slice is the caller's own.
func TimeZonesOf(e164 string) []string {
	num, err := phonenumbers.Parse(e164, "")
	if err != nil {
		return nil
	}
	tzs, err := phonenumbers.GetTimezonesForNumber(num)
	if err != nil {
		return nil
	}
	out := make([]string, 0, len(tzs))
	for _, tz := range tzs {
		if tz != phonenumbers.UNKNOWN_TIMEZONE {
			out = append(out, tz)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// AreaOf returns where an E.164 number is, from libphonenumber's geocoding in English
// ("Beijing", "New York, NY"; for a Chinese mobile, the city of its prefix), or "" when
// unknown. Caller-id pools use it for local presence.
func AreaOf(e164 string) string {
	num, err := phonenumbers.Parse(e164, "")
	if err != nil {
		return ""
	}
	area, err := phonenumbers.GetGeocodingForNumber(num, "en")
	if err != nil {
		return ""
	}
	return area
}
