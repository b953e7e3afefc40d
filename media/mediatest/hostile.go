package mediatest

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/callplane/callplane/media"
	"github.com/callplane/callplane/media/sim"
)

// HostilePrompts are prompts that must never reach a node: application calls, path
// traversal, absolute paths, other URI schemes, command separators, variable expansion.
var HostilePrompts = []string{
	"system::touch /tmp/callplane-pwned",
	"lua::os.execute('id')",
	"../../../../etc/passwd",
	"/etc/passwd",
	"sound:../../../../etc/passwd",
	"recording:../../x",
	"http://169.254.169.254/latest/meta-data",
	"file_string://a.wav!system::id",
	"a.wav\\napi system id",
	"a.wav aleg\\nbgapi system id",
	"${system(id)}.wav",
	"tts:kal:${system(id)}",
	"tts:kal;evil:hello",
	"tone:1000/250;x",
	"tone:99999/1",
	"a.wav\x00b",
	"\xc0\xae\xc0\xae/etc/passwd",
	"",
}

// HostileOriginates are requests whose caller id, name or endpoint would add a leg, an
// application or channel variables if spliced into an originate; each is refused with
// media.ErrInvalid before anything is sent.
func HostileOriginates() []media.OriginateRequest {
	return []media.OriginateRequest{
		{Number: "+8613800000001", CallerIDNumber: "123}sofia/gateway/evil/999 &park(){x="},
		{Number: "+8613800000001", CallerIDNumber: "5551000", CallerIDName: `x" <999>`},
		{Number: "+8613800000001", CallerIDName: "a}b{c=d"},
		{Number: "+8613800000001", CallerIDName: "${system(id)}"},
		{Endpoint: "PJSIP/1001&PJSIP/evil?x=1"},
		{Endpoint: "user/1001,sofia/gateway/evil/999"},
		{Endpoint: "user/1001|user/1002"},
		{Endpoint: "[x=1]user/1001"},
		{Endpoint: "user/1001 &system(id)"},
		{Endpoint: "loopback/1001:_:user/evil"},
		{Number: "+86138 &park()"},
		{Number: "8613800000001}evil"},
	}
}

// testHostile: hostile prompts and originates are refused with media.ErrInvalid and no
// byte of them reaches the node.
func testHostile(t *testing.T, h *Harness, rec *recorder) {
	need(t, map[string]bool{"Received": h.Received != nil})
	id, _ := place(t, h, sim.Plan{Result: sim.Answer, Ring: 20 * ms, Talk: time.Minute}, 5*time.Second)
	rec.awaitKind(t, id, media.EventAnswered)
	before := len(h.Received())
	for _, p := range HostilePrompts {
		if err := h.Driver.Play(ctxT(t), id, p); !errors.Is(err, media.ErrInvalid) {
			t.Errorf("Play(%q) = %v, want ErrInvalid", p, err)
		}
	}
	for i, req := range HostileOriginates() {
		req.CallID = newCallID()
		if err := h.Driver.Originate(ctxT(t), req); !errors.Is(err, media.ErrInvalid) || errors.Is(err, media.ErrNotSent) {
			t.Errorf("originate #%d %+v = %v, want ErrInvalid (and not ErrNotSent: no other node may take it)", i, req, err)
		}
	}
	for _, path := range []string{"../../etc/cron.d/x", "/tmp/a b.wav", "x.wav\nbgapi system id"} {
		if err := h.Driver.Record(ctxT(t), id, path); !errors.Is(err, media.ErrInvalid) {
			t.Errorf("Record(%q) = %v, want ErrInvalid", path, err)
		}
	}
	if got := h.Received()[before:]; len(got) > 0 {
		t.Errorf("the node received %d requests for refused input: %s", len(got), strings.Join(got, " | "))
	}
	hangupQuietly(t, h, id)
	rec.hangup(t, id)
}

// InjectionCorpus is hostile text for every string field a user, a contact list or a flow
// can write: ESL command separators, variable blocks and application calls, dial-string
// leg separators, URL tricks, path traversal, NUL, overlong and invalid UTF-8, SQL
// fragments, channel-variable expansion, and an overlong value.
var InjectionCorpus = []string{
	"x\n\nbgapi system touch /tmp/callplane-pwned\n\n",
	"x\r\napi uuid_kill all",
	"123}sofia/gateway/evil/999 &park(){x=",
	"}{origination_uuid=evil}",
	"[leg_timeout=1]user/evil",
	"system::touch /tmp/callplane-pwned",
	"lua::os.execute('id')",
	"&park()",
	"&bridge(user/evil)",
	"user/1001,sofia/gateway/evil/999",
	"user/1001|user/evil",
	"loopback/1:_:user/evil",
	"PJSIP/1001&PJSIP/evil?x=1",
	"http://169.254.169.254/latest/meta-data/",
	"http://evil.example@127.0.0.1:1/",
	"//evil.example/x",
	"%2e%2e%2f%2e%2e%2fetc%2fpasswd",
	"../../../../etc/passwd",
	"/etc/passwd",
	"sound:../../../../etc/passwd",
	"a\x00b",
	"\xc0\xae\xc0\xae/\xc0\xae\xc0\xae/etc/passwd",
	"\xff\xfe",
	"'; DROP TABLE leads; --",
	"1 OR 1=1",
	"${system(touch /tmp/callplane-pwned)}",
	"$${hostname}",
	"{{contact.phone}}",
	"张三\u202egnp.exe",
	"a\\s\\'b\\,c",
	strings.Repeat("長", 70000),
}
