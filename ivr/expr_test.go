package ivr

import (
	"errors"
	"strings"
	"testing"
)

func TestEvalExpr(t *testing.T) {
	e := env{
		vars:    map[string]string{"x": "1", "n": "3", "f": "2.5", "word": "abc", "empty": "", "big": "10"},
		contact: Contact{Name: "Ann", Number: "+8613800138000", Fields: map[string]string{"vip": "yes", "城市": "北京"}},
	}
	tests := []struct {
		src  string
		want bool
	}{
		{`vars.x == "1"`, true},
		{`vars.x != "1"`, false},
		{`vars.x == "01"`, false}, // text
		{`vars.x == 1.0`, true},   // a number literal compares numbers
		{`vars.word == 1`, false}, // not a number: unequal
		{`vars.word != 1`, true},
		{`contact.fields.vip != ""`, true},
		{`contact.fields.missing != ""`, false},
		{`contact.fields.城市 == "北京"`, true},
		{`contact.name == "Ann"`, true},
		{`call.number == "+8613800138000"`, true},
		{`vars.n >= 3`, true},
		{`vars.n > 3`, false},
		{`vars.n < 3.5`, true},
		{`vars.f <= 2.5`, true},
		{`vars.big > vars.n`, true}, // numbers, not text ("10" < "3" as text)
		{`vars.word > 1`, false},    // not a number: false
		{`vars.word < 1`, false},
		{`vars.empty >= 0`, false},
		{`vars.n >= -1`, true},
		{`vars.unset == ""`, true},
		{`vars.x == "1" && vars.n >= 3`, true},
		{`vars.x == "1" && vars.n > 3`, false},
		{`vars.x == "2" || vars.n == 3`, true},
		{`vars.x == "2" || vars.n == 4`, false},
		{`vars.x == "2" && vars.n == 3 || contact.name == "Ann"`, true}, // && binds tighter
		{`vars.x == "2" && (vars.n == 3 || contact.name == "Ann")`, false},
		{`"a\"b" == "a\"b"`, true},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			x, err := parseExpr(tt.src)
			if err != nil {
				t.Fatal(err)
			}
			if got := x.eval(e); got != tt.want {
				t.Errorf("%s = %v, want %v", tt.src, got, tt.want)
			}
		})
	}
}

func TestParseExprErrors(t *testing.T) {
	tests := []struct {
		src string
		off int
		msg string
	}{
		{``, 0, "want a variable"},
		{`vars.x`, 6, "want a comparison"},
		{`vars.x = "1"`, 7, `"=" is not an operator`},
		{`vars.x == "1" & vars.y == "2"`, 14, `unexpected character '&'`},
		{`vars.x == "1`, 10, "unterminated string"},
		{`vars.x == "\q"`, 10, "bad string"},
		{`vars.n >= "3"`, 10, "compares numbers"},
		{`vars.n >= 1.`, 10, "bad number"},
		{`user.id == "1"`, 0, `unknown variable "user.id"`},
		{`contact.email == ""`, 0, `unknown variable "contact.email"`},
		{`vars. == ""`, 0, "bad variable name"},
		{`vars.x == "1" vars.y`, 14, `unexpected "vars.y"`},
		{`(vars.x == "1"`, 14, "want ) to close the ("},
		{`vars.x == "1")`, 13, `unexpected ")"`},
		{`vars.x == == "1"`, 10, "want a variable"},
		{strings.Repeat("(", 40) + `vars.x == "1"` + strings.Repeat(")", 40), 32, "nested too deeply"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			_, err := parseExpr(tt.src)
			var pe *posError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want a *posError", err)
			}
			if pe.off != tt.off || !strings.Contains(pe.msg, tt.msg) {
				t.Errorf("error at %d: %s; want at %d: ...%s...", pe.off, pe.msg, tt.off, tt.msg)
			}
		})
	}
}

func TestExprString(t *testing.T) {
	x, err := parseExpr(`vars.a == "x" && (vars.b >= 2 || contact.fields.vip != "")`)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := x.String(), `(vars.a == "x" && (vars.b >= 2 || contact.fields.vip != ""))`; got != want {
		t.Errorf("String() = %s, want %s", got, want)
	}
}

func TestTemplates(t *testing.T) {
	e := env{vars: map[string]string{"x": "1", "q": "a b&c"}, contact: Contact{Name: "Ann", Number: "+86138", Fields: map[string]string{"city": "北京"}}}
	tests := []struct {
		src    string
		want   string
		errOff int // -1: no error
		errMsg string
	}{
		{"plain text", "plain text", -1, ""},
		{"", "", -1, ""},
		{"Hi {{contact.name}}!", "Hi Ann!", -1, ""},
		{"{{ contact.fields.city }}/{{vars.x}}{{vars.unset}}", "北京/1", -1, ""},
		{"{{call.number}}", "+86138", -1, ""},
		{"a }} b {", "a }} b {", -1, ""},
		{"Hi {{contact.email}}", "", 5, `unknown variable "contact.email"`},
		{"Hi {{ name }}", "", 6, `unknown variable "name"`},
		{"Hi {{vars.x", "", 3, "without a closing }}"},
		{"{{}}", "", 2, `unknown variable ""`},
		{"{{vars.a.b}}", "", 2, `bad variable name "a.b"`},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			tm, err := parseTemplate(tt.src)
			if tt.errOff >= 0 {
				var pe *posError
				if !errors.As(err, &pe) || pe.off != tt.errOff || !strings.Contains(pe.msg, tt.errMsg) {
					t.Fatalf("err = %v, want at %d: %s", err, tt.errOff, tt.errMsg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := tm.render(e, nil); got != tt.want {
				t.Errorf("render = %q, want %q", got, tt.want)
			}
			if tm.String() != tt.src {
				t.Errorf("String() = %q, want the source", tm.String())
			}
		})
	}
}

// FuzzExpr: the parser never panics, errors lie within the input, and a parsed expression
// prints to a form that parses back to itself.
func FuzzExpr(f *testing.F) {
	for _, s := range []string{`vars.x == "1"`, `contact.fields.vip != ""`, `vars.n >= 3`,
		`vars.a == "x" && (vars.b >= 2 || call.number == "+86")`, `((`, `"\u00e9" == -1.5`, `vars.x = 1`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		x, err := parseExpr(s)
		if err != nil {
			var pe *posError
			if !errors.As(err, &pe) || pe.off < 0 || pe.off > len(s) {
				t.Fatalf("parseExpr(%q): error %v outside the input", s, err)
			}
			return
		}
		x.eval(env{vars: map[string]string{"x": "1"}})
		printed := x.String()
		y, err := parseExpr(printed)
		if err != nil {
			t.Fatalf("parseExpr(%q) ok, but its form %q does not parse: %v", s, printed, err)
		}
		if y.String() != printed {
			t.Fatalf("%q prints %q, which prints %q", s, printed, y.String())
		}
	})
}
