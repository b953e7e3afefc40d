package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/callplane/callplane/eslbridge/esltest"
)

// hangGuard only keeps a broken test from hanging: no assertion depends on it.
const hangGuard = 30 * time.Second

// dial opens a raw connection to the daemon; the test's cleanup closes it.
func dial(t *testing.T, c client) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(c.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if err := conn.SetDeadline(time.Now().Add(hangGuard)); err != nil {
		t.Fatal(err)
	}
	return conn
}

// closedByServer reads what the server sends until it closes the connection; it fails
// the test when the connection is still open at the hang guard.
func closedByServer(t *testing.T, conn net.Conn) string {
	t.Helper()
	b, err := io.ReadAll(conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the server kept the connection open (read so far: %q)", b)
	}
	return string(b) // err: nil (EOF) or a reset, both a closed connection
}

// trickle writes body a byte at a time, as a slow client does, until the connection
// fails.
func trickle(conn net.Conn, body string) {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for i := range len(body) {
		if _, err := conn.Write([]byte{body[i]}); err != nil {
			return
		}
		<-tick.C
	}
}

// get sends a GET on a raw connection and reads the answer's status line and headers.
func get(conn net.Conn, r *bufio.Reader, path string) (*http.Response, error) {
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n", path, token)
	return http.ReadResponse(r, nil)
}

func fsNode(fs *esltest.Server) NodeConfig {
	return NodeConfig{Name: "fs1", Kind: "freeswitch", Address: fs.Addr(), Password: "ClueCon",
		DialTemplate: "sofia/gateway/x/{number}", Pools: []string{"default"}, Weight: 1}
}

// TestSlowClientsAreCut: a request whose body does not arrive within http.read_timeout
// ends and its connection is closed, with a token (408) or without (after the 401); a
// contact upload has http.upload_timeout instead.
func TestSlowClientsAreCut(t *testing.T) {
	fs := startFS(t, esltest.Options{})
	c := startAppWith(t, func(cfg *Config, _ *Options) {
		cfg.HTTP.ReadTimeout = 300 * time.Millisecond
		cfg.HTTP.UploadTimeout = time.Minute
	}, fsNode(fs))
	body := `{"name":"slow","max_concurrent":1,"calls_per_second":1,"max_attempts":1,"prompt":"` + strings.Repeat("x", 200) + `"}`
	for _, tt := range []struct{ auth, want string }{{"Bearer " + token, "HTTP/1.1 408"}, {"", "HTTP/1.1 401"}} {
		t.Run(tt.want, func(t *testing.T) {
			conn := dial(t, c)
			fmt.Fprintf(conn, "POST /api/v1/campaigns HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\n"+
				"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n", tt.auth, len(body))
			go trickle(conn, body)
			if got := closedByServer(t, conn); !strings.HasPrefix(got, tt.want) {
				t.Errorf("answer %q, want %s", got, tt.want)
			}
		})
	}
	t.Run("upload", func(t *testing.T) {
		var camp struct {
			ID int64 `json:"id"`
		}
		if code := c.json("POST", "/api/v1/campaigns", map[string]any{"name": "upload", "max_concurrent": 1,
			"calls_per_second": 1, "max_attempts": 1}, &camp); code != 201 {
			t.Fatalf("create campaign: %d", code)
		}
		csv := "phone\n13800138000\n13900139000\n13700137000\n"
		conn := dial(t, c)
		fmt.Fprintf(conn, "POST /api/v1/campaigns/%d/contacts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"+
			"Content-Type: text/csv\r\nContent-Length: %d\r\nConnection: close\r\n\r\n", camp.ID, token, len(csv))
		trickle(conn, csv) // 2 s: far over read_timeout
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("upload: %v", err)
		}
		var res struct {
			Imported int `json:"imported"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&res); resp.StatusCode != 200 || err != nil || res.Imported != 3 {
			t.Errorf("upload = %d %+v %v, want 200, 3 imported", resp.StatusCode, res, err)
		}
	})
}

// TestConnectionsPerIP: one address holds at most http.max_conns_per_ip connections; the
// next is closed as it is accepted, and a slot frees when a connection closes.
func TestConnectionsPerIP(t *testing.T) {
	const max = 3
	c := startAppWith(t, func(cfg *Config, _ *Options) { cfg.HTTP.MaxConnsPerIP = max })
	var conns []net.Conn
	for range max {
		conn := dial(t, c)
		if resp, err := get(conn, bufio.NewReader(conn), "/healthz"); err != nil || resp.StatusCode != 200 {
			t.Fatalf("connection %d: %v %v", len(conns)+1, resp, err)
		}
		conns = append(conns, conn)
	}
	extra := dial(t, c)
	fmt.Fprintf(extra, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	if got := closedByServer(t, extra); got != "" {
		t.Fatalf("connection %d got %q; want it closed unanswered", max+1, got)
	}
	conns[0].Close()
	for deadline := time.Now().Add(hangGuard); ; { // the server frees the slot once it reads the close
		conn := dial(t, c)
		if resp, err := get(conn, bufio.NewReader(conn), "/healthz"); err == nil && resp.StatusCode == 200 {
			break
		}
		conn.Close()
		if time.Now().After(deadline) {
			t.Fatal("no connection taken after one closed")
		}
	}
}

// TestEventStreams: at most http.max_event_streams streams are open, the next gets 503;
// a stream outlives the read and write timeouts.
func TestEventStreams(t *testing.T) {
	const max = 2
	fs := startFS(t, esltest.Options{})
	c := startAppWith(t, func(cfg *Config, _ *Options) {
		cfg.HTTP.MaxEventStreams = max
		cfg.HTTP.ReadTimeout = 200 * time.Millisecond
		cfg.HTTP.WriteTimeout = 200 * time.Millisecond
	}, fsNode(fs))
	// open returns the stream's answer and a reader of its body.
	open := func() (net.Conn, *bufio.Reader, *http.Response) {
		t.Helper()
		conn := dial(t, c)
		resp, err := get(conn, bufio.NewReader(conn), "/api/v1/events")
		if err != nil {
			t.Fatalf("events: %v", err)
		}
		return conn, bufio.NewReader(resp.Body), resp
	}
	var streams []*bufio.Reader
	var first net.Conn
	for range max {
		conn, r, resp := open()
		if resp.StatusCode != 200 {
			t.Fatalf("stream %d: %d", len(streams)+1, resp.StatusCode)
		}
		if line, err := r.ReadString('\n'); err != nil || !strings.Contains(line, "callplane live events") {
			t.Fatalf("stream %d: %q %v", len(streams)+1, line, err)
		}
		streams = append(streams, r)
		first = conn
	}
	_, _, resp := open()
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("stream %d: %d %v; want 503 with Retry-After", max+1, resp.StatusCode, resp.Header)
	}

	// Longer than the timeouts later, the open streams still carry events.
	time.Sleep(500 * time.Millisecond)
	var camp struct {
		ID int64 `json:"id"`
	}
	c.json("POST", "/api/v1/campaigns", map[string]any{"name": "watched", "max_concurrent": 1,
		"calls_per_second": 1, "max_attempts": 1}, &camp)
	if code := c.json("POST", fmt.Sprintf("/api/v1/campaigns/%d/start", camp.ID), nil, nil); code != 200 {
		t.Fatalf("start: %d", code)
	}
	for i, r := range streams {
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("stream %d ended: %v", i+1, err)
			}
			if strings.HasPrefix(line, "event: campaign.state") {
				break
			}
		}
	}

	// A stream that ends frees its place.
	first.Close()
	for deadline := time.Now().Add(hangGuard); ; {
		conn, _, resp := open()
		conn.Close()
		if resp.StatusCode == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no stream taken after one closed")
		}
	}
}
