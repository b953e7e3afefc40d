package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/callplane/callplane/campaigns"
	"github.com/callplane/callplane/campaigns/compliance"
	"github.com/callplane/callplane/controller/api"
	"github.com/callplane/callplane/media"
)

// Config is callplane's configuration: a YAML file (configs/callplane.example.yaml documents
// every field) with environment overrides for addresses and secrets.
type Config struct {
	HTTP     HTTPConfig     `yaml:"http"`
	Database DatabaseConfig `yaml:"database"`
	Auth     AuthConfig     `yaml:"auth"`
	Contacts ContactsConfig `yaml:"contacts"`
	Dialer   DialerConfig   `yaml:"dialer"`
	Media    MediaConfig    `yaml:"media"`
	Demo     DemoConfig     `yaml:"demo"`
	// Compliance adds or replaces calling-hour rule packs and holiday calendars.
	Compliance ComplianceConfig `yaml:"compliance"`
	// FlowsDir holds IVR flow files (*.yaml) published at start as new versions when they
	// changed; default configs/flows (skipped when it does not exist).
	FlowsDir string    `yaml:"flows_dir"`
	Log      LogConfig `yaml:"log"`
	// Webhooks says where IVR flow webhooks may connect.
	Webhooks WebhooksConfig `yaml:"webhooks"`
}

// WebhooksConfig: where IVR flow webhooks may connect (campaigns.WebhookPolicy). A
// flow's webhook host is fixed when it is published; this bounds which hosts those may be.
type WebhooksConfig struct {
	// AllowHosts, when not empty, are the only hosts webhooks may call: host (any port),
	// host:port or *.example.com (any name under it). Default: any public host.
	AllowHosts []string `yaml:"allow_hosts"`
	// AllowPrivate lets webhooks connect to loopback, private, link-local (cloud
	// metadata 169.254.169.254), unspecified and multicast addresses, checked when
	// connecting (after DNS). Default false: only public addresses.
	AllowPrivate bool `yaml:"allow_private"`
}

func (w WebhooksConfig) policy() campaigns.WebhookPolicy {
	return campaigns.WebhookPolicy{AllowHosts: w.AllowHosts, AllowPrivate: w.AllowPrivate}
}

// HTTPConfig: the REST API listener. The timeouts bound how long a client may hold a
// connection; contact uploads and the event stream set their own (see the fields).
type HTTPConfig struct {
	Addr string `yaml:"addr"` // default 127.0.0.1:8080; env CALLPLANE_HTTP_ADDR
	// ReadHeaderTimeout: a request's headers must arrive within it; default 10s (or
	// read_timeout when shorter).
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	// ReadTimeout: a whole request, headers and body, must arrive within it; default 30s.
	ReadTimeout time.Duration `yaml:"read_timeout"`
	// WriteTimeout: from the end of a request's headers to the end of its answer;
	// default 60s.
	WriteTimeout time.Duration `yaml:"write_timeout"`
	// IdleTimeout: a kept-alive connection with no request is closed after it; default 120s.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// UploadTimeout replaces ReadTimeout and WriteTimeout for contact and do-not-call
	// uploads (up to 256 MiB): the whole request and its answer; default 10m (or the
	// longer of read_timeout and write_timeout).
	UploadTimeout time.Duration `yaml:"upload_timeout"`
	// MaxConnsPerIP: connections one client address may hold open; more are closed as
	// they are accepted (behind a proxy every client has the proxy's address: raise it);
	// default 64.
	MaxConnsPerIP int `yaml:"max_conns_per_ip"`
	// MaxEventStreams: concurrent GET /api/v1/events streams (which no timeout ends);
	// one more is answered 503; default 100.
	MaxEventStreams int `yaml:"max_event_streams"`
}

// Defaults of HTTPConfig.
const (
	defaultReadHeaderTimeout = 10 * time.Second
	defaultReadTimeout       = 30 * time.Second
	defaultWriteTimeout      = 60 * time.Second
	defaultIdleTimeout       = 120 * time.Second
	defaultMaxConnsPerIP     = 64
)

func (h *HTTPConfig) defaults() {
	if h.Addr == "" {
		h.Addr = "127.0.0.1:8080"
	}
	orDefault := func(v *time.Duration, def time.Duration) {
		if *v == 0 {
			*v = def
		}
	}
	orDefault(&h.ReadTimeout, defaultReadTimeout)
	orDefault(&h.ReadHeaderTimeout, min(defaultReadHeaderTimeout, h.ReadTimeout))
	orDefault(&h.WriteTimeout, defaultWriteTimeout)
	orDefault(&h.IdleTimeout, defaultIdleTimeout)
	orDefault(&h.UploadTimeout, max(api.DefaultUploadTimeout, h.ReadTimeout, h.WriteTimeout))
	if h.MaxConnsPerIP == 0 {
		h.MaxConnsPerIP = defaultMaxConnsPerIP
	}
	if h.MaxEventStreams == 0 {
		h.MaxEventStreams = api.DefaultEventStreams
	}
}

func (h *HTTPConfig) validate() []error {
	var errs []error
	if _, _, err := net.SplitHostPort(h.Addr); err != nil {
		errs = append(errs, fmt.Errorf("http.addr %q: %w", h.Addr, err))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"read_header_timeout", h.ReadHeaderTimeout}, {"read_timeout", h.ReadTimeout},
		{"write_timeout", h.WriteTimeout}, {"idle_timeout", h.IdleTimeout}, {"upload_timeout", h.UploadTimeout},
	} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("http.%s %v: must not be negative", d.name, d.v))
		}
	}
	if h.ReadHeaderTimeout > h.ReadTimeout {
		errs = append(errs, fmt.Errorf("http.read_header_timeout %v: must not exceed read_timeout %v", h.ReadHeaderTimeout, h.ReadTimeout))
	}
	if h.UploadTimeout < h.ReadTimeout || h.UploadTimeout < h.WriteTimeout {
		errs = append(errs, fmt.Errorf("http.upload_timeout %v: must be at least read_timeout and write_timeout", h.UploadTimeout))
	}
	if h.MaxConnsPerIP < 1 {
		errs = append(errs, fmt.Errorf("http.max_conns_per_ip %d: must be at least 1", h.MaxConnsPerIP))
	}
	if h.MaxEventStreams < 1 {
		errs = append(errs, fmt.Errorf("http.max_event_streams %d: must be at least 1", h.MaxEventStreams))
	}
	return errs
}

// DatabaseConfig: PostgreSQL.
type DatabaseConfig struct {
	URL string `yaml:"url"` // env DATABASE_URL; secret (never logged)
	// LocalDir holds the throw-away cluster started in demo mode when URL is empty.
	LocalDir string `yaml:"local_dir"` // default .data/pg
}

// AuthConfig: API credentials.
type AuthConfig struct {
	AdminToken string `yaml:"admin_token"` // env CALLPLANE_ADMIN_TOKEN; generated and printed when empty
}

// ContactsConfig: contact imports.
type ContactsConfig struct {
	DefaultRegion string `yaml:"default_region"` // ISO 3166 region for numbers without a country code; default CN
}

// DialerConfig: the dialing engines.
type DialerConfig struct {
	Owner         string        `yaml:"owner"`          // this controller's name on leases; default host-pid
	Tick          time.Duration `yaml:"tick"`           // engine loop period; default 100ms
	LostGrace     time.Duration `yaml:"lost_grace"`     // age before an unseen open attempt is declared lost; default 15s
	DrainTimeout  time.Duration `yaml:"drain_timeout"`  // shutdown wait for calls in flight; default 20s
	DefaultPrompt string        `yaml:"default_prompt"` // played to answered broadcast calls without a prompt
	AbandonPrompt string        `yaml:"abandon_prompt"` // the compliance message of abandoned calls whose campaign names none
}

// ComplianceConfig edits the built-in rule packs (us, uk, cn, fr) and calendars (cn-2026,
// fr-2026, uk-2026, us-2026): an entry with a built-in name replaces it.
type ComplianceConfig struct {
	Packs     map[string]compliance.Pack     `yaml:"packs"`
	Calendars map[string]compliance.Calendar `yaml:"calendars"`
}

// calendars are the built-in holiday calendars with the configured.
func (c ComplianceConfig) calendars() map[string]compliance.Calendar {
	cals := compliance.Calendars()
	for name, cal := range c.Calendars {
		cal.Name = name
		cals[name] = cal
	}
	return cals
}

// rules builds the dialer's rules: the built-in packs and calendars with the configured.
func (c ComplianceConfig) rules() (campaigns.Rules, error) {
	packs, err := compliance.Merge(c.Packs)
	if err != nil {
		return campaigns.Rules{}, fmt.Errorf("compliance.packs: %w", err)
	}
	cals := c.calendars()
	hol, err := compliance.NewHolidays(cals)
	if err != nil {
		return campaigns.Rules{}, fmt.Errorf("compliance.calendars: %w", err)
	}
	for name, p := range packs {
		if _, err := hol.Select(p.Holidays...); err != nil {
			return campaigns.Rules{}, fmt.Errorf("compliance.packs.%s.holidays: %w", name, err)
		}
	}
	return campaigns.Rules{Packs: packs, Holidays: hol}, nil
}

// MediaConfig: the media nodes.
type MediaConfig struct {
	Nodes  []NodeConfig  `yaml:"nodes"`
	Trunks []TrunkConfig `yaml:"trunks"` // carrier trunks; none: each node's dial_template
}

// TrunkConfig is one carrier trunk (a SIP gateway every node can reach).
type TrunkConfig struct {
	Name string `yaml:"name"`
	// Dial templates per node kind, e.g. freeswitch: sofia/gateway/carrier-a/{number},
	// asterisk: PJSIP/{number}@carrier-a.
	Templates      map[string]string `yaml:"templates"`
	MaxCalls       int               `yaml:"max_calls"`        // concurrent calls; 0 = unlimited
	CallsPerSecond float64           `yaml:"calls_per_second"` // 0 = unlimited
	Priority       int               `yaml:"priority"`         // lowest first
	OpenAfter      int               `yaml:"open_after"`       // failures in a row that open the breaker; default 5
	OpenFor        time.Duration     `yaml:"open_for"`         // how long it stays open before a probe; default 30s
}

// trunks converts the trunks for media.NewTrunks.
func (m MediaConfig) trunks() []media.TrunkConfig {
	var out []media.TrunkConfig
	for _, t := range m.Trunks {
		tpl := map[media.Kind]string{}
		for k, v := range t.Templates {
			tpl[media.Kind(k)] = v
		}
		out = append(out, media.TrunkConfig{Name: t.Name, Templates: tpl, MaxCalls: t.MaxCalls,
			CallsPerSecond: t.CallsPerSecond, Priority: t.Priority, OpenAfter: t.OpenAfter, OpenFor: t.OpenFor})
	}
	return out
}

// NodeConfig is one FreeSWITCH or Asterisk node.
type NodeConfig struct {
	Name           string   `yaml:"name"`
	Kind           string   `yaml:"kind"`             // freeswitch or asterisk
	Address        string   `yaml:"address"`          // freeswitch: host:port of the event socket; asterisk: ARI base URL (http://host:8088)
	Username       string   `yaml:"username"`         // asterisk: ARI user (ari.conf)
	Password       string   `yaml:"password"`         // event socket or ARI password; secret
	App            string   `yaml:"app"`              // asterisk: Stasis application name; default callplane
	DialTemplate   string   `yaml:"dial_template"`    // {number} = E.164 without '+', {e164} with
	MaxCalls       int      `yaml:"max_calls"`        // concurrent calls on this node; 0 = unlimited
	CallsPerSecond float64  `yaml:"calls_per_second"` // new calls per second; 0 = unlimited
	Pools          []string `yaml:"pools"`            // default [default]
	Weight         int      `yaml:"weight"`           // selection weight; default 1
}

// DemoConfig: `serve --demo`.
type DemoConfig struct {
	TimeScale  float64 `yaml:"time_scale"`  // simulated calls and retry delays run this much faster; default 20
	AnswerRate float64 `yaml:"answer_rate"` // simulated callees who answer; default 0.35
	Contacts   int     `yaml:"contacts"`    // size of the seeded demo campaign; default 200
}

// LogConfig: logging.
type LogConfig struct {
	Level  string `yaml:"level"`  // debug, info, warn, error; default info
	Format string `yaml:"format"` // text or json; default text
}

// LoadConfig reads path (empty: defaults only), applies the environment and validates.
func LoadConfig(path string, getenv func(string) string) (Config, error) {
	var c Config
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return c, fmt.Errorf("config: %w", err)
		}
		if err := checkConfigYAML(b); err != nil {
			return c, fmt.Errorf("config %s: %w", path, err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) { // io.EOF: an empty file
			return c, fmt.Errorf("config %s: %w", path, err)
		}
	}
	if v := getenv("DATABASE_URL"); v != "" {
		c.Database.URL = v
	}
	if v := getenv("CALLPLANE_HTTP_ADDR"); v != "" {
		c.HTTP.Addr = v
	}
	if v := getenv("CALLPLANE_ADMIN_TOKEN"); v != "" {
		c.Auth.AdminToken = v
	}
	c.defaults()
	if err := c.validate(); err != nil {
		if path != "" {
			return c, fmt.Errorf("config %s: %w", path, err)
		}
		return c, fmt.Errorf("config: %w", err)
	}
	return c, nil
}

func (c *Config) defaults() {
	c.HTTP.defaults()
	if c.Database.LocalDir == "" {
		c.Database.LocalDir = ".data/pg"
	}
	if c.Contacts.DefaultRegion == "" {
		c.Contacts.DefaultRegion = "CN"
	}
	if c.Dialer.Owner == "" {
		host, _ := os.Hostname()
		c.Dialer.Owner = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	if c.Demo.TimeScale == 0 {
		c.Demo.TimeScale = 20
	}
	if c.Demo.AnswerRate == 0 {
		c.Demo.AnswerRate = 0.35
	}
	if c.Demo.Contacts == 0 {
		c.Demo.Contacts = 200
	}
	if c.Log.Level == "" {
		c.Log.Level = "info"
	}
	if c.Log.Format == "" {
		c.Log.Format = "text"
	}
	for i := range c.Media.Nodes {
		n := &c.Media.Nodes[i]
		if len(n.Pools) == 0 {
			n.Pools = []string{"default"}
		}
		if n.Weight == 0 {
			n.Weight = 1
		}
	}
}

func (c *Config) validate() error {
	errs := c.HTTP.validate()
	if len(c.Contacts.DefaultRegion) != 2 || strings.ToUpper(c.Contacts.DefaultRegion) != c.Contacts.DefaultRegion {
		errs = append(errs, fmt.Errorf("contacts.default_region %q: want a two-letter upper-case region code such as CN", c.Contacts.DefaultRegion))
	}
	if c.Demo.TimeScale < 1 {
		errs = append(errs, fmt.Errorf("demo.time_scale %v: must be >= 1", c.Demo.TimeScale))
	}
	if c.Demo.AnswerRate < 0 || c.Demo.AnswerRate > 1 {
		errs = append(errs, fmt.Errorf("demo.answer_rate %v: must be within 0..1", c.Demo.AnswerRate))
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, c.Log.Level) {
		errs = append(errs, fmt.Errorf("log.level %q: want debug, info, warn or error", c.Log.Level))
	}
	if !slices.Contains([]string{"text", "json"}, c.Log.Format) {
		errs = append(errs, fmt.Errorf("log.format %q: want text or json", c.Log.Format))
	}
	for key, p := range map[string]string{"dialer.default_prompt": c.Dialer.DefaultPrompt, "dialer.abandon_prompt": c.Dialer.AbandonPrompt} {
		if p != "" {
			if err := media.CheckPrompt(p); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", key, err))
			}
		}
	}
	seen := map[string]bool{}
	for i, n := range c.Media.Nodes {
		where := fmt.Sprintf("media.nodes[%d]", i)
		if n.Name == "" {
			errs = append(errs, fmt.Errorf("%s.name: required", where))
		} else if seen[n.Name] {
			errs = append(errs, fmt.Errorf("%s.name %q: used twice", where, n.Name))
		}
		seen[n.Name] = true
		switch media.Kind(n.Kind) {
		case media.KindFreeSWITCH:
			if _, _, err := net.SplitHostPort(n.Address); err != nil {
				errs = append(errs, fmt.Errorf("%s.address %q: want host:port of the event socket", where, n.Address))
			}
		case media.KindAsterisk:
			if u, err := url.Parse(n.Address); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				errs = append(errs, fmt.Errorf("%s.address %q: want the ARI base URL, e.g. http://127.0.0.1:8088", where, n.Address))
			}
			if n.Username == "" {
				errs = append(errs, fmt.Errorf("%s.username: required for asterisk (an ari.conf user)", where))
			}
		default:
			errs = append(errs, fmt.Errorf("%s.kind %q: want freeswitch or asterisk", where, n.Kind))
		}
		if err := media.CheckDialTemplate(media.Kind(n.Kind), n.DialTemplate); err != nil && n.Kind != "" {
			errs = append(errs, fmt.Errorf("%s.dial_template: %w", where, err))
		}
		if n.MaxCalls < 0 || n.CallsPerSecond < 0 || n.Weight < 0 {
			errs = append(errs, fmt.Errorf("%s: max_calls, calls_per_second and weight must not be negative", where))
		}
	}
	for i, t := range c.Media.Trunks {
		where := fmt.Sprintf("media.trunks[%d]", i)
		for k, v := range t.Templates {
			if k != string(media.KindFreeSWITCH) && k != string(media.KindAsterisk) {
				errs = append(errs, fmt.Errorf("%s.templates.%s: want freeswitch or asterisk", where, k))
			}
			if err := media.CheckDialTemplate(media.Kind(k), v); err != nil {
				errs = append(errs, fmt.Errorf("%s.templates.%s: %w", where, k, err))
			}
		}
		if t.MaxCalls < 0 || t.CallsPerSecond < 0 || t.OpenAfter < 0 || t.OpenFor < 0 {
			errs = append(errs, fmt.Errorf("%s: max_calls, calls_per_second, open_after and open_for must not be negative", where))
		}
	}
	if _, err := c.Compliance.rules(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Webhooks.policy().Validate(); err != nil {
		errs = append(errs, fmt.Errorf("webhooks.%w", err))
	}
	if _, err := media.NewTrunks(c.Media.trunks()); err != nil {
		errs = append(errs, fmt.Errorf("media.%w", err))
	}
	return errors.Join(errs...)
}
