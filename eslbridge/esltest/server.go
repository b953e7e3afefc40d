package esltest

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/callplane/callplane/media/sim"
)

// Options configures a Server. The zero value works.
type Options struct {
	// Password clients must send with auth; default "ClueCon".
	Password string
	// Model decides every call's outcome and timing; the zero Model means sim.Default().
	Model sim.Model
	// TimeScale divides every simulated duration (ring, talk, prompts); 0 means 1. The
	// demo runs 20-100 times faster than real time.
	TimeScale float64
	// Seed makes the sampled outcomes reproducible.
	Seed uint64
	// MaxCalls caps concurrent calls (FreeSWITCH max-sessions); 0 means unlimited.
	MaxCalls int
	// Press, when set, is how callees answer IVR prompts: after the first prompt ends, a
	// callee presses what the model draws (numbers given to PressAfterPrompt follow their
	// script instead).
	Press *sim.PressModel
	// DownGateways are carrier gateways that are down: every call through them fails
	// at once (sim.GatewayDown).
	DownGateways []string
	// PromptLength is the simulated length of every file played with uuid_broadcast;
	// default 2 s.
	PromptLength time.Duration
	// Logger receives debug logs; nil discards them.
	Logger *slog.Logger
}

// Server is a fake FreeSWITCH node.
type Server struct {
	opts     Options
	model    sim.Model
	scale    float64
	log      *slog.Logger
	coreUUID string

	mu         sync.Mutex
	ln         net.Listener
	conns      map[*conn]struct{}
	calls      map[string]*call
	order      []string // call uuids in creation order
	seq        uint64
	rng        *rand.Rand
	scripts    map[string]sim.Plan
	press      sim.PressModel // Options.Press, plus the numbers given to PressAfterPrompt
	hold       bool
	holdCh     chan struct{}
	dropEvents func(name, uuid string) bool
	commands   []string
	originates map[string]int
	total      int
	sessionID  int
	closed     bool
	refused    bool

	done chan struct{}
	wg   sync.WaitGroup
}

// New builds a server; Listen starts it.
func New(opts Options) *Server {
	if opts.Password == "" {
		opts.Password = "ClueCon"
	}
	if opts.TimeScale <= 0 {
		opts.TimeScale = 1
	}
	if opts.PromptLength <= 0 {
		opts.PromptLength = 2 * time.Second
	}
	model := opts.Model
	if model.RingMedian == 0 && model.TalkMedian == 0 && model.AnswerRate == 0 && len(model.Overrides) == 0 &&
		model.BusyShare == 0 && model.RejectShare == 0 && model.UnavailableShare == 0 && model.FailShare == 0 {
		model = sim.Default()
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	var press sim.PressModel
	if opts.Press != nil {
		press = *opts.Press
		press.Script = maps.Clone(press.Script)
	}
	return &Server{
		opts:       opts,
		press:      press,
		model:      model,
		scale:      opts.TimeScale,
		log:        log,
		coreUUID:   uuid.NewString(),
		conns:      make(map[*conn]struct{}),
		calls:      make(map[string]*call),
		rng:        rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15)),
		scripts:    make(map[string]sim.Plan),
		originates: make(map[string]int),
		done:       make(chan struct{}),
	}
}

// Listen binds addr (e.g. "127.0.0.1:0") and serves in the background until Close.
func (s *Server) Listen(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return errors.New("esltest: server closed")
	}
	s.ln = ln
	s.mu.Unlock()
	s.wg.Add(1)
	go s.accept(ln)
	return nil
}

// Addr is the listening address, or "" before Listen.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

func (s *Server) accept(ln net.Listener) {
	defer s.wg.Done()
	for {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			nc.Close()
			return
		}
		c := newConn(s, nc)
		s.conns[c] = struct{}{}
		s.wg.Add(2)
		s.mu.Unlock()
		go c.readLoop()
		go c.writeLoop()
	}
}

// Close stops the server: it closes the listener and every connection, ends every call
// without further events and waits for all of its goroutines.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.done)
	ln := s.ln
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
	for _, c := range conns {
		c.close()
	}
	s.wg.Wait()
	return nil
}

// DropConnections closes every client socket now, without a disconnect notice, as a
// crashed network path would. Calls go on.
func (s *Server) DropConnections() {
	s.mu.Lock()
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.close()
	}
}

// Hold makes the node hang while on: it neither answers commands nor sends anything
// (connections stay open, calls go on and their events queue up). Off resumes.
func (s *Server) Hold(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if on && !s.hold {
		s.hold = true
		s.holdCh = make(chan struct{})
	} else if !on && s.hold {
		s.hold = false
		close(s.holdCh)
	}
}

// waitHold blocks while the server is held; false when the server closed.
func (s *Server) waitHold(connDone <-chan struct{}) bool {
	for {
		s.mu.Lock()
		if !s.hold {
			s.mu.Unlock()
			return true
		}
		ch := s.holdCh
		s.mu.Unlock()
		select {
		case <-ch:
		case <-s.done:
			return false
		case <-connDone:
			return false
		}
	}
}

// DropEvents installs a predicate; events for which it returns true are sent to no one
// (they still consume an Event-Sequence number, as a lost event would). nil removes it.
func (s *Server) DropEvents(drop func(name, uuid string) bool) {
	s.mu.Lock()
	s.dropEvents = drop
	s.mu.Unlock()
}

// PressAfterPrompt makes the callee of every later call to number (digits, '+' optional)
// press digits once, just after the first prompt played to them ends (an IVR menu).
func (s *Server) PressAfterPrompt(number, digits string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.press.Script == nil {
		s.press.Script = map[string]string{}
	}
	s.press.Script[strings.TrimPrefix(number, "+")] = digits
}

// pressAfterPrompt presses c's scripted digits, or what the press model draws, once.
// s.mu held.
func (s *Server) pressAfterPrompt(c *call) {
	if c.pressed {
		return
	}
	c.pressed = true
	digits, after, ok := s.press.Press(s.rng, c.number)
	if !ok || digits == "" {
		return
	}
	press := func() {
		for _, d := range digits {
			s.emit(s.channelEvent(c, "DTMF", nil, []variable{{"DTMF-Digit", string(d)}, {"DTMF-Duration", "2000"}, {"DTMF-Source", "RTP"}}))
		}
	}
	if after <= 0 {
		press()
		return
	}
	s.later(c, after, func() {
		if !c.gone {
			press()
		}
	})
}

// later runs fn with s.mu held after d of the callee's time, unless c ends or the server
// closes first.
func (s *Server) later(c *call, d time.Duration, fn func()) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTimer(time.Duration(float64(d) / s.scale))
		defer t.Stop()
		select {
		case <-t.C:
		case <-c.ended:
			return
		case <-s.done:
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		fn()
	}()
}

// Script makes every later call to number (digits, '+' optional) follow plan.
func (s *Server) Script(number string, plan sim.Plan) {
	s.mu.Lock()
	s.scripts[strings.TrimPrefix(number, "+")] = plan
	s.mu.Unlock()
}

// Commands returns every command line received so far (auth lines are masked).
func (s *Server) Commands() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.commands...)
}

func (s *Server) logCommand(line string) {
	if strings.HasPrefix(line, "auth ") {
		line = "auth ********"
	}
	s.mu.Lock()
	s.commands = append(s.commands, line)
	s.mu.Unlock()
}

// Stats is a snapshot of what the node has done.
type Stats struct {
	// Originates counts originate requests per destination (digits without '+').
	Originates      map[string]int `json:"originates"`
	TotalOriginates int            `json:"total_originates"`
	ActiveCalls     int            `json:"active_calls"`
}

// Stats returns a snapshot.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{Originates: make(map[string]int, len(s.originates)), TotalOriginates: s.total}
	for k, v := range s.originates {
		st.Originates[k] = v
	}
	for _, c := range s.calls {
		if !c.gone {
			st.ActiveCalls++
		}
	}
	return st
}

// Originates is how many originates the node received for number ('+' optional).
func (s *Server) Originates(number string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.originates[strings.TrimPrefix(number, "+")]
}

// StatsHandler serves GET /stats as JSON:
// {"originates": {"8613800138000": 2}, "total_originates": N, "active_calls": N}.
func (s *Server) StatsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s.Stats())
	})
	return mux
}

// emit assigns the next Event-Sequence and queues the event on every connection that
// subscribed to it and whose filters pass it. Must be called with s.mu held.
func (s *Server) emit(e *event) {
	s.seq++
	for i := range e.headers {
		if e.headers[i].name == "Event-Sequence" {
			e.headers[i].value = strconv.FormatUint(s.seq, 10)
			break
		}
	}
	if s.closed || (s.dropEvents != nil && s.dropEvents(e.name, e.uuid)) {
		return
	}
	var payload []byte
	for c := range s.conns {
		if !c.wants(e) {
			continue
		}
		if payload == nil {
			payload = eventFrame(e.serialize())
		}
		c.enqueue(payload)
	}
}

// liveCalls returns the calls that still exist, in creation order. s.mu held.
func (s *Server) liveCalls() []*call {
	var out []*call
	for _, id := range s.order {
		if c := s.calls[id]; c != nil && !c.gone {
			out = append(out, c)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].created.Before(out[j].created) })
	return out
}

// Refuse closes the listener while on, so that connection attempts are refused as by a
// node whose event socket is down; off listens again on the same address. Existing
// connections are not touched (see DropConnections).
func (s *Server) Refuse(on bool) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errors.New("esltest: server closed")
	}
	ln := s.ln
	if on {
		s.refused = true
		s.mu.Unlock()
		if ln != nil {
			return ln.Close()
		}
		return nil
	}
	if !s.refused || ln == nil {
		s.mu.Unlock()
		return nil
	}
	s.refused = false
	addr := ln.Addr().String()
	s.mu.Unlock()
	return s.Listen(addr)
}

// Kill hangs up a live call as uuid_kill would; false when there is no such call.
func (s *Server) Kill(uuid, cause string) bool { return s.kill(uuid, cause) }

// ChannelVar returns a variable of a live channel.
func (s *Server) ChannelVar(uuid, name string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.calls[uuid]
	if c == nil {
		return "", false
	}
	for _, v := range c.vars {
		if v.name == name {
			return v.value, true
		}
	}
	return "", false
}

// API runs an api command as another event-socket client would (`api originate ...` from
// another application, say) and returns its reply.
func (s *Server) API(cmd string) string {
	name, arg, _ := strings.Cut(cmd, " ")
	return s.api(name, arg, "")
}
