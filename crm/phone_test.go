package crm

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestNormalize(t *testing.T) {
	const mobile = "+8613800138000"
	tests := []struct {
		name   string
		region string
		raw    string
		want   string
	}{
		{"plain CN mobile", "", "13800138000", mobile},
		{"spaces 3-4-4", "", "138 0013 8000", mobile},
		{"hyphens 3-4-4", "", "138-0013-8000", mobile},
		{"dots", "", "138.0013.8000", mobile},
		{"plus 86 spaced", "", "+86 138 0013 8000", mobile},
		{"plus 86 hyphen", "", "+86-13800138000", mobile},
		{"E.164 already", "", mobile, mobile},
		{"0086 IDD", "", "0086 13800138000", mobile},
		{"0086 IDD with US default", "US", "0086 13800138000", mobile},
		{"bare 86 before mobile", "", "86 13800138000", mobile},
		{"bare 86 glued", "", "8613800138000", mobile},
		{"bracketed plus 86", "", "(+86)13800138000", mobile},
		{"bracketed 86 with space", "", "(86) 138 0013 8000", mobile},
		{"full-width plus and digits", "", "＋８６１３８００１３８０００", mobile},
		{"full-width digits and ideographic spaces", "", "１３８　００１３　８０００", mobile},
		{"full-width brackets", "", "（＋８６）１３８００１３８０００", mobile},
		{"full-width hyphens", "", "１３８－００１３－８０００", mobile},
		{"Excel trailing .0", "", "13800138000.0", mobile},
		{"Excel trailing .00", "", "13800138000.00", mobile},
		{"Excel scientific, every digit kept", "", "1.3800138E+10", mobile},
		{"scientific lower case", "", "1.3800138e10", mobile},
		{"scientific with country code", "", "8.6138001380E+12", mobile},
		{"no-break spaces", "", "138\u00a00013\u00a08000", mobile},
		{"zero-width space and joiner", "", "\u200b138\u200d0013\u200c8000\ufeff", mobile},
		{"leading and trailing whitespace", "", " \t13800138000\r\n", mobile},
		{"en dash", "", "138–0013–8000", mobile},
		{"tel URI", "", "tel:+86-138-0013-8000", mobile},
		{"tel URI upper case with params", "", "TEL:+8613800138000;phone-context=example.com", mobile},
		{"tel URI percent-encoded", "", "tel:%2B8613800138000", mobile},
		{"Beijing landline", "", "010-12345678", "+861012345678"},
		{"Shanghai landline bracketed", "", "(021) 1234 5678", "+862112345678"},
		{"Shenzhen landline with 转 extension", "", "0755-8888 8888 转 123", "+8675588888888"},
		{"landline with 分机 extension", "", "0755-88888888分机123", "+8675588888888"},
		{"landline with ext.", "", "0755-88888888 ext. 123", "+8675588888888"},
		{"landline with ext", "", "0755-88888888 ext123", "+8675588888888"},
		{"landline with hash extension", "", "0755-88888888#8001", "+8675588888888"},
		{"plus 86 then trunk 0", "", "+86 (0)10 1234 5678", "+861012345678"},
		{"400 service number", "", "400-820-8820", "+864008208820"},
		{"US with CN default", "", "+1 (415) 555-2671", "+14155552671"},
		{"US x extension", "", "+1 415 555 2671 x123", "+14155552671"},
		{"US tel URI with ext", "", "tel:+1-415-555-2671;ext=9", "+14155552671"},
		{"US national with US default", "US", "(415) 555-2671", "+14155552671"},
		{"lower-case region", "us", "415.555.2671", "+14155552671"},
		{"UK", "", "+44 20 7946 0958", "+442079460958"},
		{"Hong Kong mobile", "", "+852 5123 4567", "+85251234567"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := PhoneNormalizer{DefaultRegion: tt.region}.Normalize(tt.raw)
			if err != nil || got != tt.want {
				t.Errorf("Normalize(%q) = %q, %v; want %q", tt.raw, got, err, tt.want)
			}
		})
	}
}

func TestNormalizeRejects(t *testing.T) {
	tests := []struct {
		name   string
		region string
		raw    string
		want   string // the whole error text, or its start when it ends in "…"
	}{
		{"empty", "", "", "empty"},
		{"blank", "", " \u3000\u00a0", "empty"},
		{"invisible only", "", "\u200b\ufeff", "empty"},
		{"letters", "", "abc", "contains letters"},
		{"letters among digits", "", "138abc00138", "contains letters"},
		{"Chinese label", "", "手机13800138000", "contains letters"},
		{"vanity number", "US", "1-800-FLOWERS", "contains letters"},
		{"not an extension", "", "13800138000 ext abc", "contains letters"},
		{"extension too long", "", "13800138000 转 123456789", "contains letters"},
		{"stray symbol", "", "138*0013*8000", "contains '*', which does not belong in a phone number"},
		{"two plus signs", "", "++8613800138000", "'+' may only start the number"},
		{"plus in the middle", "", "138+00138000", "'+' may only start the number"},
		{"no digits", "", "---", "no digits"},
		{"two digits", "", "12", "too short"},
		{"three digits", "", "123", "too short"},
		{"country code and little else", "", "+86 123", "too short"},
		{"too many digits", "", "123456789012345678", "too long"},
		{"too many digits after +86", "", "+86 1380013800012345", "too long"},
		{"absurdly long input", "", strings.Repeat("1", 300), "too long"},
		{"unallocated CN mobile prefix", "", "12345678901", "not a valid phone number for region CN"},
		{"unallocated 100 prefix", "", "10012345678", "not a valid phone number for region CN"},
		{"short code", "", "95588", "not a valid phone number for region CN"},
		{"invalid US area code", "US", "(123) 555-2671", "not a valid phone number for region US"},
		{"unknown country code", "", "+999 1234 5678", "unknown country code"},
		{"Excel lost digits", "", "8.61381E+12", "scientific notation 8.61381E+12 has lost digits…"},
		{"Excel lost digits, short form", "", "1.38001E+10", "scientific notation 1.38001E+10 has lost digits…"},
		{"scientific not whole", "", "1.38001380001234E+10", "scientific notation 1.38001380001234E+10 is not a whole number"},
		{"decimal other than .0", "", "13800138000.5", "not a valid phone number for region CN"},
		{"unknown region", "XX", "13800138000", `unknown default region "XX"`},
		{"invalid UTF-8", "", "138\xff00138000", "not valid UTF-8 text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := PhoneNormalizer{DefaultRegion: tt.region}.Normalize(tt.raw)
			if err == nil {
				t.Fatalf("Normalize(%q) = %q, want error %q", tt.raw, got, tt.want)
			}
			if got != "" {
				t.Errorf("Normalize(%q) returned %q with its error", tt.raw, got)
			}
			if !errors.Is(err, ErrInvalidPhone) {
				t.Errorf("error %v does not wrap ErrInvalidPhone", err)
			}
			if prefix, ok := strings.CutSuffix(tt.want, "…"); ok {
				if !strings.HasPrefix(err.Error(), prefix) {
					t.Errorf("Normalize(%q) error = %q, want it to start %q", tt.raw, err, prefix)
				}
			} else if err.Error() != tt.want {
				t.Errorf("Normalize(%q) error = %q, want %q", tt.raw, err, tt.want)
			}
		})
	}
}

func TestRegionOf(t *testing.T) {
	tests := []struct{ e164, want string }{
		{"+8613800138000", "CN"},
		{"+14155552671", "US"},
		{"+442079460958", "GB"},
		{"+85251234567", "HK"},
		{"+8612345678901", "CN"}, // invalid number: the region of its country code
		{"13800138000", ""},      // not E.164
		{"", ""},
		{"garbage", ""},
	}
	for _, tt := range tests {
		if got := RegionOf(tt.e164); got != tt.want {
			t.Errorf("RegionOf(%q) = %q, want %q", tt.e164, got, tt.want)
		}
	}
}

func TestTimeZonesOf(t *testing.T) {
	tests := []struct {
		e164 string
		want []string
	}{
		{"+8613800138000", []string{"Asia/Shanghai"}},
		{"+861012345678", []string{"Asia/Shanghai"}},
		{"+14155552671", []string{"America/Los_Angeles"}},
		{"+442079460958", []string{"Europe/London"}},
		{"13800138000", nil},
		{"", nil},
	}
	for _, tt := range tests {
		got := TimeZonesOf(tt.e164)
		if !slices.Equal(got, tt.want) {
			t.Errorf("TimeZonesOf(%q) = %q, want %q", tt.e164, got, tt.want)
		}
	}
	// The slice is the caller's: changing it must not change the next answer.
	got := TimeZonesOf("+8613800138000")
	got[0] = "Mars/Olympus_Mons"
	if again := TimeZonesOf("+8613800138000"); again[0] != "Asia/Shanghai" {
		t.Errorf("TimeZonesOf shares its slice with the library: got %q after a caller's write", again)
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{
		"13800138000", "+86 138 0013 8000", "0086 13800138000", "86 13800138000", "(+86)13800138000",
		"＋８６１３８００１３８０００", "13800138000.0", "1.3800138E+10", "8.61381E+12", "010-12345678",
		"0755-8888 8888 转 123", "tel:+1-415-555-2671;ext=9", "138\u200b0013\u00a08000", "abc", "+86 123",
		"1e99", "9.9999999999E+99", "tel:", "tel:%", "转123", "x", "00", "+", "((()))", "\xff",
	} {
		f.Add(s, "")
	}
	f.Add("(415) 555-2671", "US")
	f.Add("13800138000", "zz")
	f.Fuzz(func(t *testing.T, raw, region string) {
		n := PhoneNormalizer{DefaultRegion: region}
		got, err := n.Normalize(raw)
		if err != nil {
			if !errors.Is(err, ErrInvalidPhone) || got != "" || err.Error() == "" {
				t.Fatalf("Normalize(%q) = %q, %v", raw, got, err)
			}
			return
		}
		if len(got) < 4 || len(got) > 16 || got[0] != '+' || !isDigits(got[1:]) {
			t.Fatalf("Normalize(%q) = %q, not E.164", raw, got)
		}
		if again, err := n.Normalize(got); err != nil || again != got {
			t.Fatalf("Normalize(Normalize(%q)) = %q, %v; want %q", raw, again, err, got)
		}
		m := MaskPhone(got)
		if strings.Contains(m, got[len(got)-8:]) || !utf8.ValidString(m) {
			t.Fatalf("MaskPhone(%q) = %q shows too much", got, m)
		}
	})
}
