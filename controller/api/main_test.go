package api

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/callplane/callplane/campaigns"
	"github.com/callplane/callplane/campaigns/compliance"
	"github.com/callplane/callplane/crm"
	"github.com/callplane/callplane/media"
	"github.com/callplane/callplane/schema/schematest"
)

var db schematest.DB

func TestMain(m *testing.M) { os.Exit(schematest.Main(m, &db)) }

const testToken = "test-token"

// fakeNode is a media driver that places no call; its zero value is down.
type fakeNode struct {
	up     atomic.Bool
	events chan media.Event
	close  sync.Once
}

var _ media.Driver = (*fakeNode)(nil)

func newFakeNode(up bool) *fakeNode {
	n := &fakeNode{events: make(chan media.Event)}
	n.up.Store(up)
	return n
}

func (n *fakeNode) Originate(context.Context, media.OriginateRequest) error { return media.ErrNotSent }
func (n *fakeNode) Hangup(context.Context, string, string) error            { return nil }
func (n *fakeNode) Play(context.Context, string, string) error              { return nil }
func (n *fakeNode) Record(context.Context, string, string) error            { return nil }
func (n *fakeNode) StopRecord(context.Context, string, string) error        { return nil }
func (n *fakeNode) Bridge(context.Context, string, string) error            { return nil }
func (n *fakeNode) LiveCalls(context.Context) ([]string, error)             { return nil, nil }
func (n *fakeNode) Events() <-chan media.Event                              { return n.events }
func (n *fakeNode) Up() bool                                                { return n.up.Load() }
func (n *fakeNode) Close() error {
	n.close.Do(func() { close(n.events) })
	return nil
}

func mediaNode(name string, pools ...string) media.NodeConfig {
	return media.NodeConfig{Name: name, Kind: media.KindFreeSWITCH, Pools: pools, Weight: 1}
}

// testAPI is the API served over loopback from the test database, with one node (fs1)
// in pool "default".
type testAPI struct {
	t     *testing.T
	base  string
	deps  Deps
	node  *fakeNode
	store *campaigns.Store
}

func startAPI(t *testing.T, change func(*Deps)) *testAPI {
	t.Helper()
	schematest.Truncate(t, db.DB, "campaigns", "contacts", "dnc_entries", "agents", "caller_id_pools", "flows")
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	clock := media.SystemClock{}
	pool := media.NewPool(clock, log)
	node := newFakeNode(true)
	pool.Add(mediaNode("fs1", "default"), node)
	t.Cleanup(func() { pool.Close() })
	trunks, err := media.NewTrunks(nil)
	if err != nil {
		t.Fatal(err)
	}
	packs, err := compliance.Merge(nil)
	if err != nil {
		t.Fatal(err)
	}
	hol, err := compliance.NewHolidays(compliance.Calendars())
	if err != nil {
		t.Fatal(err)
	}
	store := campaigns.NewStore(db.DB)
	hub := campaigns.NewHub()
	d := Deps{
		Store: store, Desk: campaigns.NewDesk(store, pool, clock, log, hub), CallerIDs: campaigns.NewCallerIDs(store, log),
		Hub: hub, Pool: pool, Trunks: trunks, Rules: campaigns.Rules{Packs: packs, Holidays: hol},
		Calendars: compliance.Calendars(), Phones: crm.PhoneNormalizer{DefaultRegion: "CN"},
		Clock: clock, Log: log, AdminToken: testToken, Ping: db.PingContext, Gatherer: prometheus.NewRegistry(),
	}
	if change != nil {
		change(&d)
	}
	srv := httptest.NewServer(New(d))
	t.Cleanup(func() {
		hub.Close() // ends the event streams
		srv.Close()
	})
	return &testAPI{t: t, base: srv.URL, deps: d, node: node, store: store}
}

// do sends a request with the admin token; it returns the status and the body.
func (a *testAPI) do(method, path, contentType, body string) (int, string) {
	a.t.Helper()
	return a.doAuth(method, path, contentType, body, "Bearer "+testToken)
}

func (a *testAPI) doAuth(method, path, contentType, body, auth string) (int, string) {
	a.t.Helper()
	req, err := http.NewRequest(method, a.base+path, strings.NewReader(body))
	if err != nil {
		a.t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
