package eslbridge

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"time"
)

// maxFrame bounds one frame's body; a real event is a few kilobytes.
const maxFrame = 16 << 20

var errClosed = errors.New("connection closed")

// frame is one ESL message: its outer headers and its body.
type frame struct {
	h    textproto.MIMEHeader
	body []byte
}

// replyText is a reply's text: Reply-Text for command/reply, the body for api/response.
func (f frame) replyText() string {
	if t := f.h.Get("Reply-Text"); t != "" {
		return t
	}
	return string(f.body)
}

func readFrame(tp *textproto.Reader, r io.Reader) (frame, error) {
	h, err := tp.ReadMIMEHeader()
	if err != nil {
		return frame{}, err
	}
	f := frame{h: h}
	if cl := h.Get("Content-Length"); cl != "" {
		n, err := strconv.Atoi(cl)
		if err != nil || n < 0 || n > maxFrame {
			return f, fmt.Errorf("bad Content-Length %q", cl)
		}
		f.body = make([]byte, n)
		if _, err := io.ReadFull(r, f.body); err != nil {
			return f, err
		}
	}
	return f, nil
}

// parseEvent splits a text/event-plain body into its headers and its own body (the
// BACKGROUND_JOB result after the inner Content-Length).
func parseEvent(body []byte) (textproto.MIMEHeader, []byte, error) {
	br := bufio.NewReader(bytes.NewReader(body))
	h, err := textproto.NewReader(br).ReadMIMEHeader()
	if err != nil && !(errors.Is(err, io.EOF) && len(h) > 0) {
		return nil, nil, err
	}
	var inner []byte
	if cl := h.Get("Content-Length"); cl != "" {
		n, err := strconv.Atoi(cl)
		if err != nil || n < 0 || n > len(body) {
			return h, nil, fmt.Errorf("bad inner Content-Length %q", cl)
		}
		inner = make([]byte, n)
		if _, err := io.ReadFull(br, inner); err != nil {
			return h, nil, err
		}
	}
	return h, inner, nil
}

// eslConn is one inbound event socket connection. Replies are matched to commands by
// order (ESL answers commands in the order it receives them); events are handed to
// onEvent by the single reader goroutine, in the order the node sent them.
type eslConn struct {
	nc      net.Conn
	onEvent func(h textproto.MIMEHeader, body []byte)

	mu      sync.Mutex
	waiters []chan frame
	closed  bool
	dead    chan struct{}
	once    sync.Once
}

// dialESL connects and authenticates within timeout, then starts the reader, which
// the caller's WaitGroup tracks.
func dialESL(ctx context.Context, addr, password string, timeout time.Duration, wg *sync.WaitGroup,
	onEvent func(textproto.MIMEHeader, []byte)) (*eslConn, error) {
	nc, err := (&net.Dialer{Timeout: timeout}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Now()) })
	defer stop()
	nc.SetDeadline(time.Now().Add(timeout))
	br := bufio.NewReader(nc)
	tp := textproto.NewReader(br)
	f, err := readFrame(tp, br)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("waiting for auth/request: %w", err)
	}
	if ct := f.h.Get("Content-Type"); ct != "auth/request" {
		nc.Close()
		return nil, fmt.Errorf("expected auth/request, got %q", ct)
	}
	if _, err := io.WriteString(nc, "auth "+password+"\n\n"); err != nil {
		nc.Close()
		return nil, err
	}
	f, err = readFrame(tp, br)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("auth: %w", err)
	}
	if t := f.replyText(); !strings.HasPrefix(t, "+OK") {
		nc.Close()
		return nil, fmt.Errorf("auth: %s", t)
	}
	if err := nc.SetDeadline(time.Time{}); err != nil {
		nc.Close()
		return nil, err
	}
	c := &eslConn{nc: nc, onEvent: onEvent, dead: make(chan struct{})}
	wg.Add(1)
	go c.readLoop(tp, br, wg)
	return c, nil
}

func (c *eslConn) readLoop(tp *textproto.Reader, br *bufio.Reader, wg *sync.WaitGroup) {
	defer wg.Done()
	defer c.kill()
	for {
		f, err := readFrame(tp, br)
		if err != nil {
			return
		}
		switch f.h.Get("Content-Type") {
		case "command/reply", "api/response":
			c.mu.Lock()
			var w chan frame
			if len(c.waiters) > 0 {
				w = c.waiters[0]
				c.waiters = c.waiters[1:]
			}
			c.mu.Unlock()
			if w == nil {
				return // a reply to nothing: out of step, give up the connection
			}
			w <- f
		case "text/event-plain":
			h, body, err := parseEvent(f.body)
			if err == nil {
				c.onEvent(h, body)
			}
		case "text/disconnect-notice":
			return
		}
	}
}

// kill closes the connection; pending commands fail.
func (c *eslConn) kill() {
	c.once.Do(func() {
		c.mu.Lock()
		c.closed = true
		c.mu.Unlock()
		close(c.dead)
		c.nc.Close()
	})
}

// send writes one command and waits for its reply. sent is false only when the command
// certainly did not reach the node. A command that times out after writing kills the
// connection: its late reply would be taken for the next command's.
func (c *eslConn) send(ctx context.Context, cmd string) (f frame, sent bool, err error) {
	w := make(chan frame, 1)
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return f, false, errClosed
	}
	dl, _ := ctx.Deadline()
	c.nc.SetWriteDeadline(dl)
	c.waiters = append(c.waiters, w)
	_, err = io.WriteString(c.nc, cmd+"\n\n")
	c.mu.Unlock()
	if err != nil {
		// A partly written command must never complete: drop the connection.
		c.kill()
		return f, false, err
	}
	select {
	case f = <-w:
		return f, true, nil
	case <-ctx.Done():
		c.kill()
		return f, true, ctx.Err()
	case <-c.dead:
		select {
		case f = <-w:
			return f, true, nil
		default:
		}
		return f, true, errClosed
	}
}
