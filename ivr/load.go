package ivr

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/callplane/callplane/media"
)

// Load reads and parses the flow file at path. The error is for a file that cannot be
// read; everything wrong inside it is a Problem. The flow is nil when any problem is an
// error; warnings come with a usable flow. At most MaxFlowBytes+1 bytes are read.
func Load(path string) (*Flow, []Problem, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("load flow: %w", err)
	}
	defer file.Close()
	data, err := io.ReadAll(io.LimitReader(file, MaxFlowBytes+1))
	if err != nil {
		return nil, nil, fmt.Errorf("load flow: %w", err)
	}
	f, probs := Parse(path, data)
	return f, probs, nil
}

// Parse decodes and validates a flow; name is used as the file of every Problem. Problems
// are sorted by position. The flow is nil when any problem is an error.
//
// A flow beyond the size limits (MaxFlowBytes, MaxValues, MaxNodes) gets that one problem
// and is not validated further. Otherwise the work is linear in the size of the file,
// and at most MaxProblems problems are listed, then one that counts the rest.
func Parse(name string, data []byte) (*Flow, []Problem) {
	l := &loader{file: name, defined: map[string]bool{}}
	if f := l.parse(data); f != nil {
		l.checkVars()
		l.validate(f)
		if !l.hasErrors() {
			return f, l.finish()
		}
	}
	return nil, l.finish()
}

// topKeys are the keys of a flow file.
var topKeys = []string{"id", "version", "description", "variables", "start", "webhook_contact", "nodes"}

// kindKeys are the keys each node kind accepts; the schema test checks schema.json against
// this table.
var kindKeys = map[Kind][]string{
	KindPlay:     {"kind", "prompt", "next"},
	KindMenu:     {"kind", "prompt", "choices", "timeout", "retries", "invalid", "no_input", "on_timeout", "on_invalid"},
	KindCollect:  {"kind", "prompt", "min_digits", "max_digits", "terminator", "timeout", "pattern", "retries", "invalid", "no_input", "into", "next", "on_fail"},
	KindBranch:   {"kind", "conditions", "else"},
	KindSet:      {"kind", "vars", "next"},
	KindRecord:   {"kind", "prompt", "max_length", "beep", "silence_timeout", "into", "next"},
	KindTransfer: {"kind", "queue", "number", "timeout", "on_fail"},
	KindWebhook:  {"kind", "url", "method", "timeout", "set", "next", "on_error"},
	KindDNC:      {"kind", "list", "next"},
	KindHangup:   {"kind", "prompt"},
}

// promptKeys are the keys of a prompt.
var promptKeys = []string{"file", "tts", "voice"}

var (
	yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
	e164RE     = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
)

// loader decodes one file, collecting problems.
type loader struct {
	file         string
	probs        []Problem
	dropped      int  // problems beyond MaxProblems
	droppedErr   bool // one of them is an error
	firstDropped Problem
	root         *yaml.Node
	start        *yaml.Node      // the start value, when written
	defined      map[string]bool // variables something sets
	uses         []varUse        // vars.X read by templates and expressions
}

type varUse struct {
	name      string
	line, col int
}

func (l *loader) add(sev Severity, line, col int, format string, args ...any) {
	if line < 1 {
		line, col = 1, 1
	}
	if col < 1 {
		col = 1
	}
	if len(l.probs) >= MaxProblems {
		if l.dropped == 0 {
			l.firstDropped = Problem{File: l.file, Line: line, Col: col}
		}
		l.dropped++
		l.droppedErr = l.droppedErr || sev == SeverityError
		return
	}
	l.probs = append(l.probs, Problem{File: l.file, Line: line, Col: col, Severity: sev, Msg: fmt.Sprintf(format, args...)})
}

func (l *loader) hasErrors() bool { return l.droppedErr || HasErrors(l.probs) }

// finish returns the problems sorted, with one more that counts those not listed, placed
// where the first of them is.
func (l *loader) finish() []Problem {
	if l.dropped > 0 {
		p := l.firstDropped
		p.Severity = SeverityWarning
		if l.droppedErr {
			p.Severity = SeverityError
		}
		p.Msg = fmt.Sprintf("too many problems: %d more are not listed (the first %d are)", l.dropped, MaxProblems)
		l.probs = append(l.probs, p)
	}
	sortProblems(l.probs)
	return l.probs
}

func (l *loader) errorf(n *yaml.Node, format string, args ...any) {
	l.add(SeverityError, n.Line, n.Column, format, args...)
}

func (l *loader) parse(data []byte) *Flow {
	if len(data) > MaxFlowBytes {
		l.add(SeverityError, 1, 1, "flow file is over the size limit of %d bytes (1 MiB)", MaxFlowBytes)
		return nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			l.add(SeverityError, 1, 1, "empty flow file")
		} else {
			l.yamlError(err, data)
		}
		return nil
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		at := &extra
		if len(extra.Content) > 0 {
			at = extra.Content[0]
		}
		l.errorf(at, "a flow file holds one YAML document; this is another")
	} else if !errors.Is(err, io.EOF) {
		l.yamlError(err, data)
	}
	if len(doc.Content) == 0 {
		l.add(SeverityError, 1, 1, "empty flow file")
		return nil
	}
	root := resolve(doc.Content[0])
	l.root = root
	if l.tooLarge(root) {
		return nil
	}
	pairs, ok := l.mapping(root, "flow", "key")
	if !ok {
		return nil
	}
	f := &Flow{File: l.file, Variables: map[string]string{}, Nodes: map[string]*Node{}}
	seen := map[string]bool{}
	for _, p := range pairs {
		k, v := p.key.Value, p.val
		seen[k] = true
		switch k {
		case "id":
			f.ID = l.str(v, k)
		case "version":
			f.Version = l.integer(v, k, 1, 1<<31-1)
		case "description":
			f.Description = l.text(v, k)
		case "variables":
			vars, _ := l.mapping(v, k, "variable")
			for _, vp := range vars {
				name := vp.key.Value
				if !validName(name) {
					l.errorf(vp.key, "bad variable name %q: use letters, digits, _ and -", name)
					continue
				}
				l.defined[name] = true
				f.Variables[name] = l.text(vp.val, "variable "+name)
			}
		case "start":
			f.Start = l.str(v, k)
			l.start = v
		case "webhook_contact":
			f.WebhookContact = l.str(v, k)
			switch f.WebhookContact {
			case WebhookContactMasked, WebhookContactFull, WebhookContactNone, "":
			default:
				l.errorf(v, "webhook_contact %q: want masked, full or none", f.WebhookContact)
			}
		case "nodes":
			nodes, _ := l.mapping(v, k, "node")
			for _, np := range nodes {
				n := l.node(np.key, np.val)
				f.Nodes[n.Name] = n
				f.order = append(f.order, n.Name)
			}
		default:
			l.errorf(p.key, "unknown key %q (want %s)", k, strings.Join(topKeys, ", "))
		}
	}
	for _, k := range []string{"id", "version", "nodes"} {
		if !seen[k] {
			l.errorf(root, "missing %s", k)
		}
	}
	if seen["nodes"] && len(f.Nodes) == 0 {
		l.errorf(root, "a flow needs at least one node")
	}
	if f.WebhookContact == "" {
		f.WebhookContact = WebhookContactMasked
	}
	return f
}

// yamlError turns a yaml.v3 error into a problem. yaml.v3 reports a line, not a column:
// for a scanner error the line of the problem, for a parser error ("did not find
// expected ...") the 0-based line of the collection being parsed, which is converted here.
// The column is the line's first non-blank character; an error without a line goes on
// line 1.
func (l *loader) yamlError(err error, data []byte) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 1
	if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
		if parserError(msg) {
			line++
		}
	}
	col := 1
	if lines := bytes.Split(data, []byte("\n")); line >= 1 && line <= len(lines) {
		col += len(lines[line-1]) - len(bytes.TrimLeft(lines[line-1], " \t"))
	}
	l.add(SeverityError, line, col, "YAML: %s", msg)
}

// parserError reports whether msg is one of libyaml's parser (not scanner) errors, whose
// line yaml.v3 reports 0-based.
func parserError(msg string) bool {
	return strings.HasPrefix(msg, "did not find expected") || strings.HasPrefix(msg, "found undefined tag handle") ||
		strings.HasPrefix(msg, "found duplicate %") || strings.HasPrefix(msg, "found incompatible YAML document")
}

// resolve follows an alias to the node it names.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && n.Alias != nil && i < 16; i++ {
		n = n.Alias
	}
	return n
}

type pair struct{ key, val *yaml.Node }

// mapping returns the entries of a mapping node in file order. A duplicate key is reported
// at its second occurrence and dropped; what names the mapping and item its keys, for
// messages.
func (l *loader) mapping(n *yaml.Node, what, item string) ([]pair, bool) {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		l.errorf(n, "%s: want a mapping, got %s", what, describe(n))
		return nil, false
	}
	var out []pair
	first := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), resolve(n.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			l.errorf(k, "%s: a %s must be a plain value, got %s", what, item, describe(k))
			continue
		}
		if prev, ok := first[k.Value]; ok {
			l.errorf(k, "duplicate %s %q (first at line %d, column %d)", item, k.Value, prev.Line, prev.Column)
			continue
		}
		first[k.Value] = k
		out = append(out, pair{k, v})
	}
	return out, true
}

// describe names a node's YAML type for messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return "nothing (null)"
		case "!!int", "!!float":
			return "the number " + n.Value
		case "!!bool":
			return "the boolean " + n.Value
		}
		return fmt.Sprintf("the string %q", n.Value)
	}
	return "an unsupported YAML value"
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

// str returns a scalar's text; it must be written and not empty.
func (l *loader) str(n *yaml.Node, key string) string {
	if n.Kind != yaml.ScalarNode || isNull(n) {
		l.errorf(n, "%s: want a string, got %s", key, describe(n))
		return ""
	}
	if n.Value == "" {
		l.errorf(n, "%s is empty", key)
	}
	return n.Value
}

// text returns a scalar's text, which may be empty or null.
func (l *loader) text(n *yaml.Node, key string) string {
	if isNull(n) {
		return ""
	}
	if n.Kind != yaml.ScalarNode {
		l.errorf(n, "%s: want a string, got %s", key, describe(n))
		return ""
	}
	return n.Value
}

func (l *loader) integer(n *yaml.Node, key string, lo, hi int) int {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
		l.errorf(n, "%s: want a whole number, got %s", key, describe(n))
		return 0
	}
	var v int
	if err := n.Decode(&v); err != nil {
		l.errorf(n, "%s: %v", key, err)
		return 0
	}
	if v < lo || v > hi {
		l.errorf(n, "%s is %d: want %d to %d", key, v, lo, hi)
	}
	return v
}

func (l *loader) boolean(n *yaml.Node, key string) bool {
	var v bool
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" || n.Decode(&v) != nil {
		l.errorf(n, "%s: want true or false, got %s", key, describe(n))
	}
	return v
}

// duration parses a Go duration that must be positive and, when hi > 0, at most hi.
func (l *loader) duration(n *yaml.Node, key string, hi time.Duration) time.Duration {
	if n.Kind == yaml.ScalarNode && (n.Tag == "!!int" || n.Tag == "!!float") {
		l.errorf(n, "%s: %s has no unit: write a Go duration such as 5s", key, n.Value)
		return 0
	}
	if n.Kind != yaml.ScalarNode || isNull(n) {
		l.errorf(n, "%s: want a duration such as 5s, got %s", key, describe(n))
		return 0
	}
	d, err := time.ParseDuration(n.Value)
	switch {
	case err != nil:
		l.errorf(n, "%s: bad duration %q: want a Go duration such as 5s or 1m30s", key, n.Value)
	case d <= 0:
		l.errorf(n, "%s must be positive, got %s", key, n.Value)
	case hi > 0 && d > hi:
		l.errorf(n, "%s is %s: the limit is %s", key, n.Value, shortDuration(hi))
	}
	return d
}

// shortDuration formats d without trailing zero units: 10m, not 10m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// template parses a scalar as a Template, locating errors inside it.
func (l *loader) template(n *yaml.Node, key string) Template {
	s := l.str(n, key)
	t, err := parseTemplate(s)
	var pe *posError
	if errors.As(err, &pe) {
		line, col := offsetPos(n, pe.off)
		l.add(SeverityError, line, col, "%s: bad template: %s", key, pe.msg)
		return Template{}
	}
	at := scalarCursor{n: n}
	for _, p := range t.parts {
		if p.isRef && p.ref.kind == refVar {
			line, col := at.pos(p.off)
			l.uses = append(l.uses, varUse{p.ref.name, line, col})
		}
	}
	return t
}

// offsetPos locates byte offset off of a scalar's value. Only single-line scalars are
// located inside; others at their start. Escapes in quoted scalars are not accounted for.
func offsetPos(n *yaml.Node, off int) (line, col int) {
	c := scalarCursor{n: n}
	return c.pos(off)
}

// scalarCursor locates offsets of one scalar's value as offsetPos does, in time linear in
// the length of the value when the offsets come in increasing order (a template's or an
// expression's variables), rather than counting from the start for each.
type scalarCursor struct {
	n       *yaml.Node
	checked bool // whether multi is known
	multi   bool // the value is not located inside (several lines, or a block scalar)
	off     int  // a located offset and the runes before it
	runes   int
}

func (c *scalarCursor) pos(off int) (line, col int) {
	n := c.n
	if !c.checked {
		c.checked = true
		c.multi = strings.Contains(n.Value, "\n") || n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0
	}
	if off < 0 || off > len(n.Value) || c.multi {
		return n.Line, n.Column
	}
	if off < c.off {
		c.off, c.runes = 0, 0
	}
	c.runes += utf8.RuneCountInString(n.Value[c.off:off])
	c.off = off
	col = n.Column + c.runes
	if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
		col++
	}
	return n.Line, col
}

// varName reads the name of a variable the flow sets.
func (l *loader) varName(n *yaml.Node, key string) string {
	s := l.str(n, key)
	if s != "" && !validName(s) {
		l.errorf(n, "%s: bad variable name %q: use letters, digits, _ and -", key, s)
	}
	l.defined[s] = true
	return s
}

// checkVars warns about vars.X that nothing sets.
func (l *loader) checkVars() {
	for _, u := range l.uses {
		if !l.defined[u.name] {
			l.add(SeverityWarning, u.line, u.col, "vars.%s is never set (not in variables, nor by a set, collect, record or webhook node)", u.name)
		}
	}
}

// node decodes one entry of nodes.
func (l *loader) node(key, val *yaml.Node) *Node {
	n := &Node{Name: key.Value, Line: key.Line, Col: key.Column}
	if n.Name == "" {
		l.errorf(key, "a node name must not be empty")
	}
	pairs, ok := l.mapping(val, "node "+n.Name, "key")
	if !ok {
		return n
	}
	var kindNode *yaml.Node
	for _, p := range pairs {
		if p.key.Value == "kind" {
			kindNode = p.val
		}
	}
	if kindNode == nil {
		l.errorf(key, "node %q has no kind", n.Name)
		return n
	}
	kind := Kind(l.str(kindNode, "kind"))
	if _, ok := kindKeys[kind]; !ok {
		if kind != "" {
			l.errorf(kindNode, "unknown kind %q (want %s)", kind, kindList())
		}
		return n
	}
	n.Kind = kind
	switch kind {
	case KindMenu:
		n.Timeout, n.Retries = DefaultInputTimeout, DefaultRetries
	case KindCollect:
		n.Timeout, n.Retries, n.Terminator, n.MinDigits = DefaultInputTimeout, DefaultRetries, DefaultTerminator, 1
	case KindRecord:
		n.MaxLength, n.Beep = DefaultRecordLength, true
	case KindTransfer:
		n.Timeout = DefaultTransferTimeout
	case KindWebhook:
		n.Timeout, n.Method = DefaultWebhookTimeout, "POST"
	case KindDNC:
		n.List = DNCCampaign
	}

	seen := map[string]*yaml.Node{}
	for _, p := range pairs {
		k, v := p.key.Value, p.val
		if !slices.Contains(kindKeys[kind], k) {
			if knownKey(k) {
				l.errorf(p.key, "key %q does not apply to a %s node (want %s)", k, kind, strings.Join(kindKeys[kind], ", "))
			} else {
				l.errorf(p.key, "unknown key %q in a %s node (want %s)", k, kind, strings.Join(kindKeys[kind], ", "))
			}
			continue
		}
		seen[k] = p.key
		l.field(n, k, v)
	}

	need := func(k string) {
		if seen[k] == nil {
			l.errorf(key, "%s node %q needs %s", kind, n.Name, k)
		}
	}
	switch kind {
	case KindPlay:
		need("prompt")
		need("next")
	case KindMenu:
		need("prompt")
		need("choices")
		l.implicit(n, seen, "on_timeout", "timeout")
		l.implicit(n, seen, "on_invalid", "invalid")
	case KindCollect:
		need("prompt")
		need("max_digits")
		need("into")
		need("next")
		if n.MaxDigits > 0 && n.MinDigits > n.MaxDigits {
			at := seen["min_digits"]
			if at == nil {
				at = seen["max_digits"]
			}
			l.errorf(at, "min_digits %d is more than max_digits %d", n.MinDigits, n.MaxDigits)
		}
		l.implicit(n, seen, "on_fail", "fail")
	case KindBranch:
		need("conditions")
		need("else")
	case KindSet:
		need("vars")
		need("next")
	case KindRecord, KindDNC:
		need("next")
	case KindTransfer:
		if seen["queue"] == nil && seen["number"] == nil {
			l.errorf(key, "transfer node %q needs queue or number", n.Name)
		}
		if seen["queue"] != nil && seen["number"] != nil {
			l.errorf(seen["number"], "a transfer goes to a queue or a number, not both")
		}
		l.implicit(n, seen, "on_fail", "fail")
	case KindWebhook:
		need("url")
		need("next")
		l.implicit(n, seen, "on_error", "error")
	}
	return n
}

// implicit records the hang-up edge of a failure target that is not written.
func (l *loader) implicit(n *Node, seen map[string]*yaml.Node, key, label string) {
	if seen[key] == nil {
		n.edges = append(n.edges, edge{label: label, line: n.Line, col: n.Col})
	}
}

// field decodes key k of node n; k applies to n's kind.
func (l *loader) field(n *Node, k string, v *yaml.Node) {
	switch k {
	case "kind":
	case "prompt":
		n.Prompt = l.prompt(v, k)
	case "invalid":
		n.Invalid = l.prompt(v, k)
	case "no_input":
		n.NoInput = l.prompt(v, k)
	case "next":
		n.Next = l.target(n, v, k, "")
	case "on_timeout":
		n.OnTimeout = l.target(n, v, k, "timeout")
	case "on_invalid":
		n.OnInvalid = l.target(n, v, k, "invalid")
	case "on_fail":
		n.OnFail = l.target(n, v, k, "fail")
	case "on_error":
		n.OnError = l.target(n, v, k, "error")
	case "else":
		n.Else = l.target(n, v, k, "else")
	case "timeout":
		hi := time.Duration(0)
		if n.Kind == KindWebhook {
			hi = MaxWebhookTimeout
		}
		n.Timeout = l.duration(v, k, hi)
	case "retries":
		n.Retries = l.integer(v, k, 0, MaxRetries)
	case "choices":
		l.choices(n, v)
	case "min_digits":
		n.MinDigits = l.integer(v, k, 1, MaxDigits)
	case "max_digits":
		n.MaxDigits = l.integer(v, k, 1, MaxDigits)
	case "terminator":
		if isNull(v) {
			l.errorf(v, `terminator is empty: write it in quotes ("#"), a bare # starts a YAML comment; "" for none`)
			return
		}
		n.Terminator = l.text(v, k)
		if n.Terminator != "" && !isKey(n.Terminator) {
			l.errorf(v, "terminator %q: want one key, 0-9, * or #, or \"\" for none", n.Terminator)
		}
	case "pattern":
		s := l.str(v, k)
		if _, err := regexp.Compile(s); err != nil {
			l.errorf(v, "pattern: bad regular expression: %v", strings.TrimPrefix(err.Error(), "error parsing regexp: "))
			return
		}
		// The whole entry must match.
		n.Pattern = regexp.MustCompile(`^(?:` + s + `)$`)
	case "into":
		n.Into = l.varName(v, k)
	case "conditions":
		l.conditions(n, v)
	case "vars":
		vars, _ := l.mapping(v, k, "variable")
		for _, p := range vars {
			name := l.varName(p.key, "variable")
			n.Assign = append(n.Assign, Assignment{Var: name, Value: l.optTemplate(p.val, name)})
		}
		if len(vars) == 0 && v.Kind == yaml.MappingNode {
			l.errorf(v, "vars is empty")
		}
	case "max_length":
		n.MaxLength = l.duration(v, k, MaxRecordLength)
	case "beep":
		n.Beep = l.boolean(v, k)
	case "silence_timeout":
		n.SilenceTimeout = l.duration(v, k, 0)
	case "queue":
		n.Queue = l.str(v, k)
	case "number":
		n.Number = l.str(v, k)
		if n.Number != "" && !e164RE.MatchString(n.Number) {
			l.errorf(v, "number %q: want E.164 with a leading + (\"+8613800138000\")", n.Number)
		}
	case "url":
		n.URL = l.template(v, k)
		l.checkURL(v, n.URL)
	case "method":
		n.Method = strings.ToUpper(l.str(v, k))
		if n.Method != "GET" && n.Method != "POST" {
			l.errorf(v, "method %q: want GET or POST", v.Value)
		}
	case "set":
		set, _ := l.mapping(v, k, "variable")
		n.Extract = map[string]string{}
		for _, p := range set {
			name := l.varName(p.key, "variable")
			path := l.str(p.val, name)
			if path != "" && slices.Contains(strings.Split(path, "."), "") {
				l.errorf(p.val, "JSON path %q: want dot-separated names such as result.segment", path)
			}
			n.Extract[name] = path
		}
	case "list":
		n.List = l.str(v, k)
		if n.List != DNCCampaign && n.List != DNCGlobal {
			l.errorf(v, "list %q: want campaign or global", n.List)
		}
	}
}

// optTemplate is a template that may be empty.
func (l *loader) optTemplate(n *yaml.Node, key string) Template {
	if isNull(n) || (n.Kind == yaml.ScalarNode && n.Value == "") {
		return Template{}
	}
	return l.template(n, key)
}

// checkURL holds a webhook URL to checkWebhookURL: a fixed scheme and host, variables in
// the path and query only.
func (l *loader) checkURL(v *yaml.Node, t Template) {
	if t.IsZero() {
		return
	}
	if pe := checkWebhookURL(t); pe != nil {
		line, col := v.Line, v.Column // about the whole URL
		if pe.off > 0 {
			line, col = offsetPos(v, pe.off)
		}
		l.add(SeverityError, line, col, "url %.80q: %s", t.String(), pe.msg)
	}
}

func (l *loader) prompt(v *yaml.Node, key string) *Prompt {
	pairs, ok := l.mapping(v, key, "key")
	if !ok {
		return nil
	}
	p := &Prompt{}
	var file, tts, voice *yaml.Node
	var fileVal, ttsVal, voiceVal *yaml.Node
	for _, kv := range pairs {
		switch kv.key.Value {
		case "file":
			file, fileVal = kv.key, kv.val
			p.File = l.template(kv.val, "file")
		case "tts":
			tts, ttsVal = kv.key, kv.val
			p.TTS = l.template(kv.val, "tts")
		case "voice":
			voice, voiceVal = kv.key, kv.val
			p.Voice = l.str(kv.val, "voice")
		default:
			l.errorf(kv.key, "unknown key %q in %s (want %s)", kv.key.Value, key, strings.Join(promptKeys, ", "))
		}
	}
	switch {
	case file == nil && tts == nil:
		l.errorf(v, "%s needs file or tts", key)
	case file != nil && tts != nil:
		l.errorf(tts, "%s has file or tts, not both", key)
	case voice != nil && tts == nil:
		l.errorf(voice, "voice applies to tts only")
	case file != nil:
		l.checkFile(fileVal, p.File)
	case tts != nil:
		l.checkTTS(ttsVal, voiceVal, p)
	}
	return p
}

// checkFile holds a prompt's file to media.CheckPrompt's grammar (see Prompt).
func (l *loader) checkFile(v *yaml.Node, t Template) {
	if t.IsZero() {
		return
	}
	if t.literal() {
		if err := media.CheckPrompt(t.String()); err != nil {
			l.errorf(v, "file: %v", err)
		}
		return
	}
	at := scalarCursor{n: v}
	for _, p := range t.parts {
		if p.isRef {
			continue
		}
		for i, r := range p.lit {
			if !isFileRune(r) {
				line, col := at.pos(p.off + i)
				l.add(SeverityError, line, col, "file: character %q: a file with variables is a sound file name, its fixed parts only letters, digits, '_', '-', '.' and '/'", r)
				return
			}
		}
	}
	if err := media.CheckPrompt(t.probe()); err != nil {
		l.errorf(v, "file: with each variable standing for a word, %v", err)
	}
}

// isFileRune reports whether r may be written in a sound file name (media.CheckPrompt).
func isFileRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '-' || r == '.' || r == '/'
}

// checkTTS holds a tts prompt's voice and written text to media.CheckPrompt's grammar;
// the values of variables are cleaned when it is played (media.CleanTTS).
func (l *loader) checkTTS(text, voice *yaml.Node, p *Prompt) {
	if voice != nil && p.Voice != "" {
		if strings.Contains(p.Voice, ":") || media.CheckPrompt(media.TTS(p.Voice, "x")) != nil {
			l.errorf(voice, "voice %.40q: want at most 32 of a-z, 0-9, '_' and '-'", p.Voice)
			return
		}
	}
	if p.TTS.IsZero() {
		return
	}
	if err := media.CheckPrompt(media.TTS(p.Voice, p.TTS.probe())); err != nil {
		l.errorf(text, "%v", err)
	}
}

// target reads a node name that a transition goes to.
func (l *loader) target(n *Node, v *yaml.Node, key, label string) string {
	s := l.str(v, key)
	n.edges = append(n.edges, edge{to: s, label: label, line: v.Line, col: v.Column})
	return s
}

func (l *loader) choices(n *Node, v *yaml.Node) {
	pairs, ok := l.mapping(v, "choices", "digit")
	if !ok {
		return
	}
	n.Choices = map[string]string{}
	for _, p := range pairs {
		d := p.key.Value
		if !isKey(d) {
			l.errorf(p.key, "choice %q: want one key, 0-9, * or # (quote * and #)", d)
			continue
		}
		n.Choices[d] = l.target(n, p.val, "choice "+d, d)
	}
	if len(pairs) == 0 {
		l.errorf(v, "choices is empty")
	}
}

func (l *loader) conditions(n *Node, v *yaml.Node) {
	if v.Kind != yaml.SequenceNode {
		l.errorf(v, "conditions: want a list of {if, then}, got %s", describe(v))
		return
	}
	if len(v.Content) == 0 {
		l.errorf(v, "conditions is empty")
	}
	for _, item := range v.Content {
		pairs, ok := l.mapping(item, "condition", "key")
		if !ok {
			continue
		}
		var c Condition
		var ifNode, thenNode *yaml.Node
		for _, p := range pairs {
			switch p.key.Value {
			case "if":
				ifNode = p.val
			case "then":
				thenNode = p.val
			default:
				l.errorf(p.key, "unknown key %q in a condition (want if, then)", p.key.Value)
			}
		}
		if ifNode == nil {
			l.errorf(item, "condition needs if")
		} else {
			c.If = l.str(ifNode, "if")
			c.expr = l.expr(ifNode, c.If)
		}
		if thenNode == nil {
			l.errorf(item, "condition needs then")
		} else {
			c.Then = l.target(n, thenNode, "then", c.If)
		}
		if c.expr != nil && thenNode != nil {
			n.Conditions = append(n.Conditions, c)
		}
	}
}

// expr parses a branch condition written in scalar v, locating errors inside it.
func (l *loader) expr(v *yaml.Node, s string) expr {
	if s == "" {
		return nil
	}
	x, err := parseExpr(s)
	var pe *posError
	if errors.As(err, &pe) {
		line, col := offsetPos(v, pe.off)
		l.add(SeverityError, line, col, "if: %s", pe.msg)
		return nil
	}
	at := scalarCursor{n: v}
	for _, o := range exprRefs(x) {
		if o.ref.kind == refVar {
			line, col := at.pos(o.off)
			l.uses = append(l.uses, varUse{o.ref.name, line, col})
		}
	}
	return x
}

// isKey reports whether s is one telephone key.
func isKey(s string) bool { return len(s) == 1 && strings.Contains("0123456789*#", s) }

func knownKey(k string) bool {
	for _, keys := range kindKeys {
		if slices.Contains(keys, k) {
			return true
		}
	}
	return false
}

func kindList() string {
	s := make([]string, len(Kinds))
	for i, k := range Kinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}
