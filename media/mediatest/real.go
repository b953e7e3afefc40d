package mediatest

import (
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callplane/callplane/media"
	"github.com/callplane/callplane/media/sim"
)

// RigCallee returns a Harness.Dial for a test callee that decides by the dialled number,
// as the rigs' rig-callee does (see ../shared/rigs/README.md), reached through the node's
// dial template: last digit 0-5 answers (tone, no DTMF, callee's BYE after 3-8 s),
// 6 is busy (486), 7 rings without answering, 8 is not found (404), 9 unavailable
// (480); "agent..." answers and stays up until hung up. It has no rejecting (603) or
// failing (503) numbers. Numbers come from prefix plus a counter, so each run and each
// case dials numbers of its own.
func RigCallee(dialTemplate, prefix string) func(sim.Plan) (media.OriginateRequest, bool) {
	var mu sync.Mutex
	n := 0
	next := func() int {
		mu.Lock()
		defer mu.Unlock()
		n++
		return n
	}
	return func(p sim.Plan) (media.OriginateRequest, bool) {
		last := map[sim.Result]string{sim.Answer: "100", sim.Busy: "006", sim.NoAnswer: "007",
			sim.Invalid: "008", sim.Unavailable: "009"}[p.Result]
		if last == "" {
			return media.OriginateRequest{}, false
		}
		if p.Result == sim.Answer && p.Talk >= 10*time.Second {
			// Longer than the callee talks: an agent's phone, up until we hang up.
			user := fmt.Sprintf("agent%d%05d", time.Now().Unix()%1000, next())
			return media.OriginateRequest{Endpoint: strings.ReplaceAll(dialTemplate, "{number}", user)}, true
		}
		return media.OriginateRequest{Number: fmt.Sprintf("+%s%05d%s", prefix, next(), last)}, true
	}
}

// Proxy is a loopback TCP proxy to a real server's control port, so a test can cut the
// driver's connections as a failed network path would (the server's calls go on).
type Proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  map[net.Conn]bool
	wg     sync.WaitGroup
}

// StartProxy listens on 127.0.0.1:0 and forwards to target until the test ends.
func StartProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

// Addr is the address to connect to instead of the server's.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.DialTimeout("tcp", p.target, 5*time.Second)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns[c], p.conns[s] = true, true
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(c, s)
		go p.pipe(s, c)
	}
}

func (p *Proxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	_, _ = io.Copy(dst, src)
	dst.Close()
	src.Close()
	p.mu.Lock()
	delete(p.conns, dst)
	delete(p.conns, src)
	p.mu.Unlock()
}

// DropConnections closes every proxied connection; new ones are accepted as before.
func (p *Proxy) DropConnections() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
	}
}

func (p *Proxy) close() {
	p.ln.Close()
	p.DropConnections()
	p.wg.Wait()
}
