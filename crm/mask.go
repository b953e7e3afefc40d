package crm

import (
	"strconv"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// MaskPhone hides the middle of a phone number for people whose role may not see it,
// keeping the country code, the first three and the last four national digits, and the
// length: "+8613800138000" becomes "+86 138****8000", "+14155552671" "+1 415***2671".
//
// Shorter national numbers reveal less: 8 or 9 digits keep 2 and 3 ("+852 51***678"),
// 5 to 7 keep only the last 2, and 4 or fewer are masked entirely. Input that is not
// E.164 is masked by the same rule on its digits alone, without a country code; input
// with no digits at all gives "****", and empty input "".
func MaskPhone(e164 string) string {
	s := strings.TrimSpace(e164)
	if s == "" {
		return ""
	}
	if strings.HasPrefix(s, "+") {
		if num, err := phonenumbers.Parse(s, ""); err == nil && num.GetCountryCode() != 0 {
			return "+" + strconv.Itoa(int(num.GetCountryCode())) + " " +
				maskDigits(phonenumbers.GetNationalSignificantNumber(num))
		}
		if d := onlyDigits(s); d != "" {
			return "+" + maskDigits(d)
		}
		return "****"
	}
	if d := onlyDigits(s); d != "" {
		return maskDigits(d)
	}
	return "****"
}

// maskDigits keeps a head and a tail of d and replaces the rest with '*', one per byte.
func maskDigits(d string) string {
	n := len(d)
	head, tail := 0, 0
	switch {
	case n >= 10:
		head, tail = 3, 4
	case n >= 8:
		head, tail = 2, 3
	case n >= 5:
		head, tail = 0, 2
	}
	return d[:head] + strings.Repeat("*", n-head-tail) + d[n-tail:]
}
