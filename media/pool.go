package media

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// NodeConfig is one media node's place in the pool.
type NodeConfig struct {
	Name string
	Kind Kind
	// Pools the node belongs to; a campaign names the pool it dials through.
	Pools []string
	// MaxCalls caps concurrent calls on the node (0: unlimited).
	MaxCalls int
	// CallsPerSecond caps new calls per second (0: unlimited); bursts up to one second's worth.
	CallsPerSecond float64
	// Weight biases selection between nodes (default 1): a node of weight 2 takes twice the load.
	Weight int
}

// NodeStatus is a snapshot of one node for the API and metrics.
type NodeStatus struct {
	Name           string   `json:"name"`
	Kind           Kind     `json:"kind"`
	Pools          []string `json:"pools"`
	Up             bool     `json:"up"`
	ActiveCalls    int      `json:"active_calls"`
	MaxCalls       int      `json:"max_calls"`
	CallsPerSecond float64  `json:"calls_per_second"`
	Originated     uint64   `json:"originated"`
}

// ErrNoCapacity means no node of the pool can take a call now (all down, full or at
// their calls-per-second limit); try again later.
var ErrNoCapacity = errors.New("no media node available")

// Pool selects nodes for new calls and merges the nodes' events into one stream.
// Selection is weighted least-loaded among the nodes that are up, in the pool, under their
// call cap and within their calls-per-second budget. The Pool counts a node's active calls
// from originate to the call's hangup event.
type Pool struct {
	clock  Clock
	log    *slog.Logger
	events chan Event

	mu    sync.Mutex
	nodes []*poolNode
	calls map[string]*poolNode // live call id -> node

	wg sync.WaitGroup
}

type poolNode struct {
	cfg        NodeConfig
	drv        Driver
	active     int
	tokens     float64
	refilled   time.Time
	originated uint64
}

// NewPool returns an empty pool.
func NewPool(clock Clock, log *slog.Logger) *Pool {
	return &Pool{clock: clock, log: log, events: make(chan Event, 1024), calls: make(map[string]*poolNode)}
}

// Add puts a node and its driver in the pool and starts forwarding its events. Add all
// nodes before the first Originate.
func (p *Pool) Add(cfg NodeConfig, d Driver) {
	if cfg.Weight <= 0 {
		cfg.Weight = 1
	}
	n := &poolNode{cfg: cfg, drv: d, tokens: max(cfg.CallsPerSecond, 1), refilled: p.clock.Now()}
	p.mu.Lock()
	p.nodes = append(p.nodes, n)
	p.mu.Unlock()
	p.wg.Add(1)
	go p.forward(n)
}

// Events is the merged event stream of every node: each call's events in order. The
// consumer must keep reading until it closes, which happens once Close has closed every
// node's driver.
func (p *Pool) Events() <-chan Event { return p.events }

func (p *Pool) forward(n *poolNode) {
	defer p.wg.Done()
	for ev := range n.drv.Events() {
		ev.Node = n.cfg.Name
		if ev.Kind == EventHangup {
			p.mu.Lock()
			if p.calls[ev.CallID] == n {
				delete(p.calls, ev.CallID)
				n.active--
			}
			p.mu.Unlock()
		}
		p.events <- ev
	}
}

// Originate places req on a node of the named pool and returns the node's name. When a
// node's driver reports ErrNotSent, the next best node is tried. Any other error means
// the call may have been placed: it is returned with the node's name and not retried.
func (p *Pool) Originate(ctx context.Context, pool string, req OriginateRequest) (string, error) {
	return p.OriginateOn(ctx, pool, "", req)
}

// OriginateOn is Originate restricted to one node of the pool (any node when node is "";
// any pool when pool is ""): an agent's phone is registered on one node, and a customer
// call must be on the node of the agent it will be bridged to.
func (p *Pool) OriginateOn(ctx context.Context, pool, node string, req OriginateRequest) (string, error) {
	tried := map[*poolNode]bool{}
	for {
		n, err := p.reserve(pool, node, req, tried)
		if err != nil {
			return "", err
		}
		err = n.drv.Originate(ctx, req)
		if err == nil {
			return n.cfg.Name, nil
		}
		p.release(req.CallID, n)
		if !errors.Is(err, ErrNotSent) {
			return n.cfg.Name, fmt.Errorf("originate %s on %s: %w", req.CallID, n.cfg.Name, err)
		}
		p.log.Warn("originate not sent, trying another node", "node", n.cfg.Name, "call_id", req.CallID, "err", err)
		tried[n] = true
	}
}

func (p *Pool) reserve(pool, node string, req OriginateRequest, exclude map[*poolNode]bool) (*poolNode, error) {
	now := p.clock.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	var best *poolNode
	for _, n := range p.nodes {
		if exclude[n] || (pool != "" && !slices.Contains(n.cfg.Pools, pool)) || (node != "" && n.cfg.Name != node) || !n.drv.Up() {
			continue
		}
		if req.Templates != nil && req.Templates[n.cfg.Kind] == "" {
			continue
		}
		if n.cfg.MaxCalls > 0 && n.active >= n.cfg.MaxCalls {
			continue
		}
		if n.cfg.CallsPerSecond > 0 {
			n.refill(now)
			if n.tokens < 1 {
				continue
			}
		}
		// Weighted least-loaded: compare (active+1)/weight without division.
		if best == nil || (n.active+1)*best.cfg.Weight < (best.active+1)*n.cfg.Weight {
			best = n
		}
	}
	if best == nil && node != "" {
		return nil, fmt.Errorf("pool %q node %q: %w", pool, node, ErrNoCapacity)
	}
	if best == nil {
		return nil, fmt.Errorf("pool %q: %w", pool, ErrNoCapacity)
	}
	if best.cfg.CallsPerSecond > 0 {
		best.tokens--
	}
	best.active++
	best.originated++
	p.calls[req.CallID] = best
	return best, nil
}

func (n *poolNode) refill(now time.Time) {
	if el := now.Sub(n.refilled); el > 0 {
		n.tokens = min(n.tokens+el.Seconds()*n.cfg.CallsPerSecond, max(n.cfg.CallsPerSecond, 1))
		n.refilled = now
	}
}

func (p *Pool) release(callID string, n *poolNode) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.calls[callID] == n {
		delete(p.calls, callID)
		n.active--
		n.originated--
	}
}

// Adopt counts a call found live on a node after a restart, so its capacity is respected
// and its hangup releases the slot.
func (p *Pool) Adopt(callID, node string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := p.node(node)
	if n == nil {
		return fmt.Errorf("adopt %s: unknown node %q", callID, node)
	}
	if p.calls[callID] == nil {
		p.calls[callID] = n
		n.active++
	}
	return nil
}

func (p *Pool) node(name string) *poolNode {
	for _, n := range p.nodes {
		if n.cfg.Name == name {
			return n
		}
	}
	return nil
}

// Driver returns the named node's driver, or nil.
func (p *Pool) Driver(node string) Driver {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := p.node(node); n != nil {
		return n.drv
	}
	return nil
}

// Status snapshots every node, in configuration order.
func (p *Pool) Status() []NodeStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]NodeStatus, 0, len(p.nodes))
	for _, n := range p.nodes {
		out = append(out, NodeStatus{
			Name: n.cfg.Name, Kind: n.cfg.Kind, Pools: n.cfg.Pools, Up: n.drv.Up(),
			ActiveCalls: n.active, MaxCalls: n.cfg.MaxCalls, CallsPerSecond: n.cfg.CallsPerSecond,
			Originated: n.originated,
		})
	}
	return out
}

// Free counts the calls the named pool could take now: free slots on its nodes that are
// up (a node without a cap counts as a large number). Calls-per-second limits are not
// included; Originate enforces them.
func (p *Pool) Free(pool string) int {
	const uncapped = 1 << 20
	p.mu.Lock()
	defer p.mu.Unlock()
	free := 0
	for _, n := range p.nodes {
		if !slices.Contains(n.cfg.Pools, pool) || !n.drv.Up() {
			continue
		}
		if n.cfg.MaxCalls == 0 {
			free += uncapped
		} else {
			free += max(n.cfg.MaxCalls-n.active, 0)
		}
	}
	return free
}

// AnyUp reports whether at least one node is connected.
func (p *Pool) AnyUp() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, n := range p.nodes {
		if n.drv.Up() {
			return true
		}
	}
	return false
}

// Close closes every driver and then Events, once their streams have ended.
func (p *Pool) Close() error {
	p.mu.Lock()
	nodes := slices.Clone(p.nodes)
	p.mu.Unlock()
	var errs []error
	for _, n := range nodes {
		errs = append(errs, n.drv.Close())
	}
	p.wg.Wait()
	close(p.events)
	return errors.Join(errs...)
}
