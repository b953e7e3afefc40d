package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq" // PostgreSQL driver
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/callplane/callplane/ari"
	"github.com/callplane/callplane/campaigns"
	"github.com/callplane/callplane/controller/api"
	"github.com/callplane/callplane/crm"
	"github.com/callplane/callplane/eslbridge"
	"github.com/callplane/callplane/ivr"
	"github.com/callplane/callplane/media"
	"github.com/callplane/callplane/schema"
	"github.com/callplane/callplane/schema/localpg"
)

// Options are the parts of the daemon that are not configuration.
type Options struct {
	Demo  bool
	Log   *slog.Logger
	Clock media.Clock
}

// App is the daemon: New, Start, Addr, Stop.
type App struct {
	cfg   Config
	opts  Options
	log   *slog.Logger
	clock media.Clock

	local    *localpg.Cluster
	db       *sqlx.DB
	pool     *media.Pool
	sims     []io.Closer
	ln       net.Listener
	srv      *http.Server
	cancel   context.CancelFunc
	runCtx   context.Context
	wg       sync.WaitGroup
	registry *prometheus.Registry
	hub      *campaigns.Hub
	desk     *campaigns.Desk
	cids     *campaigns.CallerIDs
	trunks   *media.Trunks
}

// New prepares the daemon; Start runs it.
func New(cfg Config, opts Options) *App {
	if opts.Log == nil {
		opts.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.Clock == nil {
		opts.Clock = media.SystemClock{}
	}
	return &App{cfg: cfg, opts: opts, log: opts.Log, clock: opts.Clock}
}

// Start connects to PostgreSQL (starting a local cluster in demo mode when no URL is
// set), migrates, connects the media nodes, starts the dialer and serves HTTP.
func (a *App) Start(ctx context.Context) error {
	if a.cfg.Database.URL == "" {
		if !a.opts.Demo {
			return errors.New("database: set DATABASE_URL (or database.url); --demo starts a throw-away local cluster instead")
		}
		a.log.Info("DATABASE_URL is unset: starting a throw-away PostgreSQL cluster", "dir", a.cfg.Database.LocalDir)
		c, err := localpg.Start(ctx, a.cfg.Database.LocalDir)
		if err != nil {
			return err
		}
		a.local = c
		a.cfg.Database.URL = c.URL("postgres")
	}
	db, err := openDB(ctx, a.cfg.Database.URL)
	if err != nil {
		return err
	}
	a.db = db
	if err := migrateDB(ctx, db); err != nil {
		return err
	}

	if err := a.publishFlows(ctx, campaigns.NewStore(db)); err != nil {
		return err
	}
	if a.opts.Demo {
		if err := a.startSimulators(); err != nil {
			return err
		}
	}
	a.registry = prometheus.NewRegistry()
	a.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	a.cancel = cancel
	a.runCtx = runCtx
	a.pool = media.NewPool(a.clock, a.log)
	for _, n := range a.cfg.Media.Nodes {
		drv := a.startDriver(runCtx, n)
		a.pool.Add(media.NodeConfig{
			Name: n.Name, Kind: media.Kind(n.Kind), Pools: n.Pools, MaxCalls: n.MaxCalls,
			CallsPerSecond: n.CallsPerSecond, Weight: n.Weight,
		}, drv)
	}
	a.registry.MustRegister(newPoolCollector(a.pool))

	timeScale := 1.0
	if a.opts.Demo {
		timeScale = a.cfg.Demo.TimeScale
	}
	a.hub = campaigns.NewHub()
	trunks, err := media.NewTrunks(a.cfg.Media.trunks()) // validated with the config
	if err != nil {
		return err
	}
	a.trunks = trunks
	rules, err := a.cfg.Compliance.rules() // validated with the config
	if err != nil {
		return err
	}
	dialer := campaigns.NewDialer(campaigns.Config{
		Owner: a.cfg.Dialer.Owner, Tick: a.cfg.Dialer.Tick, TimeScale: timeScale,
		LostGrace: a.cfg.Dialer.LostGrace, DrainTimeout: a.cfg.Dialer.DrainTimeout,
		DefaultPrompt: a.cfg.Dialer.DefaultPrompt, AbandonPrompt: a.cfg.Dialer.AbandonPrompt, ListenDSN: a.cfg.Database.URL,
		Trunks: trunks, Rules: rules, Webhooks: a.cfg.Webhooks.policy(),
	}, db, a.pool, a.clock, a.log, campaigns.NewMetrics(a.registry), a.hub)
	a.desk, a.cids = dialer.Desk(), dialer.CallerIDs()
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		dialer.Run(runCtx)
	}()

	store := campaigns.NewStore(db)
	if a.opts.Demo {
		if err := a.seedDemo(ctx, store); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", a.cfg.HTTP.Addr)
	if err != nil {
		return fmt.Errorf("http: %w", err)
	}
	a.ln = ln
	// The timeouts apply to every route but two, which set their own deadlines on the
	// connection: uploads (http.upload_timeout) and the event stream (a deadline per write;
	// streams are capped in number instead).
	hc := a.cfg.HTTP
	a.srv = &http.Server{
		Handler: api.New(api.Deps{
			Store: store, Desk: a.desk, CallerIDs: a.cids, Hub: a.hub, Pool: a.pool, Trunks: a.trunks, Rules: rules,
			Calendars: a.cfg.Compliance.calendars(), Phones: crm.PhoneNormalizer{DefaultRegion: a.cfg.Contacts.DefaultRegion},
			Clock: a.clock, Log: a.log, AdminToken: a.cfg.Auth.AdminToken,
			Ping: db.PingContext, Gatherer: a.registry,
			Limits: api.Limits{EventStreams: hc.MaxEventStreams, UploadTimeout: hc.UploadTimeout},
		}),
		ReadHeaderTimeout: hc.ReadHeaderTimeout,
		ReadTimeout:       hc.ReadTimeout,
		WriteTimeout:      hc.WriteTimeout,
		IdleTimeout:       hc.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		if err := a.srv.Serve(limitPerIP(ln, hc.MaxConnsPerIP, a.log)); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("http server", "err", err)
		}
	}()
	return nil
}

// Health probes: an idle node is probed every healthInterval and a probe or command that
// gets no answer within commandTimeout drops the connection, so a node that stops
// answering is out of the pool within 5 s (a dead process or a reset is seen at once).
const (
	healthInterval = 1500 * time.Millisecond
	commandTimeout = 3 * time.Second
)

// startDriver connects to one node; drivers reconnect by themselves until closed.
func (a *App) startDriver(ctx context.Context, n NodeConfig) media.Driver {
	log := a.log // the drivers add the node's name
	if media.Kind(n.Kind) == media.KindAsterisk {
		drv := ari.New(ari.Config{
			Name: n.Name, URL: n.Address, Username: n.Username, Password: n.Password,
			App: n.App, DialTemplate: n.DialTemplate,
			RequestTimeout: commandTimeout, PingInterval: healthInterval,
		}, a.clock, log)
		go func() {
			if err := drv.Start(ctx); err != nil && ctx.Err() == nil {
				log.Warn("asterisk node not connected yet; retrying", "err", err)
			}
		}()
		return drv
	}
	drv := eslbridge.New(eslbridge.Config{
		Name: n.Name, Address: n.Address, Password: n.Password, DialTemplate: n.DialTemplate,
		CommandTimeout: commandTimeout, KeepAlive: healthInterval,
	}, a.clock, log)
	drv.Start(ctx)
	return drv
}

// Addr is the HTTP listener's address (useful with port 0).
func (a *App) Addr() string { return a.ln.Addr().String() }

// Stop shuts down in order: HTTP, the dialer (draining calls in flight), the media
// drivers, the simulators, the database and the local cluster.
func (a *App) Stop(ctx context.Context) error {
	var errs []error
	if a.srv != nil {
		a.hub.Close() // ends the event streams, which Shutdown would otherwise wait for
		errs = append(errs, a.srv.Shutdown(ctx))
	}
	if a.cancel != nil {
		a.cancel()
	}
	a.wg.Wait()
	if a.pool != nil {
		errs = append(errs, a.pool.Close())
	}
	for _, s := range a.sims {
		errs = append(errs, s.Close())
	}
	if a.db != nil {
		errs = append(errs, a.db.Close())
	}
	if a.local != nil {
		errs = append(errs, a.local.Stop(ctx))
	}
	return errors.Join(errs...)
}

func openDB(ctx context.Context, url string) (*sqlx.DB, error) {
	db, err := sqlx.Open("postgres", url)
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	db.SetMaxOpenConns(40)
	db.SetConnMaxIdleTime(5 * time.Minute)
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("database: %w", err) // the URL is a secret: not in the message
	}
	return db, nil
}

func migrateDB(ctx context.Context, db *sqlx.DB) error { return schema.Migrate(ctx, db.DB) }

func newToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// poolCollector exports the node pool's state.
type poolCollector struct {
	pool               *media.Pool
	up, active, maxCap *prometheus.Desc
}

func newPoolCollector(p *media.Pool) *poolCollector {
	l := []string{"node", "kind"}
	return &poolCollector{
		pool:   p,
		up:     prometheus.NewDesc("callplane_media_node_up", "1 when the node's control connection is up.", l, nil),
		active: prometheus.NewDesc("callplane_media_node_active_calls", "Calls in flight on the node.", l, nil),
		maxCap: prometheus.NewDesc("callplane_media_node_max_calls", "The node's configured call cap (0: none).", l, nil),
	}
}

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.up
	ch <- c.active
	ch <- c.maxCap
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	for _, n := range c.pool.Status() {
		up := 0.0
		if n.Up {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, up, n.Name, string(n.Kind))
		ch <- prometheus.MustNewConstMetric(c.active, prometheus.GaugeValue, float64(n.ActiveCalls), n.Name, string(n.Kind))
		ch <- prometheus.MustNewConstMetric(c.maxCap, prometheus.GaugeValue, float64(n.MaxCalls), n.Name, string(n.Kind))
	}
}

// publishFlows publishes the flow files of FlowsDir; a flow with errors stops the start
// with every problem as file:line:col.
func (a *App) publishFlows(ctx context.Context, store *campaigns.Store) error {
	dir := a.cfg.FlowsDir
	if dir == "" {
		dir = "configs/flows"
		if _, err := os.Stat(dir); err != nil {
			return nil
		}
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return err
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("flows: %w", err)
		}
		f, problems := ivr.Parse(file, data)
		if ivr.HasErrors(problems) {
			msgs := make([]string, len(problems))
			for i, p := range problems {
				msgs[i] = p.String()
			}
			return fmt.Errorf("flows: %s", strings.Join(msgs, "\n"))
		}
		v, _, err := store.PublishFlow(ctx, f.ID, data, a.clock.Now())
		if errors.Is(err, campaigns.ErrConflict) {
			// A version published since (through the API) stands: files publish only
			// versions newer than what is stored.
			a.log.Warn("flow file not published", "file", file, "err", err)
			continue
		}
		if err != nil {
			return fmt.Errorf("flows: %s: %w", file, err)
		}
		a.log.Info("flow published", "file", file, "flow", v.ID, "version", v.Version)
	}
	return nil
}
