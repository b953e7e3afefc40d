package ari

import (
	"slices"
	"strings"
	"testing"

	"github.com/callplane/callplane/media"
)

// FuzzMediaURI: a prompt the driver accepts becomes a sound: or tone: URI that cannot
// leave Asterisk's sound directories.
func FuzzMediaURI(f *testing.F) {
	for _, s := range []string{"ivr/welcome.wav", "tone:beep", "tts:kal:hi", "../../etc/passwd", "sound:x", "recording:../x", "a/./b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, prompt string) {
		uri, err := mediaURI(prompt)
		if err != nil {
			return
		}
		name, isSound := strings.CutPrefix(uri, "sound:")
		if !isSound && !strings.HasPrefix(uri, "tone:") {
			t.Fatalf("%q -> %q", prompt, uri)
		}
		if isSound && (strings.HasPrefix(name, "/") || slices.Contains(strings.Split(name, "/"), "..") || strings.ContainsAny(name, ":?&# \\")) {
			t.Fatalf("%q -> %q", prompt, uri)
		}
	})
}

// FuzzOriginateValues: an originate that passes media.CheckOriginate gives ARI one
// endpoint of one leg and a callerId that parses back to the name and number asked for.
func FuzzOriginateValues(f *testing.F) {
	f.Add("5551000", "callplane", "")
	f.Add("123}sofia/gateway/evil/999 &park(){x=", `x" <999>`, "PJSIP/1001&PJSIP/evil?x=1")
	f.Add("+8610123456789", "招商银行", "PJSIP/1001@carrier")
	f.Fuzz(func(t *testing.T, num, name, endpoint string) {
		req := media.OriginateRequest{CallID: "c", Number: "+8613800138000", Endpoint: endpoint, CallerIDNumber: num, CallerIDName: name}
		dial := endpoint
		if dial == "" {
			dial = media.DialString("PJSIP/{number}@carrier", req.Number)
		}
		if media.CheckOriginate(media.KindAsterisk, req, dial) != nil {
			return
		}
		if strings.ContainsAny(dial, "&,?= \"'<>") {
			t.Fatalf("endpoint %q", dial)
		}
		cid := callerIDString(name, num)
		if name == "" {
			if cid != num {
				t.Fatalf("callerId %q for number %q", cid, num)
			}
			return
		}
		gotName, rest, ok := strings.Cut(strings.TrimPrefix(cid, `"`), `" <`)
		gotNum, ok2 := strings.CutSuffix(rest, ">")
		if !ok || !ok2 || gotName != name || gotNum != num || strings.Count(cid, `"`) != 2 || strings.Count(cid, "<") != 1 {
			t.Fatalf("callerId %q does not parse back to %q <%s>", cid, name, num)
		}
	})
}
