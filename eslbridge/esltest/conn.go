package esltest

import (
	"bufio"
	"net"
	"regexp"
	"strings"
	"sync"

	"github.com/google/uuid"
)

// conn is one client connection: a reader that runs commands in order and a writer that
// sends queued frames in order.
type conn struct {
	s  *Server
	nc net.Conn

	mu       sync.Mutex
	queue    [][]byte
	closeAft bool // close the socket once the queue is written
	authed   bool
	all      bool
	subs     map[string]bool
	filters  []variable
	wake     chan struct{}
	done     chan struct{}
	once     sync.Once
}

func newConn(s *Server, nc net.Conn) *conn {
	c := &conn{s: s, nc: nc, subs: make(map[string]bool), wake: make(chan struct{}, 1), done: make(chan struct{})}
	c.queue = append(c.queue, []byte("Content-Type: auth/request\n\n"))
	c.wake <- struct{}{}
	return c
}

// close closes the socket at once and forgets the connection.
func (c *conn) close() {
	c.once.Do(func() {
		close(c.done)
		c.nc.Close()
		c.s.mu.Lock()
		delete(c.s.conns, c)
		c.s.mu.Unlock()
	})
}

func (c *conn) enqueue(b []byte) {
	c.mu.Lock()
	c.queue = append(c.queue, b)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// finish queues the last frames and closes the connection after writing them.
func (c *conn) finish(frames ...[]byte) {
	c.mu.Lock()
	c.queue = append(c.queue, frames...)
	c.closeAft = true
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *conn) writeLoop() {
	defer c.s.wg.Done()
	for {
		select {
		case <-c.wake:
		case <-c.done:
			return
		}
		if !c.s.waitHold(c.done) {
			c.close()
			return
		}
		c.mu.Lock()
		q := c.queue
		c.queue = nil
		closeAft := c.closeAft
		c.mu.Unlock()
		for _, b := range q {
			if _, err := c.nc.Write(b); err != nil {
				c.close()
				return
			}
		}
		if closeAft {
			c.close()
			return
		}
	}
}

// wants reports whether the connection subscribed to e and its filters pass it, as
// mod_event_socket's event_handler decides: positive filters are or-ed, a filter value
// starting with '-' vetoes, '/regex/' values match by regular expression.
func (c *conn) wants(e *event) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.authed || (!c.all && !c.subs[e.name]) {
		return false
	}
	if len(c.filters) == 0 {
		return true
	}
	send := false
	for _, f := range c.filters {
		hval, ok := e.get(f.name)
		if !ok {
			continue
		}
		comp := f.value
		pos := true
		for len(comp) > 0 && (comp[0] == '+' || comp[0] == '-' || comp[0] == ' ') {
			if comp[0] == '-' {
				pos = false
			} else if comp[0] == '+' {
				pos = true
			}
			comp = comp[1:]
		}
		if send && pos {
			continue
		}
		var match bool
		if strings.HasPrefix(comp, "/") {
			re, err := regexp.Compile(strings.TrimSuffix(strings.TrimPrefix(comp, "/"), "/"))
			match = err == nil && re.MatchString(hval)
		} else {
			match = strings.EqualFold(hval, comp)
		}
		if match {
			if !pos {
				return false
			}
			send = true
		}
	}
	return send
}

func (c *conn) readLoop() {
	defer c.s.wg.Done()
	defer c.close()
	r := bufio.NewReader(c.nc)
	for {
		cmd, err := readCommand(r)
		if err != nil {
			return
		}
		if !c.s.waitHold(c.done) {
			return
		}
		c.s.logCommand(cmd.line)
		if !c.handle(cmd) {
			// Wait for the writer to flush the last frames and close.
			<-c.done
			return
		}
	}
}

// handle runs one command; false ends the connection.
func (c *conn) handle(cmd command) bool {
	line := cmd.line
	word, rest, _ := strings.Cut(line, " ")
	word = strings.ToLower(word)
	if word == "exit" || word == "..." {
		c.finish(reply("+OK bye"), disconnectNotice())
		return false
	}
	c.mu.Lock()
	authed := c.authed
	c.mu.Unlock()
	if !authed {
		if word != "auth" {
			c.enqueue(reply("-ERR command not found"))
			return true
		}
		if rest != c.s.opts.Password {
			c.finish(reply("-ERR invalid"), disconnectNotice())
			return false
		}
		c.mu.Lock()
		c.authed = true
		c.mu.Unlock()
		c.enqueue(reply("+OK accepted"))
		return true
	}
	switch word {
	case "event":
		fields := strings.Fields(rest)
		if len(fields) < 2 {
			c.enqueue(reply("-ERR no keywords supplied"))
			return true
		}
		format := strings.ToLower(fields[0])
		if format != "plain" {
			// The fake only speaks plain events.
			c.enqueue(reply("-ERR invalid format"))
			return true
		}
		c.mu.Lock()
		for _, name := range fields[1:] {
			if strings.EqualFold(name, "ALL") {
				c.all = true
			} else {
				c.subs[strings.ToUpper(name)] = true
			}
		}
		c.mu.Unlock()
		c.enqueue(reply("+OK event listener enabled plain"))
	case "nixevent":
		c.mu.Lock()
		for _, name := range strings.Fields(rest) {
			if strings.EqualFold(name, "ALL") {
				c.all = false
				c.subs = make(map[string]bool)
			} else {
				delete(c.subs, strings.ToUpper(name))
			}
		}
		c.mu.Unlock()
		c.enqueue(reply("+OK events nixed"))
	case "noevents":
		c.mu.Lock()
		had := c.all || len(c.subs) > 0
		c.all = false
		c.subs = make(map[string]bool)
		c.filters = nil
		c.mu.Unlock()
		if had {
			c.enqueue(reply("+OK no longer listening for events"))
		} else {
			c.enqueue(reply("-ERR not listening for events"))
		}
	case "filter":
		c.enqueue(reply(c.filter(strings.TrimLeft(rest, " "))))
	case "api":
		name, arg, _ := strings.Cut(strings.TrimLeft(rest, " "), " ")
		c.enqueue(apiResponse(c.s.api(name, arg, "")))
	case "bgapi":
		name, arg, _ := strings.Cut(strings.TrimLeft(rest, " "), " ")
		// FreeSWITCH 1.10.12 chose its own Job-UUID even when a Job-UUID line followed the
		// command (eslbridge/testdata/real-bgapi-job-uuid.txt).
		job := uuid.NewString()
		c.enqueue(reply("+OK Job-UUID: "+job, "Job-UUID: "+job))
		c.s.bgapi(name, arg, job)
	default:
		c.enqueue(reply("-ERR command not found"))
	}
	return true
}

func (c *conn) filter(arg string) string {
	name, value, ok := strings.Cut(arg, " ")
	c.mu.Lock()
	defer c.mu.Unlock()
	if strings.EqualFold(name, "delete") && ok {
		name, value, _ = strings.Cut(value, " ")
		if strings.EqualFold(name, "all") {
			c.filters = nil
		} else {
			kept := c.filters[:0]
			for _, f := range c.filters {
				if !(strings.EqualFold(f.name, name) && (value == "" || f.value == value)) {
					kept = append(kept, f)
				}
			}
			c.filters = kept
		}
		return "+OK filter deleted. [" + name + "][" + value + "]"
	}
	if !ok {
		return "-ERR invalid syntax"
	}
	if strings.EqualFold(name, "add") {
		name, value, _ = strings.Cut(value, " ")
	}
	c.filters = append(c.filters, variable{name, value})
	return "+OK filter added. [" + name + "]=[" + value + "]"
}
