package campaigns

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/callplane/callplane/crm"
	"github.com/callplane/callplane/media"
	"github.com/callplane/callplane/schema/schematest"
)

var db schematest.DB

func TestMain(m *testing.M) { os.Exit(schematest.Main(m, &db)) }

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// scriptNode is an in-memory media node: each number's calls end as scripted, at once.
// Answered calls end when the engine hangs them up after the prompt.
type scriptNode struct {
	mu        sync.Mutex
	up        bool
	notSent   bool
	script    map[string]media.Hangup // by E.164; default: answered
	live      map[string]string       // call id -> number
	originate map[string]int          // originates per number
	conns     []*nodeConn
}

func newScriptNode() *scriptNode {
	return &scriptNode{up: true, script: map[string]media.Hangup{}, live: map[string]string{},
		originate: map[string]int{}}
}

// nodeConn is one controller's connection to the node: like an event socket, every
// connection receives every call's events.
type nodeConn struct {
	*scriptNode
	events chan media.Event
	closed bool
}

func (n *scriptNode) connect() *nodeConn {
	n.mu.Lock()
	defer n.mu.Unlock()
	c := &nodeConn{scriptNode: n, events: make(chan media.Event, 100000)}
	n.conns = append(n.conns, c)
	return c
}

// emit is called with n.mu held.
func (n *scriptNode) emit(ev media.Event) {
	for _, c := range n.conns {
		if !c.closed {
			c.events <- ev
		}
	}
}

func (n *scriptNode) Originate(_ context.Context, req media.OriginateRequest) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.notSent {
		return fmt.Errorf("connection lost: %w", media.ErrNotSent)
	}
	n.originate[req.Number]++
	h, scripted := n.script[req.Number]
	n.emit(media.Event{Kind: media.EventRinging, CallID: req.CallID})
	if scripted {
		h.Ringing = true
		n.emit(media.Event{Kind: media.EventHangup, CallID: req.CallID, Hangup: &h})
		return nil
	}
	n.live[req.CallID] = req.Number
	n.emit(media.Event{Kind: media.EventAnswered, CallID: req.CallID})
	return nil
}

func (n *scriptNode) Play(_ context.Context, id, _ string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, ok := n.live[id]; !ok {
		return media.ErrUnknownCall
	}
	n.emit(media.Event{Kind: media.EventPlaybackStarted, CallID: id})
	n.emit(media.Event{Kind: media.EventPlaybackFinished, CallID: id})
	return nil
}

func (n *scriptNode) Hangup(_ context.Context, id, _ string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, ok := n.live[id]; !ok {
		return media.ErrUnknownCall
	}
	delete(n.live, id)
	n.emit(media.Event{Kind: media.EventHangup, CallID: id, Hangup: &media.Hangup{
		Cause: media.CauseFromName("NORMAL_CLEARING"), Answered: true, Ringing: true, SIPCode: 200}})
	return nil
}

func (n *scriptNode) LiveCalls(context.Context) ([]string, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	var ids []string
	for id := range n.live {
		ids = append(ids, id)
	}
	return ids, nil
}

func (n *scriptNode) Record(context.Context, string, string) error     { return nil }
func (n *scriptNode) StopRecord(context.Context, string, string) error { return nil }
func (n *scriptNode) Bridge(context.Context, string, string) error     { return nil }
func (n *scriptNode) Up() bool                                         { n.mu.Lock(); defer n.mu.Unlock(); return n.up }
func (c *nodeConn) Events() <-chan media.Event                         { return c.events }
func (c *nodeConn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		c.closed = true
		close(c.events)
	}
	return nil
}

var _ media.Driver = (*nodeConn)(nil)

func (n *scriptNode) originates(number string) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.originate[number]
}

// controller is one dialer process over a pool of one scripted node.
type controller struct {
	dialer *Dialer
	pool   *media.Pool
	cancel context.CancelFunc
	done   chan struct{}
}

func startController(t *testing.T, owner string, node *scriptNode, cfg Config) *controller {
	t.Helper()
	pool := media.NewPool(media.SystemClock{}, discard)
	pool.Add(media.NodeConfig{Name: "n1", Kind: media.KindFreeSWITCH, Pools: []string{"default"}}, node.connect())
	cfg.Owner = owner
	if cfg.Tick == 0 {
		cfg.Tick = 5 * time.Millisecond
	}
	if cfg.Recheck == 0 {
		cfg.Recheck = 20 * time.Millisecond
	}
	cfg.DefaultPrompt = "prompt.wav"
	d := NewDialer(cfg, db.DB, pool, media.SystemClock{}, discard, nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	c := &controller{dialer: d, pool: pool, cancel: cancel, done: make(chan struct{})}
	go func() { defer close(c.done); d.Run(ctx) }()
	t.Cleanup(c.stop)
	return c
}

// stop ends the dialer the way a crash would as far as the database is concerned: calls in
// flight are left open (DrainTimeout is tiny in these tests).
func (c *controller) stop() {
	select {
	case <-c.done:
		return
	default:
	}
	c.cancel()
	<-c.done
}

func newCampaign(t *testing.T, s *Store, c Campaign, phones ...string) Campaign {
	t.Helper()
	ctx := context.Background()
	if c.Name == "" {
		c.Name = t.Name()
	}
	c, err := s.CreateCampaign(ctx, c, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var rows []crm.ImportRow
	for i, p := range phones {
		rows = append(rows, crm.ImportRow{Line: i + 2, Phone: p, RawPhone: p})
	}
	res, err := s.Import(ctx, c.ID, crm.ImportResult{Rows: rows}, time.Now())
	if err != nil || res.Imported != len(phones) {
		t.Fatalf("import: %+v %v", res, err)
	}
	return c
}

func phones(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("+86%s%05d", prefix, i)
	}
	return out
}

// waitState polls the campaign until it reaches state (the engine works asynchronously);
// it fails after a generous deadline rather than asserting on timing.
func waitState(t *testing.T, s *Store, id int64, state string) Stats {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := s.Stats(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if st.State == state {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("campaign %d never reached %s: %+v", id, state, st)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func checkInvariants(t *testing.T, s *Store, c Campaign, st Stats, node *scriptNode) {
	t.Helper()
	sum := 0
	for _, n := range st.Outcomes {
		sum += n
	}
	if sum+st.InProgress != st.Attempts {
		t.Errorf("outcomes sum %d + in progress %d != attempts %d", sum, st.InProgress, st.Attempts)
	}
	_, leads, err := s.Leads(context.Background(), c.ID, 100000, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range leads {
		if l.Attempts > c.MaxAttempts {
			t.Errorf("lead %s: %d attempts > max %d", l.Phone, l.Attempts, c.MaxAttempts)
		}
		if node != nil && node.originates(l.Phone) > l.Attempts {
			t.Errorf("lead %s: originated %d times but only %d attempts recorded", l.Phone, node.originates(l.Phone), l.Attempts)
		}
	}
}

func TestBroadcastCompletesWithRetries(t *testing.T) {
	s := NewStore(db.DB)
	node := newScriptNode()
	nums := phones("1390", 60)
	for i, p := range nums {
		switch i % 4 {
		case 1:
			node.script[p] = media.Hangup{Cause: media.CauseFromName("USER_BUSY"), SIPCode: 486}
		case 2:
			node.script[p] = media.Hangup{Cause: media.CauseFromName("NO_ANSWER")}
		case 3:
			if i%8 == 3 {
				node.script[p] = media.Hangup{Cause: media.CauseFromName("UNALLOCATED_NUMBER"), SIPCode: 404}
			}
		}
	}
	c := newCampaign(t, s, Campaign{MaxConcurrent: 7, CallsPerSecond: 1000, MaxAttempts: 3, RetryAfterSeconds: 0}, nums...)
	startController(t, "ctl-a", node, Config{})
	if _, err := s.Act(context.Background(), c.ID, "start", time.Now()); err != nil {
		t.Fatal(err)
	}
	st := waitState(t, s, c.ID, StateCompleted)
	checkInvariants(t, s, c, st, node)

	answered, invalid := 0, 0
	for i := range nums {
		switch {
		case i%4 == 0 || (i%4 == 3 && i%8 != 3):
			answered++
		case i%8 == 3:
			invalid++
		}
	}
	busyOrNo := len(nums) - answered - invalid
	if st.Outcomes["answered"] != answered {
		t.Errorf("answered = %d, want %d", st.Outcomes["answered"], answered)
	}
	if st.Outcomes["invalid_number"] != invalid {
		t.Errorf("invalid_number = %d, want %d (a permanent failure is not retried)", st.Outcomes["invalid_number"], invalid)
	}
	if want := answered + invalid + 3*busyOrNo; st.Attempts != want {
		t.Errorf("attempts = %d, want %d (busy and no-answer tried max_attempts times)", st.Attempts, want)
	}
	if st.CompletedContacts != len(nums) || st.InProgress != 0 {
		t.Errorf("completed %d of %d, in progress %d", st.CompletedContacts, len(nums), st.InProgress)
	}
}

func TestRetryWaitsRetryAfter(t *testing.T) {
	s := NewStore(db.DB)
	node := newScriptNode()
	nums := phones("1391", 3)
	for _, p := range nums {
		node.script[p] = media.Hangup{Cause: media.CauseFromName("USER_BUSY")}
	}
	c := newCampaign(t, s, Campaign{MaxConcurrent: 5, CallsPerSecond: 100, MaxAttempts: 2, RetryAfterSeconds: 3600}, nums...)
	startController(t, "ctl-a", node, Config{})
	s.Act(context.Background(), c.ID, "start", time.Now())
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, leads, _ := s.Leads(context.Background(), c.ID, 10, 0)
		done := 0
		for _, l := range leads {
			if l.Status == LeadPending && l.Attempts == 1 && l.LastOutcome != nil {
				done++
			}
		}
		if done == len(nums) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("leads never came back to pending after one busy attempt: %+v", leads)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Due in an hour: a lease attempt now finds nothing.
	ls, err := s.LeaseLeads(context.Background(), c.ID, 10, "probe", time.Now())
	if err != nil || len(ls) != 0 {
		t.Fatalf("leased %d leads before their retry time (err %v)", len(ls), err)
	}
	ls, err = s.LeaseLeads(context.Background(), c.ID, 10, "probe", time.Now().Add(2*time.Hour))
	if err != nil || len(ls) != len(nums) {
		t.Fatalf("after the retry delay: leased %d, want %d (err %v)", len(ls), len(nums), err)
	}
	s.Act(context.Background(), c.ID, "stop", time.Now())
}

func TestRetryRulesByOutcome(t *testing.T) {
	s := NewStore(db.DB)
	node := newScriptNode()
	nums := phones("1399", 2)
	node.script[nums[0]] = media.Hangup{Cause: media.CauseFromName("USER_BUSY"), SIPCode: 486}
	node.script[nums[1]] = media.Hangup{Cause: media.CauseFromName("NO_ANSWER")}
	c := newCampaign(t, s, Campaign{MaxConcurrent: 2, CallsPerSecond: 100, MaxAttempts: 5, RetryAfterSeconds: 0,
		RetryRules: RetryRules{"busy": {AfterSeconds: 0, Max: 2}, "no_answer": {AfterSeconds: 7200}}}, nums...)
	startController(t, "ctl-a", node, Config{})
	started := time.Now()
	s.Act(context.Background(), c.ID, "start", time.Now())
	waitFor(t, func() bool {
		_, leads, _ := s.Leads(context.Background(), c.ID, 10, 0)
		return leads[0].Status == LeadExhausted && leads[1].Attempts == 1 && leads[1].Status == LeadPending
	})
	if n := node.originates(nums[0]); n != 2 {
		t.Errorf("busy number dialed %d times; its rule allows 2 busy attempts", n)
	}
	var due time.Time
	db.Get(&due, `SELECT next_attempt_at FROM leads WHERE phone = $1 AND campaign_id = $2`, nums[1], c.ID)
	if d := due.Sub(started); d < 2*time.Hour || d > 2*time.Hour+time.Minute {
		t.Errorf("no-answer retry due %v after start, want 2h", d)
	}
	s.Act(context.Background(), c.ID, "stop", time.Now())
}

func TestRetryRulesAreValidated(t *testing.T) {
	c := Campaign{Name: "x", MaxConcurrent: 1, CallsPerSecond: 1, MaxAttempts: 1,
		RetryRules: RetryRules{"answered": {}, "busy": {AfterSeconds: -1}}}
	err := c.Normalize()
	if err == nil || !strings.Contains(err.Error(), "retry_rules.answered: not a retryable outcome") ||
		!strings.Contains(err.Error(), "retry_rules.busy.after_seconds: -1 is out of range") {
		t.Fatalf("err = %v", err)
	}
}

func TestOriginateNotSentReturnsTheLease(t *testing.T) {
	s := NewStore(db.DB)
	node := newScriptNode()
	node.notSent = true // up, but every originate fails before it is written
	nums := phones("1392", 5)
	c := newCampaign(t, s, Campaign{MaxConcurrent: 5, CallsPerSecond: 100, MaxAttempts: 1}, nums...)
	ctl := startController(t, "ctl-a", node, Config{})
	s.Act(context.Background(), c.ID, "start", time.Now())
	waitFor(t, func() bool { return testutil.ToFloat64(ctl.dialer.metrics.Unleased) >= float64(len(nums)) })
	node.mu.Lock()
	node.notSent = false
	node.mu.Unlock()
	st := waitState(t, s, c.ID, StateCompleted)
	// Leases given back uncounted: each lead is dialed exactly once, within max_attempts 1.
	if st.Attempts != len(nums) || st.Outcomes["answered"] != len(nums) {
		t.Fatalf("once originates go through every lead is dialed once: %+v", st)
	}
	checkInvariants(t, s, c, st, node)
}

func TestCrashRecoveryAdoptsLiveCallsAndEndsLostOnes(t *testing.T) {
	s := NewStore(db.DB)
	node := newScriptNode()
	nums := phones("1393", 2)
	c := newCampaign(t, s, Campaign{MaxConcurrent: 5, CallsPerSecond: 100, MaxAttempts: 2}, nums...)
	ctx := context.Background()
	// A controller leased both leads and crashed: one call is still up on the node, the
	// other is gone.
	leases, err := s.LeaseLeads(ctx, c.ID, 2, "crashed", time.Now())
	if err != nil || len(leases) != 2 {
		t.Fatalf("lease: %v %v", leases, err)
	}
	db.MustExec(`UPDATE attempts SET started_at = started_at - interval '1 minute' WHERE campaign_id = $1`, c.ID)
	s.SetAttemptRoute(ctx, leases[0].CallID, "n1", "", "")
	node.live[leases[0].CallID] = leases[0].Phone
	node.originate[leases[0].Phone] = 1
	node.originate[leases[1].Phone] = 1
	s.Act(ctx, c.ID, "start", time.Now())
	startController(t, "ctl-b", node, Config{LostGrace: time.Second})

	waitFor(t, func() bool {
		open, _ := s.OpenAttempts(ctx, c.ID)
		return len(open) == 1 && open[0].CallID == leases[0].CallID
	})
	// The live call is adopted: when it ends its real outcome is written.
	node.Hangup(ctx, leases[0].CallID, "")
	st := waitState(t, s, c.ID, StateCompleted)
	var outcome, lostOutcome string
	db.Get(&outcome, `SELECT outcome FROM attempts WHERE call_id = $1`, leases[0].CallID)
	db.Get(&lostOutcome, `SELECT outcome FROM attempts WHERE call_id = $1`, leases[1].CallID)
	if outcome != "answered" || lostOutcome != "node_lost" {
		t.Fatalf("adopted call: %s (want answered); lost call: %s (want node_lost)", outcome, lostOutcome)
	}
	// The lost lead was retried once more: 2 attempts, never more.
	checkInvariants(t, s, c, st, node)
	if st.Attempts != 3 {
		t.Fatalf("attempts = %d, want 3 (adopted 1 + lost 1 + its retry 1)", st.Attempts)
	}
}

func TestTwoControllersNeverDialALeadTwice(t *testing.T) {
	s := NewStore(db.DB)
	node := newScriptNode()
	nums := phones("1394", 80)
	for i, p := range nums {
		if i%2 == 0 {
			node.script[p] = media.Hangup{Cause: media.CauseFromName("NO_ANSWER")}
		}
	}
	c := newCampaign(t, s, Campaign{MaxConcurrent: 10, CallsPerSecond: 1000, MaxAttempts: 2}, nums...)
	startController(t, "ctl-a", node, Config{})
	startController(t, "ctl-b", node, Config{})
	s.Act(context.Background(), c.ID, "start", time.Now())
	st := waitState(t, s, c.ID, StateCompleted)
	checkInvariants(t, s, c, st, node)
	var owners int
	db.Get(&owners, `SELECT count(DISTINCT controller) FROM attempts WHERE campaign_id = $1`, c.ID)
	if owners != 1 {
		t.Errorf("%d controllers dialed one campaign; its lock allows one", owners)
	}
	if st.Attempts != 40+80 {
		t.Errorf("attempts = %d, want 120", st.Attempts)
	}
}

func TestPauseStopsNewCalls(t *testing.T) {
	s := NewStore(db.DB)
	node := newScriptNode()
	c := newCampaign(t, s, Campaign{MaxConcurrent: 1, CallsPerSecond: 2, MaxAttempts: 1}, phones("1395", 50)...)
	ctl := startController(t, "ctl-a", node, Config{})
	ctx := context.Background()
	s.Act(ctx, c.ID, "start", time.Now())
	waitFor(t, func() bool { st, _ := s.Stats(ctx, c.ID); return st.Attempts >= 1 })
	if _, err := s.Act(ctx, c.ID, "pause", time.Now()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return ctl.dialer.engineCount() == 0 })
	before, _ := s.Stats(ctx, c.ID)
	if before.State != StatePaused || before.InProgress != 0 {
		t.Fatalf("after pause: %+v", before)
	}
	// The engine has exited; nothing can dial until start.
	if _, err := s.Act(ctx, c.ID, "start", time.Now()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { st, _ := s.Stats(ctx, c.ID); return st.Attempts > before.Attempts })
	s.Act(ctx, c.ID, "stop", time.Now())
}

func TestStartIsPickedUpByNotification(t *testing.T) {
	s := NewStore(db.DB)
	node := newScriptNode()
	c := newCampaign(t, s, Campaign{MaxConcurrent: 2, CallsPerSecond: 100, MaxAttempts: 1}, phones("1396", 3)...)
	// Polling an hour apart: only the NOTIFY from Act can start the engine in time.
	ctl := startController(t, "ctl-a", node, Config{Poll: time.Hour, ListenDSN: db.URL})
	waitFor(t, func() bool { return ctl.dialer.listening() })
	if _, err := s.Act(context.Background(), c.ID, "start", time.Now()); err != nil {
		t.Fatal(err)
	}
	waitState(t, s, c.ID, StateCompleted)
}

func TestTransitions(t *testing.T) {
	tests := []struct{ from, action, to, err string }{
		{StateDraft, "start", StateRunning, ""},
		{StateRunning, "pause", StatePaused, ""},
		{StatePaused, "start", StateRunning, ""},
		{StateRunning, "stop", StateStopped, ""},
		{StateStopped, "start", StateRunning, ""},
		{StateRunning, "start", StateRunning, ""},
		{StateCompleted, "start", "", "conflict"},
		{StateDraft, "pause", "", "conflict"},
		{StateDraft, "explode", "", "not found"},
	}
	for _, tt := range tests {
		got, err := transition(tt.from, tt.action)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s + %s: err = %v, want %s", tt.from, tt.action, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.to {
			t.Errorf("%s + %s = %s, %v; want %s", tt.from, tt.action, got, err, tt.to)
		}
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 30s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
