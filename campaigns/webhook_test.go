package campaigns

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// hookServer is a loopback HTTP server that records the requests it receives.
type hookServer struct {
	*httptest.Server
	mu     sync.Mutex
	bodies []string
}

func newHookServer(t *testing.T, h http.HandlerFunc) *hookServer {
	t.Helper()
	s := &hookServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.bodies = append(s.bodies, r.Method+" "+r.URL.RequestURI()+" "+string(b))
		s.mu.Unlock()
		if h != nil {
			h(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok": true}`)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *hookServer) received() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.bodies...)
}

// runWebhookFlow runs a one-call campaign whose flow posts to url under policy, and
// returns the results of the flow's "post" node ("ok" or "failed").
func runWebhookFlow(t *testing.T, url string, policy WebhookPolicy) map[string]int {
	t.Helper()
	ctx := context.Background()
	s := NewStore(db.DB)
	id := strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
	src := fmt.Sprintf("id: %s\nversion: 1\nstart: post\nnodes:\n  post:\n    kind: webhook\n    url: %q\n    timeout: 10s\n"+
		"    next: ok\n    on_error: failed\n  ok: {kind: hangup}\n  failed: {kind: hangup}\n", id, url)
	if _, problems, err := s.PublishFlow(ctx, id, []byte(src), time.Now()); err != nil {
		t.Fatalf("publish: %v %v", err, problems)
	}
	c := newCampaign(t, s, Campaign{Flow: id, MaxConcurrent: 1, CallsPerSecond: 100, MaxAttempts: 1}, "+8613800138000")
	startController(t, "ctl-"+id, newScriptNode(), Config{Webhooks: policy})
	if _, err := s.Act(ctx, c.ID, "start", time.Now()); err != nil {
		t.Fatal(err)
	}
	waitState(t, s, c.ID, StateCompleted)
	res, err := s.FlowResults(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	return res.Nodes["post"]
}

// TestWebhookRefusedToLoopbackByDefault: a flow's webhook to the controller's own
// network fails, and nothing reaches the server.
func TestWebhookRefusedToLoopbackByDefault(t *testing.T) {
	srv := newHookServer(t, nil)
	got := runWebhookFlow(t, srv.URL+"/hook?n={{call.number}}", WebhookPolicy{})
	if got["failed"] != 1 || got["ok"] != 0 {
		t.Errorf("post node results %v, want the webhook failed", got)
	}
	if r := srv.received(); len(r) > 0 {
		t.Errorf("the server received %q", r)
	}
}

// TestWebhookAllowPrivatePostsAMaskedNumber: with private addresses allowed the webhook
// goes through, and its body shows only the number's country code and last 4 digits.
func TestWebhookAllowPrivatePostsAMaskedNumber(t *testing.T) {
	srv := newHookServer(t, nil)
	got := runWebhookFlow(t, srv.URL+"/hook", WebhookPolicy{AllowPrivate: true})
	if got["ok"] != 1 {
		t.Fatalf("post node results %v, want ok", got)
	}
	r := srv.received()
	if len(r) != 1 {
		t.Fatalf("received %q, want one request", r)
	}
	_, body, _ := strings.Cut(r[0], " /hook ")
	var b struct{ Number string }
	if err := json.Unmarshal([]byte(body), &b); err != nil || b.Number != "+86*******8000" {
		t.Errorf("body %s: number %q, want +86*******8000 (%v)", body, b.Number, err)
	}
	if strings.Contains(body, "13800138000") {
		t.Errorf("body %s shows the whole number", body)
	}
}

// TestWebhookAllowHosts: a host not on the allow-list is refused before connecting.
func TestWebhookAllowHosts(t *testing.T) {
	srv := newHookServer(t, nil)
	got := runWebhookFlow(t, srv.URL+"/hook", WebhookPolicy{AllowPrivate: true, AllowHosts: []string{"crm.example.com", "*.example.net"}})
	if got["failed"] != 1 || len(srv.received()) > 0 {
		t.Errorf("post node results %v, received %q: want refused", got, srv.received())
	}
}

// TestWebhookRedirectToAnotherHostNotFollowed: a redirect elsewhere fails the webhook
// and the other host receives nothing.
func TestWebhookRedirectToAnotherHostNotFollowed(t *testing.T) {
	other := newHookServer(t, nil)
	otherURL, _ := url.Parse(other.URL)
	srv := newHookServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://localhost:"+otherURL.Port()+"/stolen", http.StatusTemporaryRedirect)
	})
	got := runWebhookFlow(t, srv.URL+"/hook", WebhookPolicy{AllowPrivate: true})
	if got["failed"] != 1 {
		t.Errorf("post node results %v, want failed", got)
	}
	if r := other.received(); len(r) > 0 {
		t.Errorf("the other host received %q", r)
	}
}

// TestWebhookRedirects: redirects are followed on the same host, at most 3.
func TestWebhookRedirects(t *testing.T) {
	srv := newHookServer(t, func(w http.ResponseWriter, r *http.Request) {
		var n int
		if _, err := fmt.Sscanf(r.URL.Path, "/r/%d", &n); err == nil && n > 0 {
			http.Redirect(w, r, fmt.Sprintf("/r/%d", n-1), http.StatusFound)
			return
		}
		io.WriteString(w, "{}")
	})
	client := WebhookPolicy{AllowPrivate: true}.client()
	for _, tt := range []struct {
		hops int
		ok   bool
	}{{0, true}, {3, true}, {4, false}} {
		resp, err := client.Get(fmt.Sprintf("%s/r/%d", srv.URL, tt.hops))
		if err == nil {
			resp.Body.Close()
		}
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, errWebhookBlocked)) {
			t.Errorf("%d redirects: %v, want ok %v", tt.hops, err, tt.ok)
		}
	}
}

// TestWebhookRefusedAtConnect: the policy is applied to the address connected to, after
// name resolution, not to the URL's text.
func TestWebhookRefusedAtConnect(t *testing.T) {
	srv := newHookServer(t, nil)
	u, _ := url.Parse(srv.URL)
	client := WebhookPolicy{}.client()
	for _, target := range []string{srv.URL, "http://localhost:" + u.Port() + "/", "http://169.254.169.254/latest/meta-data/",
		"http://[::1]:" + u.Port() + "/", "http://0.0.0.0:" + u.Port() + "/"} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		req, _ := http.NewRequestWithContext(ctx, "GET", target, nil)
		resp, err := client.Do(req)
		cancel()
		if err == nil {
			resp.Body.Close()
		}
		if !errors.Is(err, errWebhookBlocked) {
			t.Errorf("GET %s: %v, want refused by the policy", target, err)
		}
	}
	if r := srv.received(); len(r) > 0 {
		t.Errorf("the server received %q", r)
	}
	resp, err := WebhookPolicy{AllowPrivate: true}.client().Get(srv.URL)
	if err != nil {
		t.Fatalf("with allow_private: %v", err)
	}
	resp.Body.Close()
}

func TestWebhookBlockedAddresses(t *testing.T) {
	for _, tt := range []struct {
		ip      string
		blocked bool
	}{
		{"127.0.0.1", true}, {"127.1.2.3", true}, {"10.1.2.3", true}, {"172.16.0.1", true}, {"172.31.255.255", true},
		{"192.168.1.1", true}, {"169.254.169.254", true}, {"100.100.100.200", true}, {"0.0.0.0", true},
		{"224.0.0.1", true}, {"255.255.255.255", true}, {"::", true}, {"::1", true}, {"fe80::1", true},
		{"fe80::1%eth0", true}, {"fc00::1", true}, {"fd12:3456::1", true}, {"ff02::1", true},
		{"::ffff:127.0.0.1", true}, {"::ffff:169.254.169.254", true}, {"64:ff9b::a9fe:a9fe", true},
		{"2002:7f00:1::1", true}, {"::127.0.0.1", true},
		{"8.8.8.8", false}, {"172.32.0.1", false}, {"203.0.113.7", false}, {"2001:4860:4860::8888", false},
		{"64:ff9b::808:808", false}, {"::ffff:8.8.8.8", false},
	} {
		if got := blockedAddr(netip.MustParseAddr(tt.ip)) != ""; got != tt.blocked {
			t.Errorf("%s: blocked %v, want %v", tt.ip, got, tt.blocked)
		}
	}
}

func TestWebhookPolicyAllows(t *testing.T) {
	p := WebhookPolicy{AllowHosts: []string{"crm.example.com", "API.example.org:8443", "*.hooks.example.net", "[2001:db8::1]:443", "203.0.113.7"}}
	for _, tt := range []struct {
		url string
		ok  bool
	}{
		{"https://crm.example.com/x", true}, {"http://CRM.example.com:8080/x", true},
		{"https://api.example.org:8443/", true}, {"https://api.example.org/", false},
		{"https://a.hooks.example.net/", true}, {"https://a.b.hooks.example.net/", true}, {"https://hooks.example.net/", false},
		{"https://evilhooks.example.net/", false}, {"https://[2001:db8::1]/", true}, {"http://[2001:db8::1]/", false},
		{"http://203.0.113.7:81/", true}, {"http://crm.example.com.evil.example/", false}, {"http://127.0.0.1/", false},
	} {
		u, _ := url.Parse(tt.url)
		if got := p.allows(u); got != tt.ok {
			t.Errorf("%s: allowed %v, want %v", tt.url, got, tt.ok)
		}
	}
	if !(WebhookPolicy{}).allows(&url.URL{Scheme: "http", Host: "anything.example"}) {
		t.Error("an empty allow-list allows any host")
	}
}

func TestWebhookPolicyValidate(t *testing.T) {
	good := WebhookPolicy{AllowHosts: []string{"crm.example.com", "crm.example.com:8443", "*.example.com", "::1", "[::1]:8080", "10.0.0.5"}}
	if err := good.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	for _, bad := range []string{"", "*", "http://crm.example.com", "crm.example.com:0", "crm.example.com:x", "a*.example.com", "user@host", "*.*.example.com"} {
		if err := (WebhookPolicy{AllowHosts: []string{bad}}).Validate(); err == nil {
			t.Errorf("Validate(%q) = nil, want an error", bad)
		}
	}
}

func TestWebhookMaskNumber(t *testing.T) {
	for in, want := range map[string]string{
		"+8613800138000": "+86*******8000",
		"+14155552671":   "+1******2671",
		"+85251234567":   "+852****4567",
		"13800138000":    "", // not E.164: the interpreter keeps the last 4 digits
		"":               "",
	} {
		if got := maskNumber(in); got != want {
			t.Errorf("maskNumber(%q) = %q, want %q", in, got, want)
		}
	}
}
