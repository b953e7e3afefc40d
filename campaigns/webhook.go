package campaigns

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nyaruka/phonenumbers"
)

// WebhookPolicy says where flow webhooks may connect. The flow loader already fixes each
// webhook's scheme and host when the flow is published (variables only in the path and
// query); this is the controller's side.
type WebhookPolicy struct {
	// AllowHosts, when not empty, are the only hosts webhooks may call: "host" (any port),
	// "host:port", "[v6 address]:port", or "*.example.com" (any name under example.com,
	// not example.com itself). Names compare case-insensitively.
	AllowHosts []string
	// AllowPrivate lets webhooks connect to loopback, private (10/8, 172.16/12,
	// 192.168/16, fc00::/7), shared (100.64/10), link-local (169.254/16 with the cloud
	// metadata service 169.254.169.254, fe80::/10), unspecified, multicast and reserved
	// addresses. Off by default: a flow's webhook cannot reach the controller's own
	// network. The address is checked when connecting (net.Dialer.Control), after DNS,
	// so a name that resolves, or re-resolves, to such an address is refused too.
	AllowPrivate bool
}

// Limits of webhook requests.
const (
	maxWebhookRedirects = 3 // each to the same host and port as the request
	webhookDialTimeout  = 5 * time.Second
)

// Validate reports a malformed AllowHosts entry.
func (p WebhookPolicy) Validate() error {
	var errs []error
	for i, h := range p.AllowHosts {
		if _, _, err := splitAllowHost(h); err != nil {
			errs = append(errs, fmt.Errorf("allow_hosts[%d] %q: %w", i, h, err))
		}
	}
	return errors.Join(errs...)
}

// splitAllowHost splits an AllowHosts entry into a lower-case host and a port ("" for any).
func splitAllowHost(entry string) (host, port string, err error) {
	host = entry
	if h, p, err := net.SplitHostPort(entry); err == nil {
		host, port = h, p
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return "", "", errors.New("want a port from 1 to 65535")
		}
	} else if strings.HasPrefix(entry, "[") && strings.HasSuffix(entry, "]") {
		host = entry[1 : len(entry)-1]
	}
	host = strings.ToLower(host)
	name := strings.TrimPrefix(host, "*.")
	if _, err := netip.ParseAddr(name); err == nil && name == host {
		return host, port, nil
	}
	if name == "" || strings.ContainsAny(name, "*/@:[] ") {
		return "", "", errors.New("want host, host:port or *.example.com")
	}
	return host, port, nil
}

// allows reports whether u's host is on the allow-list (any host when it is empty).
func (p WebhookPolicy) allows(u *url.URL) bool {
	if len(p.AllowHosts) == 0 {
		return true
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	for _, entry := range p.AllowHosts {
		h, hp, err := splitAllowHost(entry)
		if err != nil || (hp != "" && hp != port) {
			continue
		}
		if suffix, ok := strings.CutPrefix(h, "*"); ok {
			if strings.HasSuffix(host, suffix) && len(host) > len(suffix) {
				return true
			}
		} else if h == host {
			return true
		}
	}
	return false
}

// blockedNets are the destinations a webhook may not connect to without AllowPrivate,
// with why. IPv4-mapped IPv6 addresses are checked as IPv4; NAT64 and 6to4 addresses by
// the IPv4 address inside them.
var blockedNets = []struct {
	prefix netip.Prefix
	why    string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "this network (0.0.0.0 reaches the host itself)"},
	{netip.MustParsePrefix("10.0.0.0/8"), "private"},
	{netip.MustParsePrefix("100.64.0.0/10"), "shared address space (carrier NAT; some clouds' metadata service)"},
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback"},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local (the cloud metadata service 169.254.169.254)"},
	{netip.MustParsePrefix("172.16.0.0/12"), "private"},
	{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol assignments"},
	{netip.MustParsePrefix("192.168.0.0/16"), "private"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking"},
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved and broadcast"},
	{netip.MustParsePrefix("::/96"), "unspecified, loopback or IPv4-compatible"},
	{netip.MustParsePrefix("fc00::/7"), "private (unique local)"},
	{netip.MustParsePrefix("fe80::/10"), "link-local"},
	{netip.MustParsePrefix("fec0::/10"), "site-local"},
	{netip.MustParsePrefix("ff00::/8"), "multicast"},
}

var (
	nat64 = netip.MustParsePrefix("64:ff9b::/96")
	six4  = netip.MustParsePrefix("2002::/16")
)

// blockedAddr returns why a webhook may not connect to ip without AllowPrivate, or "".
func blockedAddr(ip netip.Addr) string {
	ip = ip.Unmap().WithZone("")
	if ip.Is6() {
		b := ip.As16()
		switch {
		case nat64.Contains(ip):
			if why := blockedAddr(netip.AddrFrom4([4]byte(b[12:16]))); why != "" {
				return why + ", through NAT64"
			}
		case six4.Contains(ip):
			if why := blockedAddr(netip.AddrFrom4([4]byte(b[2:6]))); why != "" {
				return why + ", through 6to4"
			}
		}
	}
	for _, n := range blockedNets {
		if n.prefix.Contains(ip) {
			return n.why
		}
	}
	return ""
}

// errWebhookBlocked marks a webhook refused by the policy: no request was sent.
var errWebhookBlocked = errors.New("refused by the webhook policy")

// control is the webhook dialer's net.Dialer.Control: it sees the address about to be
// connected to, after name resolution.
func (p WebhookPolicy) control(_, address string, _ syscall.RawConn) error {
	if p.AllowPrivate {
		return nil
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", address, errWebhookBlocked)
	}
	if why := blockedAddr(ap.Addr()); why != "" {
		return fmt.Errorf("connect to %s, a %s address (webhooks.allow_private is off): %w", ap.Addr(), why, errWebhookBlocked)
	}
	return nil
}

// client returns the HTTP client webhooks use under p: no proxy (the policy checks the
// address actually connected to), the dialer's Control, and redirects followed only to
// the same scheme-or-better, host and port, at most maxWebhookRedirects of them.
func (p WebhookPolicy) client() *http.Client {
	dialer := &net.Dialer{Timeout: webhookDialTimeout, KeepAlive: 30 * time.Second, Control: p.control}
	return &http.Client{
		Transport: &http.Transport{
			Proxy:                 nil,
			DialContext:           dialer.DialContext,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          100,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   webhookDialTimeout,
			ExpectContinueTimeout: time.Second,
		},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			first := via[0].URL
			switch {
			case len(via) > maxWebhookRedirects:
				return fmt.Errorf("more than %d redirects: %w", maxWebhookRedirects, errWebhookBlocked)
			case !strings.EqualFold(req.URL.Host, first.Host):
				return fmt.Errorf("redirect from %s to another host, %s: %w", first.Host, req.URL.Host, errWebhookBlocked)
			case first.Scheme == "https" && req.URL.Scheme != "https":
				return fmt.Errorf("redirect from https to %s: %w", req.URL.Scheme, errWebhookBlocked)
			}
			return nil
		},
	}
}

// check refuses, before any connection, a webhook URL that is not http(s) or whose host
// is not on the allow-list.
func (p WebhookPolicy) check(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("url: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return fmt.Errorf("url %s: want http(s)://host/...: %w", u.Redacted(), errWebhookBlocked)
	}
	if !p.allows(u) {
		return fmt.Errorf("host %s is not in webhooks.allow_hosts: %w", u.Host, errWebhookBlocked)
	}
	return nil
}

// maskNumber is a number as masked webhook bodies show it: the country code and the last
// 4 digits, every other digit a '*' ("+8613800138000" gives "+86*******8000"). A number
// that is not E.164 keeps only its last 4 digits.
func maskNumber(e164 string) string {
	if num, err := phonenumbers.Parse(e164, ""); err == nil && num.GetCountryCode() != 0 && strings.HasPrefix(e164, "+") {
		national := phonenumbers.GetNationalSignificantNumber(num)
		keep := min(4, len(national))
		return "+" + strconv.Itoa(int(num.GetCountryCode())) + strings.Repeat("*", len(national)-keep) + national[len(national)-keep:]
	}
	return "" // the interpreter's own mask: the last 4 digits
}
