package ivr

import (
	"fmt"
	"strings"
	"unicode"
)

// Contact is who is being called, as the interpreter sees it.
type Contact struct {
	Name string
	// Number is the dialed number in E.164 ({{call.number}}).
	Number string
	// MaskedNumber is Number as a webhook body shows it when the flow's webhook_contact is
	// masked (the campaigns engine writes the country code and the last 4 digits,
	// "+86*******8000"); when it is empty the interpreter shows only the last 4 digits.
	MaskedNumber string
	// Fields are the contact's custom fields ({{contact.fields.X}}).
	Fields map[string]string
}

// refKind is the namespace of a variable reference.
type refKind int

const (
	refVar         refKind = iota // vars.NAME
	refField                      // contact.fields.NAME
	refContactName                // contact.name
	refCallNumber                 // call.number
)

// ref is a variable reference as templates and expressions write it.
type ref struct {
	kind refKind
	name string // for vars and fields
}

func (r ref) String() string {
	switch r.kind {
	case refVar:
		return "vars." + r.name
	case refField:
		return "contact.fields." + r.name
	case refContactName:
		return "contact.name"
	default:
		return "call.number"
	}
}

// parseRef parses "vars.x", "contact.name", "contact.fields.x" or "call.number".
func parseRef(s string) (ref, error) {
	switch {
	case s == "contact.name":
		return ref{kind: refContactName}, nil
	case s == "call.number":
		return ref{kind: refCallNumber}, nil
	case strings.HasPrefix(s, "vars."):
		name := s[len("vars."):]
		if !validName(name) {
			return ref{}, fmt.Errorf("bad variable name %q in %s", name, s)
		}
		return ref{kind: refVar, name: name}, nil
	case strings.HasPrefix(s, "contact.fields."):
		name := s[len("contact.fields."):]
		if !validName(name) {
			return ref{}, fmt.Errorf("bad field name %q in %s", name, s)
		}
		return ref{kind: refField, name: name}, nil
	}
	return ref{}, fmt.Errorf("unknown variable %q: want vars.NAME, contact.name, contact.fields.NAME or call.number", s)
}

// validName reports whether s is a variable or field name: letters (any script), digits,
// '_' and '-'.
func validName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !isNameRune(r) {
			return false
		}
	}
	return true
}

func isNameRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '-'
}

// env is what templates and expressions read.
type env struct {
	vars    map[string]string
	contact Contact
}

func (e env) lookup(r ref) string {
	switch r.kind {
	case refVar:
		return e.vars[r.name]
	case refField:
		return e.contact.Fields[r.name]
	case refContactName:
		return e.contact.Name
	default:
		return e.contact.Number
	}
}

// posError is a problem at a byte offset of a template or an expression.
type posError struct {
	off int
	msg string
}

func (e *posError) Error() string { return fmt.Sprintf("at offset %d: %s", e.off, e.msg) }

// Template is text with {{variable}} references, parsed when the flow loads and rendered
// when its action is taken. A variable that is not set renders as "".
type Template struct {
	src   string
	parts []tpart
}

type tpart struct {
	lit   string
	ref   ref
	isRef bool
	off   int // byte offset in src of the literal, or of the reference's name
}

// String returns the template as written.
func (t Template) String() string { return t.src }

// IsZero reports whether the template is empty.
func (t Template) IsZero() bool { return t.src == "" }

// literal reports whether the template has no variable reference.
func (t Template) literal() bool {
	for _, p := range t.parts {
		if p.isRef {
			return false
		}
	}
	return true
}

// probe renders the template with every reference standing for the word "x": the fixed
// parts as the loader checks them.
func (t Template) probe() string { return t.render(env{}, func(string) string { return "x" }) }

// parseTemplate parses s; a *posError locates a problem.
func parseTemplate(s string) (Template, error) {
	t := Template{src: s}
	rest, off := s, 0
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			if rest != "" {
				t.parts = append(t.parts, tpart{lit: rest, off: off})
			}
			return t, nil
		}
		if i > 0 {
			t.parts = append(t.parts, tpart{lit: rest[:i], off: off})
		}
		j := strings.Index(rest[i+2:], "}}")
		if j < 0 {
			return Template{}, &posError{off: off + i, msg: "{{ without a closing }}"}
		}
		inner := rest[i+2 : i+2+j]
		name := strings.TrimSpace(inner)
		refOff := off + i + 2 + strings.Index(inner, name)
		r, err := parseRef(name)
		if err != nil {
			return Template{}, &posError{off: refOff, msg: err.Error()}
		}
		t.parts = append(t.parts, tpart{ref: r, isRef: true, off: refOff})
		n := i + 2 + j + 2
		rest, off = rest[n:], off+n
	}
}

// render expands the template; escape, when not nil, is applied to each variable's value.
func (t Template) render(e env, escape func(string) string) string {
	var b strings.Builder
	for _, p := range t.parts {
		if !p.isRef {
			b.WriteString(p.lit)
			continue
		}
		v := e.lookup(p.ref)
		if escape != nil {
			v = escape(v)
		}
		b.WriteString(v)
	}
	return b.String()
}
