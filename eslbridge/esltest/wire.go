package esltest

import (
	"bufio"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// maxCommandBytes bounds one command (its lines and headers) read from a client.
const maxCommandBytes = 1 << 20

var errCommandTooLong = errors.New("command too long")

// command is one client command: its first line and the header lines after it, up to
// the blank line that ends it (mod_event_socket parses it the same way).
type command struct {
	line    string
	headers map[string]string // lower-cased names
}

// readCommand reads one command. Lines end with \n or \r\n; empty lines before a command
// are skipped.
func readCommand(r *bufio.Reader) (command, error) {
	var cmd command
	total := 0
	for {
		line, err := r.ReadString('\n')
		total += len(line)
		if total > maxCommandBytes {
			return cmd, errCommandTooLong
		}
		if err != nil {
			return cmd, err
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			if cmd.line == "" {
				continue
			}
			return cmd, nil
		}
		if cmd.line == "" {
			cmd.line = line
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		if cmd.headers == nil {
			cmd.headers = make(map[string]string)
		}
		cmd.headers[strings.ToLower(strings.TrimSpace(name))] = strings.TrimSpace(value)
	}
}

// urlUnsafe is SWITCH_URL_UNSAFE (switch_utils.h): what switch_url_encode escapes in
// event header values, with every byte below ' ' or above '~'.
const urlUnsafe = "\r\n #%&+:;<=>?@[\\]^`{|}\""

func isHex(b byte) bool {
	return (b >= '0' && b <= '9') || (b >= 'A' && b <= 'F') || (b >= 'a' && b <= 'f')
}

// urlEncode encodes an event header value as FreeSWITCH does: an existing %XX sequence
// is kept, so values are not double-encoded.
func urlEncode(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b.WriteByte(c)
			continue
		}
		if c < ' ' || c > '~' || strings.IndexByte(urlUnsafe, c) >= 0 {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0x0f])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// unescapeChar is unescape_char (switch_utils.c).
func unescapeChar(c byte) byte {
	switch c {
	case 'n':
		return '\n'
	case 'r':
		return '\r'
	case 't':
		return '\t'
	case 's':
		return ' '
	}
	return c
}

// cleanup strips quotes and escapes from one separated element, as
// cleanup_separated_string does; delim 0 is the blank delimiter.
func cleanup(s string, delim byte) string {
	i := 0
	for i < len(s) && s[i] == ' ' {
		i++
	}
	out := make([]byte, 0, len(s))
	end := -1
	inQuotes := false
	for ; i < len(s); i++ {
		c := s[i]
		if c == '\\' && i+1 < len(s) {
			e := s[i+1]
			if e == '\'' || e == '"' || (delim != 0 && e == delim) || e == '\\' || unescapeChar(e) != e {
				i++
				out = append(out, unescapeChar(e))
				end = len(out)
				continue
			}
		}
		if c == '\'' && (inQuotes || strings.IndexByte(s[i+1:], '\'') >= 0) {
			inQuotes = !inQuotes
			if inQuotes {
				end = len(out)
			}
			continue
		}
		out = append(out, c)
		if c != ' ' || inQuotes {
			end = len(out)
		}
	}
	if end < 0 {
		return string(out)
	}
	return string(out[:end])
}

// splitArgs splits like switch_separate_string(buf, ' ', ...): runs of blanks separate,
// single quotes group, a backslash protects the next byte; at most max elements.
func splitArgs(s string, max int) []string {
	var parts []string
	i := 0
	for i < len(s) && len(parts) < max {
		for i < len(s) && s[i] == ' ' {
			i++
		}
		if i >= len(s) {
			break
		}
		start := i
		inQuotes := false
		for i < len(s) {
			c := s[i]
			if c == '\\' {
				i += 2
				continue
			}
			if c == '\'' {
				inQuotes = !inQuotes
			} else if c == ' ' && !inQuotes && len(parts) < max-1 {
				break
			}
			i++
		}
		if i > len(s) {
			i = len(s)
		}
		parts = append(parts, s[start:i])
	}
	for k := range parts {
		parts[k] = cleanup(parts[k], 0)
	}
	return parts
}

// splitDelim splits like switch_separate_string with a non-blank delimiter.
func splitDelim(s string, delim byte, max int) []string {
	var parts []string
	start := 0
	inQuotes := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\':
			i++
		case c == '\'' && (inQuotes || strings.IndexByte(s[i+1:], '\'') >= 0):
			inQuotes = !inQuotes
		case c == delim && !inQuotes && len(parts) < max-1:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	parts = append(parts, s[start:])
	for k := range parts {
		parts[k] = cleanup(parts[k], delim)
	}
	return parts
}

// findEndParen is switch_find_end_paren: the index of the bracket closing s[0], or -1.
func findEndParen(s string, open, close byte) int {
	if s == "" || s[0] != open {
		return -1
	}
	depth := 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == open && open != close:
			depth++
		case s[i] == close:
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// variable is one channel variable, in the order it was set.
type variable struct{ name, value string }

// parseBlock parses the name=value list of one {} or [] block.
func parseBlock(block string) []variable {
	var vars []variable
	for _, item := range splitDelim(block, ',', 1024) {
		nv := splitDelim(item, '=', 2)
		if len(nv) == 2 && nv[0] != "" {
			vars = append(vars, variable{nv[0], nv[1]})
		}
	}
	return vars
}

// dialRequest is a parsed originate argument list.
type dialRequest struct {
	vars     []variable // {} then [] variables, in order
	endpoint string     // the dial string without its variable blocks
	app      string     // &park() or an extension
}

// parseOriginate parses `originate <{vars}[vars]dialstring> <&app()|ext> ...` arguments
// (after the word originate) the way mod_commands and switch_ivr_originate do.
func parseOriginate(args string) (dialRequest, error) {
	var req dialRequest
	argv := splitArgs(args, 10)
	if len(argv) < 2 || len(argv) > 7 {
		return req, fmt.Errorf("usage")
	}
	aleg := argv[0]
	req.app = argv[1]
	for strings.HasPrefix(aleg, "{") || strings.HasPrefix(aleg, "[") || strings.HasPrefix(aleg, "<") {
		open := aleg[0]
		close := map[byte]byte{'{': '}', '[': ']', '<': '>'}[open]
		end := findEndParen(aleg, open, close)
		if end < 0 {
			return req, fmt.Errorf("unbalanced %c", open)
		}
		req.vars = append(req.vars, parseBlock(aleg[1:end])...)
		aleg = aleg[end+1:]
	}
	if aleg == "" {
		return req, fmt.Errorf("empty dial string")
	}
	// Only the first leg of a ',' or '|' list is dialed by the fake.
	if i := strings.IndexAny(aleg, ",|"); i >= 0 {
		aleg = aleg[:i]
	}
	if aleg == "" {
		return req, fmt.Errorf("empty dial string")
	}
	req.endpoint = aleg
	return req, nil
}

// destination is the number a dial string reaches: its last path element without an
// @host suffix, and without a leading '+'.
func destination(endpoint string) string {
	d := endpoint
	if i := strings.LastIndexByte(d, '/'); i >= 0 {
		d = d[i+1:]
	}
	if i := strings.IndexByte(d, '@'); i >= 0 {
		d = d[:i]
	}
	return strings.TrimPrefix(d, "+")
}

// apiResponse is the api/response frame (Content-Type first, then Content-Length, as
// mod_event_socket's api_exec writes it). An empty reply becomes "-ERR no reply\n".
func apiResponse(body string) []byte {
	if body == "" {
		body = "-ERR no reply\n"
	}
	return []byte("Content-Type: api/response\nContent-Length: " + strconv.Itoa(len(body)) + "\n\n" + body)
}

// eventFrame wraps a serialized event (text/event-plain: Content-Length first).
func eventFrame(payload string) []byte {
	return []byte("Content-Length: " + strconv.Itoa(len(payload)) + "\nContent-Type: text/event-plain\n\n" + payload)
}

// reply is a command/reply frame; extra are more header lines.
func reply(text string, extra ...string) []byte {
	var b strings.Builder
	b.WriteString("Content-Type: command/reply\nReply-Text: ")
	b.WriteString(text)
	b.WriteByte('\n')
	for _, h := range extra {
		b.WriteString(h)
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	return []byte(b.String())
}

// disconnectNotice is the text/disconnect-notice frame mod_event_socket sends before it
// closes an inbound connection (send_disconnect).
func disconnectNotice() []byte {
	const msg = "Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"
	return []byte("Content-Type: text/disconnect-notice\nContent-Length: " + strconv.Itoa(len(msg)) + "\n\n" + msg)
}

// Originate is an originate command's arguments as FreeSWITCH reads them.
type Originate struct {
	Vars map[string]string // channel variables of the {} [] <> blocks (the last value of a name)
	Leg  string            // the whole dial string after the blocks, every leg included
	App  string            // the second argument: &park() or an extension
}

// ParseOriginate reads `originate` arguments the way mod_commands and switch_ivr_originate
// do, for tests that check what a built command means to FreeSWITCH.
func ParseOriginate(args string) (Originate, error) {
	argv := splitArgs(args, 10)
	if len(argv) != 2 {
		return Originate{}, fmt.Errorf("%d arguments, want 2", len(argv))
	}
	o := Originate{Vars: map[string]string{}, App: argv[1]}
	aleg := argv[0]
	for strings.HasPrefix(aleg, "{") || strings.HasPrefix(aleg, "[") || strings.HasPrefix(aleg, "<") {
		open := aleg[0]
		end := findEndParen(aleg, open, map[byte]byte{'{': '}', '[': ']', '<': '>'}[open])
		if end < 0 {
			return Originate{}, fmt.Errorf("unbalanced %c", open)
		}
		for _, v := range parseBlock(aleg[1:end]) {
			o.Vars[v.name] = v.value
		}
		aleg = aleg[end+1:]
	}
	o.Leg = aleg
	return o, nil
}

// Args splits a command's arguments the way mod_commands does (blanks separate, quotes
// group, backslashes escape), for tests that check what a command means to FreeSWITCH.
func Args(s string) []string { return splitArgs(s, 64) }
