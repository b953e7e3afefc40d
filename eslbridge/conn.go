package eslbridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/textproto"
	"strings"
	"sync"
	"time"

	"github.com/percipia/eslgo"
)

var errClosed = errors.New("connection closed")

// frame is a command's reply.
type frame struct{ r *eslgo.RawResponse }

// replyText is a reply's text: Reply-Text for command/reply, the body for api/response.
func (f frame) replyText() string {
	if f.r == nil {
		return ""
	}
	return f.r.GetReply()
}

// eslConn is one inbound event socket connection through eslgo.
//
// eslgo hands a reply to whichever command is waiting when it arrives, so commands here
// go one at a time, and a command that times out kills the connection (its late reply
// would be taken for the next command's). eslgo runs each event listener in a goroutine
// of its own, so events reach onEvent out of order: the driver's sequencer restores the
// order by Event-Sequence.
type eslConn struct {
	c    *eslgo.Conn
	cmd  sync.Mutex // one command in flight
	dead chan struct{}
	once sync.Once
}

// dialESL connects and authenticates within timeout. ctx ending during the dial makes it
// fail as soon as eslgo returns.
func dialESL(ctx context.Context, addr, password string, timeout time.Duration, log *slog.Logger,
	onEvent func(textproto.MIMEHeader, []byte)) (*eslConn, error) {
	ec := &eslConn{dead: make(chan struct{})}
	opts := eslgo.InboundOptions{
		Options: eslgo.Options{
			Context:     context.Background(),
			Logger:      eslLogger{log},
			ExitTimeout: timeout,
		},
		Network:      "tcp",
		Password:     password,
		AuthTimeout:  timeout,
		DialTimeout:  timeout,
		OnDisconnect: ec.markDead,
	}
	c, err := opts.Dial(addr)
	if err != nil {
		return nil, err
	}
	ec.c = c
	if ctx.Err() != nil {
		ec.kill()
		return nil, ctx.Err()
	}
	c.RegisterEventListener(eslgo.EventListenAll, func(ev *eslgo.Event) { onEvent(ev.Headers, ev.Body) })
	return ec, nil
}

func (c *eslConn) markDead() { c.once.Do(func() { close(c.dead) }) }

// kill closes the connection; pending and later commands fail.
func (c *eslConn) kill() {
	c.markDead()
	c.c.Close() // not ExitAndClose: see shared/protocols/ESL.md
}

// rawCommand is a command written as FreeSWITCH reads it (headers after the first line).
type rawCommand string

func (r rawCommand) BuildMessage() string { return string(r) }

// send writes one command and waits for its reply. sent is false only when the command
// certainly did not reach the node.
func (c *eslConn) send(ctx context.Context, cmd string) (f frame, sent bool, err error) {
	select {
	case <-c.dead:
		return f, false, errClosed
	default:
	}
	c.cmd.Lock()
	defer c.cmd.Unlock()
	select {
	case <-c.dead:
		return f, false, errClosed
	case <-ctx.Done():
		return f, false, ctx.Err()
	default:
	}
	r, err := c.c.SendCommand(ctx, rawCommand(cmd))
	if err != nil {
		// eslgo does not say whether the write happened; only a closed connection before
		// the call is certain. A missing reply leaves the connection out of step: kill it.
		c.kill()
		return f, true, err
	}
	return frame{r}, true, nil
}

// eslLogger routes eslgo's messages to slog at debug level (it logs every reconnect).
type eslLogger struct{ log *slog.Logger }

func (e eslLogger) Debug(f string, a ...any) { e.log.Debug("eslgo", "msg", sprintf(f, a...)) }
func (e eslLogger) Info(f string, a ...any)  { e.log.Debug("eslgo", "msg", sprintf(f, a...)) }
func (e eslLogger) Warn(f string, a ...any)  { e.log.Debug("eslgo", "msg", sprintf(f, a...)) }
func (e eslLogger) Error(f string, a ...any) { e.log.Warn("eslgo", "msg", sprintf(f, a...)) }

func sprintf(f string, a ...any) string { return strings.TrimSpace(fmt.Sprintf(f, a...)) }
