package main

import (
	"log/slog"
	"net"
	"sync"
)

// perIPListener caps the connections each remote IP address holds open: a connection
// beyond max is closed as soon as it is accepted, before a byte is read, and Accept goes
// on to the next. A connection's slot is freed when it is closed (by either side, once
// net/http sees it). Addresses are counted as they are (an IPv6 client holding many
// addresses of its prefix is many clients).
type perIPListener struct {
	net.Listener
	max int
	log *slog.Logger

	mu   sync.Mutex
	open map[string]int  // remote IP -> connections open
	full map[string]bool // remote IPs refused a connection since they last had none open (logged once)
}

func limitPerIP(ln net.Listener, max int, log *slog.Logger) *perIPListener {
	return &perIPListener{Listener: ln, max: max, log: log, open: map[string]int{}, full: map[string]bool{}}
}

// Accept returns the next connection whose address is under its cap.
func (l *perIPListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := remoteIP(c)
		if !l.take(ip) {
			c.Close()
			continue
		}
		return &countedConn{Conn: c, release: func() { l.release(ip) }}, nil
	}
}

func (l *perIPListener) take(ip string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[ip] >= l.max {
		if !l.full[ip] {
			l.full[ip] = true
			l.log.Warn("http: client at its connection cap; closing its new connections", "remote_ip", ip, "max_conns_per_ip", l.max)
		}
		return false
	}
	l.open[ip]++
	return true
}

func (l *perIPListener) release(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[ip]--; l.open[ip] <= 0 {
		delete(l.open, ip)
		delete(l.full, ip)
	}
}

func remoteIP(c net.Conn) string {
	addr := c.RemoteAddr().String()
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

// countedConn frees its slot on the first Close.
type countedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *countedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// CloseWrite lets net/http half-close the connection before closing it (it does so to
// let the client read an error answer), as it would on the bare *net.TCPConn.
func (c *countedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
