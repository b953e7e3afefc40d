package esltest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http/httptest"
	"net/textproto"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/callplane/callplane/media/sim"
)

// client is a raw ESL client for checking the wire format byte by byte.
type client struct {
	t  *testing.T
	nc net.Conn
	br *bufio.Reader
}

func dial(t *testing.T, s *Server) *client {
	t.Helper()
	nc, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	return &client{t: t, nc: nc, br: bufio.NewReader(nc)}
}

// raw reads one frame and returns it exactly as sent.
func (c *client) raw() string {
	c.t.Helper()
	var head bytes.Buffer
	length := 0
	for {
		line, err := c.br.ReadString('\n')
		if err != nil {
			c.t.Fatalf("read: %v (so far %q)", err, head.String())
		}
		head.WriteString(line)
		if line == "\n" {
			break
		}
		if v, ok := strings.CutPrefix(line, "Content-Length: "); ok {
			length, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	body := make([]byte, length)
	if _, err := io.ReadFull(c.br, body); err != nil {
		c.t.Fatal(err)
	}
	return head.String() + string(body)
}

func (c *client) send(cmd string) {
	c.t.Helper()
	if _, err := io.WriteString(c.nc, cmd+"\n\n"); err != nil {
		c.t.Fatal(err)
	}
}

func (c *client) expect(want string) {
	c.t.Helper()
	if got := c.raw(); got != want {
		c.t.Fatalf("got frame\n%q\nwant\n%q", got, want)
	}
}

func newServer(t *testing.T, opts Options) *Server {
	s := New(opts)
	if err := s.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func apiFrame(body string) string {
	return "Content-Type: api/response\nContent-Length: " + strconv.Itoa(len(body)) + "\n\n" + body
}

const goodbye = "Content-Type: text/disconnect-notice\nContent-Length: 67\n\nDisconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"

func TestWireAuth(t *testing.T) {
	s := newServer(t, Options{})
	c := dial(t, s)
	c.expect("Content-Type: auth/request\n\n")
	c.send("auth wrong")
	c.expect("Content-Type: command/reply\nReply-Text: -ERR invalid\n\n")
	c.expect(goodbye)
	if _, err := c.br.ReadByte(); err != io.EOF {
		t.Fatalf("connection still open after a bad password: %v", err)
	}

	c = dial(t, s)
	c.expect("Content-Type: auth/request\n\n")
	c.send("auth ClueCon")
	c.expect("Content-Type: command/reply\nReply-Text: +OK accepted\n\n")
	c.send("api bogus_command x")
	c.expect(apiFrame("-ERR bogus_command Command not found!\n"))
	c.send("api uuid_kill 0d2c6f36-52b1-4a8c-a3f3-ad2e2c6b8a14")
	c.expect(apiFrame("-ERR No such channel!\n"))
	c.send("api show channels")
	c.expect(apiFrame("\n0 total.\n"))
	c.send("api show channels as json")
	c.expect(apiFrame("{\"row_count\": 0}\n"))
	c.send("exit")
	c.expect("Content-Type: command/reply\nReply-Text: +OK bye\n\n")
	c.expect(goodbye)
}

func TestWireBgapiOriginate(t *testing.T) {
	s := newServer(t, Options{TimeScale: 50})
	s.Script("8613800138000", sim.Plan{Result: sim.Busy, Ring: 100 * time.Millisecond})
	c := dial(t, s)
	c.raw()
	c.send("auth ClueCon")
	c.raw()
	c.send("event plain BACKGROUND_JOB CHANNEL_HANGUP_COMPLETE")
	c.expect("Content-Type: command/reply\nReply-Text: +OK event listener enabled plain\n\n")
	const id = "c46bccdb-fac7-40ff-898c-a8cb73ae6432"
	arg := "{origination_uuid=" + id + ",dialer_campaign=demo}sofia/gateway/carrier-a/8613800138000 &park()"
	// A Job-UUID line of the client's is not taken (as FreeSWITCH 1.10.12 did not): the
	// server names the job.
	c.send("bgapi originate " + arg + "\nJob-UUID: 23728d6f-a6aa-4bd3-b6a9-6b2f281029e2")
	reply := c.raw()
	_, job, _ := strings.Cut(strings.TrimSpace(reply), "\nJob-UUID: ")
	if job == "" || job == "23728d6f-a6aa-4bd3-b6a9-6b2f281029e2" ||
		reply != "Content-Type: command/reply\nReply-Text: +OK Job-UUID: "+job+"\nJob-UUID: "+job+"\n\n" {
		t.Fatalf("bgapi reply %q", reply)
	}

	// As in the busy capture: CHANNEL_HANGUP_COMPLETE, then the job's -ERR.
	hc := parseFrame(t, c.raw())
	if hc.Get("Event-Name") != "CHANNEL_HANGUP_COMPLETE" || hc.Get("Hangup-Cause") != "USER_BUSY" ||
		hc.Get("variable_sip_term_status") != "486" || hc.Get("variable_hangup_cause_q850") != "17" ||
		hc.Get("variable_dialer_campaign") != "demo" || hc.Get("Unique-ID") != id || hc.Get("variable_billsec") != "0" {
		t.Fatalf("hangup complete: %v", hc)
	}
	frame := c.raw()
	bj := parseFrame(t, frame)
	if bj.Get("Event-Name") != "BACKGROUND_JOB" || bj.Get("Job-UUID") != job || bj.Get("Job-Command") != "originate" {
		t.Fatalf("job event: %v", bj)
	}
	if !strings.HasSuffix(frame, "Job-Command-Arg: "+urlEncode(arg)+"\nContent-Length: 15\n\n-ERR USER_BUSY\n") {
		t.Fatalf("job event tail: %q", frame)
	}
	if s1, s2 := seq(t, hc), seq(t, bj); s2 <= s1 {
		t.Fatalf("Event-Sequence %d then %d", s1, s2)
	}
	if got := s.Stats(); got.Originates["8613800138000"] != 1 || got.TotalOriginates != 1 {
		t.Fatalf("stats %+v", got)
	}

	// bgapi without a Job-UUID gets one.
	c.send("bgapi uuid_exists " + id)
	r := c.raw()
	if !strings.HasPrefix(r, "Content-Type: command/reply\nReply-Text: +OK Job-UUID: ") {
		t.Fatalf("reply %q", r)
	}
	if bj := parseFrame(t, c.raw()); bj.Get("Job-Command") != "uuid_exists" {
		t.Fatalf("job %v", bj)
	}
}

func TestStatsHandler(t *testing.T) {
	s := newServer(t, Options{})
	c := dial(t, s)
	c.raw()
	c.send("auth ClueCon")
	c.raw()
	c.send("api originate {originate_timeout=1}error/user_busy &park()")
	c.expect(apiFrame("-ERR USER_BUSY\n"))
	rec := httptest.NewRecorder()
	s.StatsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/stats", nil))
	var st map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil {
		t.Fatal(err)
	}
	if st["total_originates"] != 1.0 || st["active_calls"] != 0.0 {
		t.Fatalf("stats %s", rec.Body.String())
	}
}

func parseFrame(t *testing.T, frame string) textproto.MIMEHeader {
	t.Helper()
	_, body, ok := strings.Cut(frame, "\n\n")
	if !ok || !strings.HasPrefix(frame, "Content-Length: ") || !strings.Contains(frame, "\nContent-Type: text/event-plain\n\n") {
		t.Fatalf("not an event frame: %q", frame)
	}
	h, err := textproto.NewReader(bufio.NewReader(strings.NewReader(body))).ReadMIMEHeader()
	if err != nil && err != io.EOF {
		t.Fatal(err)
	}
	for k, v := range h {
		for i := range v {
			v[i] = unescapeURL(v[i])
		}
		h[k] = v
	}
	return h
}

func unescapeURL(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			n, _ := strconv.ParseUint(s[i+1:i+3], 16, 8)
			b.WriteByte(byte(n))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func seq(t *testing.T, h textproto.MIMEHeader) int {
	n, err := strconv.Atoi(h.Get("Event-Sequence"))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// FuzzReadCommand checks the command reader never panics nor loops, whatever a client
// sends.
func FuzzReadCommand(f *testing.F) {
	for _, s := range []string{"auth ClueCon\n\n", "bgapi originate {a=b}x &park()\nJob-UUID: 1\n\n",
		"api show channels\r\n\r\n", "\n\n\nexit\n\n", "event plain ALL\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bufio.NewReader(bytes.NewReader(data))
		for range 1000 {
			if _, err := readCommand(r); err != nil {
				return
			}
		}
	})
}

// FuzzParseOriginate checks originate parsing against arbitrary arguments, seeded
// with the originate arguments of the captures.
func FuzzParseOriginate(f *testing.F) {
	matches, _ := filepath.Glob("../testdata/*.plain.txt")
	for _, m := range matches {
		b, err := os.ReadFile(m)
		if err != nil {
			f.Fatal(err)
		}
		if h := parseFrame(&testing.T{}, string(b)); h.Get("Job-Command-Arg") != "" {
			f.Add(h.Get("Job-Command-Arg"))
		}
	}
	f.Add(`{a='x y',b=c\,d}[e=f]sofia/gateway/g/123@h &park()`)
	f.Add(`{{a=b}}x y`)
	f.Fuzz(func(t *testing.T, arg string) {
		req, err := parseOriginate(arg)
		if err != nil {
			return
		}
		if req.endpoint == "" {
			t.Fatalf("empty endpoint from %q", arg)
		}
		_ = destination(req.endpoint)
	})
}

// FuzzEventRoundTrip checks that any header value survives urlEncode and decoding.
func FuzzEventRoundTrip(f *testing.F) {
	f.Add("sofia/internal/1000@127.0.0.1:5170")
	f.Add("tone_stream://%(400,200,440);loops=-1")
	f.Add("a%zz%4")
	f.Fuzz(func(t *testing.T, v string) {
		enc := urlEncode(v)
		if strings.ContainsAny(enc, "\r\n :") {
			t.Fatalf("encoded %q contains a separator: %q", v, enc)
		}
	})
}
