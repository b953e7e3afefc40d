package campaigns

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/callplane/callplane/media"
)

// Config tunes the dialer. Zero values take the defaults in the comments.
type Config struct {
	// Owner identifies this controller on leases and attempts (default "callplane").
	Owner string
	// Tick is the engine loop period (default 100ms).
	Tick time.Duration
	// Poll is how often the dialer looks for running campaigns without an engine
	// (default 500ms); with ListenDSN a started campaign is picked up at once anyway.
	Poll time.Duration
	// Recheck is how often an engine reloads its campaign, checks its lock and re-verifies
	// calls it is unsure of (default 1s).
	Recheck time.Duration
	// TimeScale divides campaign retry delays; demo mode speeds time up (default 1).
	TimeScale float64
	// LostGrace: an open attempt found after a restart is declared lost only when no node
	// has its call and it is older than this (default 15s).
	LostGrace time.Duration
	// MaxCallAge: a call open this long is checked against the nodes again (default 1h).
	MaxCallAge time.Duration
	// DrainTimeout bounds how long shutdown waits for in-flight calls (default 20s).
	DrainTimeout time.Duration
	// DefaultPrompt is played to answered broadcast calls whose campaign names none.
	DefaultPrompt string
	// AbandonPrompt is the compliance message an abandoned call hears when its campaign
	// names none ("": the call is hung up).
	AbandonPrompt string
	// Trunks chooses the carrier trunk of each call (nil: the nodes' dial templates).
	Trunks *media.Trunks
	// Rules are the calling-hour rule packs and holiday calendars (default: the built-in).
	Rules Rules
	// ListenDSN, when set, is the database URL a LISTEN connection uses so a campaign
	// started on any controller is picked up at once rather than on the next poll.
	ListenDSN string
	// Webhooks says where flow webhooks may connect (default: any public address).
	Webhooks WebhookPolicy
}

func (c *Config) defaults() {
	if c.Owner == "" {
		c.Owner = "callplane"
	}
	if c.Tick <= 0 {
		c.Tick = 100 * time.Millisecond
	}
	if c.Poll <= 0 {
		c.Poll = 500 * time.Millisecond
	}
	if c.Recheck <= 0 {
		c.Recheck = time.Second
	}
	if c.TimeScale <= 0 {
		c.TimeScale = 1
	}
	if c.LostGrace <= 0 {
		c.LostGrace = 15 * time.Second
	}
	if c.MaxCallAge <= 0 {
		c.MaxCallAge = time.Hour
	}
	if c.DrainTimeout <= 0 {
		c.DrainTimeout = 20 * time.Second
	}
	if c.Rules.Packs == nil {
		c.Rules = DefaultRules()
	}
}

// Dialer runs the engines of the running campaigns and routes node events to them.
type Dialer struct {
	cfg     Config
	store   *Store
	db      *sqlx.DB
	pool    *media.Pool
	clock   media.Clock
	log     *slog.Logger
	metrics *Metrics
	hub     *Hub
	desk    *Desk
	cids    *CallerIDs
	flows   *flowCache
	hooks   *http.Client // flow webhooks, under cfg.Webhooks

	mu      sync.Mutex
	engines map[int64]*engine
	routes  map[string]*engine
	orphans map[string]*orphan
	wg      sync.WaitGroup
	closers []func() error
}

// orphan holds events of a call no engine has claimed yet: after a restart a node may
// report a call before the engine that adopts it has started.
type orphan struct {
	since  time.Time
	events []media.Event
}

const orphanTTL = 2 * time.Minute

// NewDialer wires a dialer; Run starts it. m and hub may be nil.
func NewDialer(cfg Config, db *sqlx.DB, pool *media.Pool, clock media.Clock, log *slog.Logger, m *Metrics, hub *Hub) *Dialer {
	cfg.defaults()
	if m == nil {
		m = NewMetrics(nil)
	}
	store := NewStore(db)
	d := &Dialer{
		cfg: cfg, store: store, db: db, pool: pool, clock: clock, log: log, metrics: m, hub: hub,
		desk:    NewDesk(store, pool, clock, log.With("component", "desk"), hub),
		cids:    NewCallerIDs(store, log.With("component", "caller-ids")),
		flows:   newFlowCache(store),
		hooks:   cfg.Webhooks.client(),
		engines: map[int64]*engine{}, routes: map[string]*engine{}, orphans: map[string]*orphan{},
	}
	d.desk.OnReady(d.wakeAgentEngines)
	d.desk.onDecide(d.route)
	d.desk.mu.Lock()
	d.desk.wrapped = d.wrapped
	d.desk.mu.Unlock()
	return d
}

// wrapped hands a wrap-up time to the campaign's engine for its pacing estimates.
func (d *Dialer) wrapped(campaignID int64, dur time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if e := d.engines[campaignID]; e != nil {
		e.inbox.push(media.Event{Kind: evWrapped, Duration: dur})
	}
}

// Desk is the dialer's agent desk.
func (d *Dialer) Desk() *Desk { return d.desk }

// CallerIDs is the dialer's caller-id registry.
func (d *Dialer) CallerIDs() *CallerIDs { return d.cids }

// wakeAgentEngines tells the agent campaigns' engines that an agent became ready.
func (d *Dialer) wakeAgentEngines() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, e := range d.engines {
		if e.forAgent {
			e.inbox.push()
		}
	}
}

// Run routes the pool's events and keeps one engine per running campaign until ctx ends;
// then engines stop dialing, wait up to DrainTimeout for their calls, and Run returns.
// The pool's Events must stay open until Run returns.
func (d *Dialer) Run(ctx context.Context) {
	stop := make(chan struct{})
	routed := make(chan struct{})
	go func() {
		defer close(routed)
		for {
			select {
			case ev, ok := <-d.pool.Events():
				if !ok {
					return
				}
				d.route(ev)
			case <-stop:
				return
			}
		}
	}()
	if err := d.desk.Load(ctx); err != nil {
		d.log.Warn("load agents", "err", err)
	}
	deskDone := make(chan struct{})
	go func() {
		defer close(deskDone)
		d.desk.Run(ctx, d.cfg.Tick)
	}()
	defer func() { <-deskDone }()
	t := time.NewTicker(d.cfg.Poll)
	defer t.Stop()
	wake := d.listen()
	for d.sync(ctx); ctx.Err() == nil; {
		select {
		case <-ctx.Done():
		case <-t.C:
			d.sync(ctx)
		case <-wake:
			d.sync(ctx)
		}
	}
	d.wg.Wait() // engines drain their calls, with events still routed to them
	close(stop)
	<-routed
	d.hooks.CloseIdleConnections()
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, c := range d.closers {
		c()
	}
}

// listen subscribes to campaign state changes (Store.Act notifies); the returned channel
// is nil, never ready, without a ListenDSN. Polling stays as the fallback.
func (d *Dialer) listen() <-chan *pq.Notification {
	if d.cfg.ListenDSN == "" {
		return nil
	}
	l := pq.NewListener(d.cfg.ListenDSN, 100*time.Millisecond, 10*time.Second, func(ev pq.ListenerEventType, err error) {
		if err != nil {
			d.log.Debug("campaign notifications", "event", ev, "err", err)
		}
	})
	if err := l.Listen(notifyChannel); err != nil {
		d.log.Warn("listen for campaign changes; polling only", "err", err)
		l.Close()
		return nil
	}
	d.mu.Lock()
	d.closers = append(d.closers, l.Close)
	d.mu.Unlock()
	return l.Notify
}

// sync starts an engine for each running campaign that has none and prunes old orphans.
func (d *Dialer) sync(ctx context.Context) {
	cs, err := d.store.RunningCampaigns(ctx)
	if err != nil {
		if ctx.Err() == nil {
			d.log.Warn("list running campaigns", "err", err)
		}
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, c := range cs {
		if d.engines[c.ID] != nil {
			continue
		}
		e := newEngine(d, c)
		d.engines[c.ID] = e
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			e.run(ctx)
			d.mu.Lock()
			delete(d.engines, e.id)
			d.mu.Unlock()
		}()
	}
	now := d.clock.Now()
	for id, o := range d.orphans {
		if now.Sub(o.since) > orphanTTL {
			delete(d.orphans, id)
		}
	}
}

func (d *Dialer) route(ev media.Event) {
	if d.desk.IsLeg(ev.CallID) {
		d.desk.LegEvent(ev)
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if e := d.routes[ev.CallID]; e != nil {
		e.inbox.push(ev)
		return
	}
	o := d.orphans[ev.CallID]
	if o == nil {
		o = &orphan{since: d.clock.Now()}
		d.orphans[ev.CallID] = o
	}
	o.events = append(o.events, ev)
}

// claim routes a call's events to e, handing over any that arrived first.
func (d *Dialer) claim(callID string, e *engine) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.routes[callID] = e
	if o := d.orphans[callID]; o != nil {
		e.inbox.push(o.events...)
		delete(d.orphans, callID)
	}
}

func (d *Dialer) release(callID string) {
	d.mu.Lock()
	delete(d.routes, callID)
	d.mu.Unlock()
}

// engineCount is the number of engines running in this dialer.
func (d *Dialer) engineCount() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.engines)
}

// listening reports whether the LISTEN connection is set up.
func (d *Dialer) listening() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.closers) > 0
}
