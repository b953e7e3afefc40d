package ivr

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The branch expression language, deliberately tiny:
//
//	expr    = and { "||" and }
//	and     = cmp { "&&" cmp }
//	cmp     = "(" expr ")" | operand op operand
//	op      = "==" | "!=" | "<" | "<=" | ">" | ">="
//	operand = variable | "double-quoted string" | number
//
// Variables are those of templates: vars.NAME, contact.name, contact.fields.NAME,
// call.number. == and != compare text, except that a number literal on either side makes
// them compare numbers (a value that is not a number is then unequal). <, <=, > and >=
// compare numbers; a value that is not a number makes them false, and a string literal
// beside them is a load error. && binds tighter than ||.

// expr is a parsed expression.
type expr interface {
	eval(e env) bool
	String() string // canonical form: parses back to the same expression
}

type logic struct {
	op   string // "&&" or "||"
	l, r expr
}

func (x *logic) eval(e env) bool {
	if x.op == "&&" {
		return x.l.eval(e) && x.r.eval(e)
	}
	return x.l.eval(e) || x.r.eval(e)
}

func (x *logic) String() string { return "(" + x.l.String() + " " + x.op + " " + x.r.String() + ")" }

type compare struct {
	op   string
	l, r operand
}

func (x *compare) eval(e env) bool {
	l, r := x.l.value(e), x.r.value(e)
	if x.l.kind == opNumber || x.r.kind == opNumber || ordering(x.op) {
		a, errA := strconv.ParseFloat(strings.TrimSpace(l), 64)
		b, errB := strconv.ParseFloat(strings.TrimSpace(r), 64)
		if errA != nil || errB != nil {
			return x.op == "!="
		}
		switch x.op {
		case "==":
			return a == b
		case "!=":
			return a != b
		case "<":
			return a < b
		case "<=":
			return a <= b
		case ">":
			return a > b
		default:
			return a >= b
		}
	}
	if x.op == "==" {
		return l == r
	}
	return l != r
}

func (x *compare) String() string { return x.l.String() + " " + x.op + " " + x.r.String() }

func ordering(op string) bool { return op != "==" && op != "!=" }

type operandKind int

const (
	opRef operandKind = iota
	opString
	opNumber
)

type operand struct {
	kind operandKind
	ref  ref
	text string // the string's value, or the number as written
	off  int
}

func (o operand) value(e env) string {
	if o.kind == opRef {
		return e.lookup(o.ref)
	}
	return o.text
}

func (o operand) String() string {
	switch o.kind {
	case opRef:
		return o.ref.String()
	case opString:
		return strconv.Quote(o.text)
	default:
		return o.text
	}
}

// exprRefs returns the variables an expression reads, with their offsets.
func exprRefs(x expr) []operand {
	switch x := x.(type) {
	case *logic:
		return append(exprRefs(x.l), exprRefs(x.r)...)
	case *compare:
		var out []operand
		for _, o := range []operand{x.l, x.r} {
			if o.kind == opRef {
				out = append(out, o)
			}
		}
		return out
	}
	return nil
}

// maxExprDepth bounds parenthesis nesting.
const maxExprDepth = 32

// parseExpr parses a branch condition; a *posError locates a problem.
func parseExpr(s string) (expr, error) {
	toks, err := lex(s)
	if err != nil {
		return nil, err
	}
	p := &exprParser{toks: toks}
	x, err := p.or()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, &posError{off: t.off, msg: fmt.Sprintf("unexpected %s", t)}
	}
	return x, nil
}

type tokKind int

const (
	tokEOF tokKind = iota
	tokRef
	tokString
	tokNumber
	tokCmp // == != < <= > >=
	tokAnd
	tokOr
	tokLParen
	tokRParen
)

type token struct {
	kind tokKind
	text string // as written; a string's value for tokString
	off  int
}

func (t token) String() string {
	if t.kind == tokEOF {
		return "end of expression"
	}
	return strconv.Quote(t.text)
}

func lex(s string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(' || c == ')':
			k := tokLParen
			if c == ')' {
				k = tokRParen
			}
			toks = append(toks, token{kind: k, text: s[i : i+1], off: i})
			i++
		case strings.HasPrefix(s[i:], "&&"):
			toks = append(toks, token{kind: tokAnd, text: "&&", off: i})
			i += 2
		case strings.HasPrefix(s[i:], "||"):
			toks = append(toks, token{kind: tokOr, text: "||", off: i})
			i += 2
		case c == '=' || c == '!' || c == '<' || c == '>':
			op := s[i : i+1]
			if i+1 < len(s) && s[i+1] == '=' {
				op = s[i : i+2]
			}
			if op == "=" || op == "!" {
				return nil, &posError{off: i, msg: fmt.Sprintf("%q is not an operator: want == or !=", op)}
			}
			toks = append(toks, token{kind: tokCmp, text: op, off: i})
			i += len(op)
		case c == '"':
			j := i + 1
			for j < len(s) && s[j] != '"' {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(s) {
				return nil, &posError{off: i, msg: "unterminated string"}
			}
			v, err := strconv.Unquote(s[i : j+1])
			if err != nil {
				return nil, &posError{off: i, msg: "bad string " + s[i:j+1]}
			}
			toks = append(toks, token{kind: tokString, text: v, off: i})
			i = j + 1
		case c == '-' || (c >= '0' && c <= '9'):
			j := i
			if c == '-' {
				j++
			}
			start := j
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			if j < len(s) && s[j] == '.' {
				j++
				for j < len(s) && s[j] >= '0' && s[j] <= '9' {
					j++
				}
			}
			if j == start || s[j-1] == '.' {
				return nil, &posError{off: i, msg: fmt.Sprintf("bad number %q", s[i:j])}
			}
			toks = append(toks, token{kind: tokNumber, text: s[i:j], off: i})
			i = j
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			if !unicode.IsLetter(r) {
				return nil, &posError{off: i, msg: fmt.Sprintf("unexpected character %q", r)}
			}
			j := i + size
			for j < len(s) {
				r, size := utf8.DecodeRuneInString(s[j:])
				if !isNameRune(r) && r != '.' {
					break
				}
				j += size
			}
			toks = append(toks, token{kind: tokRef, text: s[i:j], off: i})
			i = j
		}
	}
	return append(toks, token{kind: tokEOF, off: len(s)}), nil
}

type exprParser struct {
	toks  []token
	pos   int
	depth int
}

func (p *exprParser) peek() token { return p.toks[p.pos] }

func (p *exprParser) next() token {
	t := p.toks[p.pos]
	if t.kind != tokEOF {
		p.pos++
	}
	return t
}

func (p *exprParser) or() (expr, error) {
	l, err := p.and()
	for err == nil && p.peek().kind == tokOr {
		p.next()
		var r expr
		if r, err = p.and(); err == nil {
			l = &logic{op: "||", l: l, r: r}
		}
	}
	return l, err
}

func (p *exprParser) and() (expr, error) {
	l, err := p.cmp()
	for err == nil && p.peek().kind == tokAnd {
		p.next()
		var r expr
		if r, err = p.cmp(); err == nil {
			l = &logic{op: "&&", l: l, r: r}
		}
	}
	return l, err
}

func (p *exprParser) cmp() (expr, error) {
	if t := p.peek(); t.kind == tokLParen {
		p.next()
		if p.depth++; p.depth > maxExprDepth {
			return nil, &posError{off: t.off, msg: "parentheses nested too deeply"}
		}
		x, err := p.or()
		if err != nil {
			return nil, err
		}
		if c := p.next(); c.kind != tokRParen {
			return nil, &posError{off: c.off, msg: "want ) to close the (, got " + c.String()}
		}
		p.depth--
		return x, nil
	}
	l, err := p.operand()
	if err != nil {
		return nil, err
	}
	op := p.next()
	if op.kind != tokCmp {
		return nil, &posError{off: op.off, msg: fmt.Sprintf("want a comparison (==, !=, <, <=, >, >=) after %s, got %s", l, op)}
	}
	r, err := p.operand()
	if err != nil {
		return nil, err
	}
	if ordering(op.text) {
		for _, o := range []operand{l, r} {
			if o.kind == opString {
				return nil, &posError{off: o.off, msg: fmt.Sprintf("%s compares numbers, not the string %s", op.text, o)}
			}
		}
	}
	return &compare{op: op.text, l: l, r: r}, nil
}

func (p *exprParser) operand() (operand, error) {
	t := p.next()
	switch t.kind {
	case tokRef:
		r, err := parseRef(t.text)
		if err != nil {
			return operand{}, &posError{off: t.off, msg: err.Error()}
		}
		return operand{kind: opRef, ref: r, off: t.off}, nil
	case tokString:
		return operand{kind: opString, text: t.text, off: t.off}, nil
	case tokNumber:
		return operand{kind: opNumber, text: t.text, off: t.off}, nil
	}
	return operand{}, &posError{off: t.off, msg: fmt.Sprintf("want a variable, a \"string\" or a number, got %s", t)}
}
