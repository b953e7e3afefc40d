package ivr

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// A webhook URL is where a call's data goes, so its destination is fixed when the flow is
// published: the scheme (http or https) and the host[:port] are written out, and
// variables may only fill in the path and the query. The campaigns engine then holds the
// host to its allow-list and never connects to a private address unless told to.
//
// checkWebhookURL enforces this on a parsed template:
//
//   - the text before the first {{ holds "http://" or "https://" and the whole authority,
//     up to the '/' or '?' that ends it;
//   - the authority has no user info (user@) and its host is an ASCII DNS name whose last
//     label starts with a letter, a dotted-quad IPv4 address or a bracketed IPv6 address
//     (so no "0x7f.1" or "2130706433" that some resolvers read as 127.0.0.1), with an
//     optional port 1-65535;
//   - no variable is in the #fragment (it is never sent);
//   - with every variable standing for a word, the URL parses, keeps that host and has no
//     "." or ".." path segment.
//
// It returns nil or the problem with its byte offset in the template.
func checkWebhookURL(t Template) *posError {
	src := t.src
	fixed := len(src) // the end of the text before the first variable
	if i := strings.Index(src, "{{"); i >= 0 {
		fixed = i
	}
	head := src[:fixed]
	sep := strings.Index(head, "://")
	switch {
	case sep < 0 && fixed < len(src):
		return hostTemplated(fixed)
	case sep < 0:
		return &posError{off: 0, msg: "want an http:// or https:// URL"}
	}
	if scheme := strings.ToLower(head[:sep]); scheme != "http" && scheme != "https" {
		return &posError{off: 0, msg: "want an http:// or https:// URL"}
	}
	start := sep + len("://")
	end := strings.IndexAny(head[start:], "/?#")
	if end < 0 {
		if fixed < len(src) {
			return hostTemplated(fixed)
		}
		end = len(head)
	} else {
		end += start
	}
	if start == end {
		return &posError{off: 0, msg: "want an http:// or https:// URL with a host"}
	}
	if err := checkAuthority(head[start:end]); err != nil {
		return &posError{off: start + err.off, msg: err.msg}
	}
	section := sectionPath
	for _, p := range t.parts {
		if !p.isRef {
			section = section.after(p.lit)
			continue
		}
		if section == sectionFragment {
			return &posError{off: p.off, msg: "a variable in the #fragment of a webhook URL is never sent: put it in the query"}
		}
	}
	probe, err := t.renderURL(env{}, func(string) string { return "x" })
	if err != nil {
		return &posError{off: 0, msg: err.Error()}
	}
	if u, err := url.Parse(probe); err != nil || !strings.EqualFold(u.Host, head[start:end]) {
		return &posError{off: 0, msg: "not a valid URL"} // renderURL parsed it: not reached
	}
	return nil
}

func hostTemplated(off int) *posError {
	return &posError{off: off, msg: "a webhook's scheme and host are fixed when the flow is published: variables may only be in the path or the query"}
}

// checkAuthority checks host[:port]; the error's offset is within a.
func checkAuthority(a string) *posError {
	if i := strings.IndexByte(a, '@'); i >= 0 {
		return &posError{off: i, msg: "user info (user@host) is not allowed in a webhook URL: send credentials in the query, or keep them out of the flow"}
	}
	host, port := a, ""
	if strings.HasPrefix(a, "[") {
		i := strings.Index(a, "]")
		if i < 0 {
			return &posError{off: 0, msg: "want [IPv6 address] with its closing ]"}
		}
		ip, err := netip.ParseAddr(a[1:i])
		if err != nil || !ip.Is6() || ip.Zone() != "" || ip.Is4In6() {
			return &posError{off: 1, msg: fmt.Sprintf("%q is not an IPv6 address", a[1:i])}
		}
		host, port = a[:i+1], a[i+1:]
		if port != "" && port[0] != ':' {
			return &posError{off: i + 1, msg: "want :port after the IPv6 address"}
		}
		port = strings.TrimPrefix(port, ":")
	} else if i := strings.LastIndex(a, ":"); i >= 0 {
		host, port = a[:i], a[i+1:]
		if port == "" {
			return &posError{off: i, msg: "empty port"}
		}
	}
	if port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || port[0] == '0' || port[0] == '+' {
			return &posError{off: len(a) - len(port), msg: fmt.Sprintf("port %q: want 1 to 65535", port)}
		}
	}
	if strings.HasPrefix(host, "[") {
		return nil
	}
	if !validHost(host) {
		return &posError{off: 0, msg: fmt.Sprintf("host %q: want a DNS name (ASCII letters, digits, '-' and dots, the last label starting with a letter) or an IP address such as 203.0.113.7", host)}
	}
	return nil
}

// validHost reports whether h is a dotted-quad IPv4 address or an ASCII DNS name whose last
// label starts with a letter.
func validHost(h string) bool {
	if ip, err := netip.ParseAddr(h); err == nil {
		return ip.Is4()
	}
	if h == "" || len(h) > 253 {
		return false
	}
	labels := strings.Split(h, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	last := labels[len(labels)-1][0]
	return last >= 'a' && last <= 'z' || last >= 'A' && last <= 'Z'
}

// urlSection is where a variable of a webhook URL stands.
type urlSection int

const (
	sectionPath urlSection = iota
	sectionQuery
	sectionFragment
)

// after returns the section that follows literal text lit written in s.
func (s urlSection) after(lit string) urlSection {
	for i := 0; i < len(lit); i++ {
		switch {
		case lit[i] == '#':
			return sectionFragment
		case lit[i] == '?' && s == sectionPath:
			s = sectionQuery
		}
	}
	return s
}

// renderURL expands a webhook URL that checkWebhookURL accepted. Each value is escaped
// for where it stands: url.PathEscape in the path (so a value stays inside its segment:
// '/', '?', '#' and '%' are escaped), url.QueryEscape in the query. A value that makes a
// whole path segment "." or ".." is refused, since servers resolve them. value, when not
// nil, replaces every variable's value (the loader's probe).
func (t Template) renderURL(e env, value func(string) string) (string, error) {
	var b strings.Builder
	section := sectionPath
	for _, p := range t.parts {
		if !p.isRef {
			b.WriteString(p.lit)
			section = section.after(p.lit)
			continue
		}
		v := e.lookup(p.ref)
		if value != nil {
			v = value(v)
		}
		if section == sectionPath {
			b.WriteString(url.PathEscape(v))
		} else {
			b.WriteString(url.QueryEscape(v))
		}
	}
	s := b.String()
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("not a valid URL: %w", errors.Unwrap(err))
	}
	for _, seg := range strings.Split(u.EscapedPath(), "/") {
		if seg == "." || seg == ".." {
			return "", errors.New(`a webhook URL's path may not have a "." or ".." segment`)
		}
	}
	return s, nil
}
