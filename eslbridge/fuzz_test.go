package eslbridge

import (
	"bufio"
	"bytes"
	"maps"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/callplane/callplane/eslbridge/esltest"
	"github.com/callplane/callplane/media"
)

// FuzzReadFrame feeds arbitrary bytes to the ESL frame reader and the event decoder,
// seeded with frames captured from FreeSWITCH.
func FuzzReadFrame(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.plain.txt")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("Content-Type: auth/request\n\n"))
	f.Add([]byte("Content-Type: api/response\nContent-Length: 3\n\n+OK"))
	f.Add([]byte("Content-Length: 99999999999\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		br := bufio.NewReader(bytes.NewReader(data))
		tp := textproto.NewReader(br)
		for range 100 {
			fr, err := readFrame(tp, br)
			if err != nil {
				return
			}
			if h, body, err := parseEvent(fr.body); err == nil {
				decode(h, body, time.Time{})
			}
		}
	})
}

// FuzzOriginateArgs: whatever the caller id, endpoint and variable values, an originate
// that passes media.CheckOriginate means to FreeSWITCH exactly what was asked: one leg, the
// &park() application, and each variable with its value (braces and control characters
// dropped), no variable more.
func FuzzOriginateArgs(f *testing.F) {
	f.Add("5551000", "callplane", "", "c1")
	f.Add("123}sofia/gateway/evil/999 &park(){x=", "O'Brien, Jo", "", "a,b c'd\\e")
	f.Add("5551000", "x", "user/1001,sofia/gateway/evil/1", "{x}=1 \\s")
	f.Add("+8610123456789", "招商银行", "user/1001@10.0.0.5", "'")
	d := New(Config{DialTemplate: "sofia/gateway/carrier/{number}", RingTimeout: 30 * time.Second}, nil, nil)
	f.Fuzz(func(t *testing.T, cidNum, cidName, endpoint, note string) {
		req := media.OriginateRequest{CallID: "0b6a9a8e-6f2b-4e43-a1a3-6a4a2a9f2b11", Number: "+8613800138000",
			Endpoint: endpoint, CallerIDNumber: cidNum, CallerIDName: cidName, Vars: map[string]string{"note": note}}
		if media.CheckOriginate(media.KindFreeSWITCH, req, d.dialString(req)) != nil {
			return
		}
		args := d.originateArgs(req)
		if strings.ContainsAny(args, "\r\n") {
			t.Fatalf("line break in %q", args)
		}
		o, err := esltest.ParseOriginate(args)
		if err != nil {
			t.Fatalf("%q: %v", args, err)
		}
		want := map[string]string{"origination_uuid": req.CallID, "callplane_call_id": req.CallID,
			"presence_data": liveMarker, "originate_timeout": "30", "note": strings.Trim(clean(note), " ")} // FreeSWITCH trims blanks around a value
		if cidNum != "" {
			want["origination_caller_id_number"] = cidNum
		}
		if cidName != "" {
			want["origination_caller_id_name"] = cidName
		}
		if o.Leg != d.dialString(req) || o.App != "&park()" || !maps.Equal(o.Vars, want) {
			t.Fatalf("%q means leg %q app %q vars %q", args, o.Leg, o.App, o.Vars)
		}
	})
}

// FuzzBroadcastArg: a prompt that passes media.CheckPrompt is one uuid_broadcast argument,
// and only text to speech runs an application (speak, with inert text).
func FuzzBroadcastArg(f *testing.F) {
	for _, s := range []string{"ivr/welcome.wav", "tone:beep", "tts:kal:hello there", "system::id", "tts:kal:a|b::c d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, prompt string) {
		arg, err := broadcastArg(prompt)
		if err != nil {
			return
		}
		line := escapeArg(arg)
		if strings.ContainsAny(line, " \r\n") {
			t.Fatalf("%q: blank or line break in %q", prompt, line)
		}
		app, rest, isApp := strings.Cut(arg, "::")
		if isApp && (app != "speak" || !strings.HasPrefix(rest, "flite|") || strings.Count(rest, "|") != 2 || strings.ContainsAny(rest, "${}")) {
			t.Fatalf("%q runs %q", prompt, arg)
		}
	})
}
