package media

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCheckPrompt(t *testing.T) {
	for _, tc := range []struct {
		prompt string
		ok     bool
	}{
		{"ivr/ivr-welcome_to_freeswitch.wav", true},
		{"callplane/abandon-message.wav", true},
		{"提示音/欢迎.wav", true},
		{"hello", true},
		{Beep, true},
		{"tone:440/1000", true},
		{"tts:kal:Hello 张三, your balance is 100 yuan.", true},
		{"tts::Press 1.", true},
		// Application calls on FreeSWITCH (uuid_broadcast reads app::args).
		{"system::touch /tmp/x", false},
		{"lua::os.execute('id')", false},
		{"speak::flite|kal|hi", false},
		// Paths out of the sound directories.
		{"../../../../etc/passwd", false},
		{"ivr/../../etc/passwd", false},
		{"/etc/passwd", false},
		{".hidden.wav", false},
		{"ivr//x.wav", false},
		{"-rf.wav", false},
		// Other schemes and separators.
		{"sound:hello", false},
		{"http://169.254.169.254/x.wav", false},
		{"a.wav b.wav", false},
		{"a.wav\nbgapi system id", false},
		{"${system(id)}.wav", false},
		{"a\x00b.wav", false},
		{"\xc0\xae\xc0\xae/etc/passwd", false},
		{strings.Repeat("a", MaxPromptLen+1), false},
		{"", false},
		// Tones.
		{"tone:1000", false},
		{"tone:1000/250/1", false},
		{"tone:+1000/250", false},
		{"tone:10/250", false},
		{"tone:1000/99999", false},
		{"tone:beep;x", false},
		// Text to speech.
		{"tts:Kal:hi", false},
		{"tts:kal", false},
		{"tts:kal:   ", false},
		{"tts:kal:${system(id)}", false},
		{"tts:kal:a\nb", false},
		{"tts:kal:" + strings.Repeat("字", MaxTTSLen), false},
	} {
		err := CheckPrompt(tc.prompt)
		if (err == nil) != tc.ok {
			t.Errorf("CheckPrompt(%q) = %v, want ok=%v", tc.prompt, err, tc.ok)
		}
	}
}

func TestCleanTTSFitsTheGrammar(t *testing.T) {
	for _, text := range []string{"${system(id)}", "a\x00b\nc", "\xff\xfe 张三", strings.Repeat("字", MaxTTSLen)} {
		got := CleanTTS(text)
		if err := CheckPrompt(TTS("kal", got)); err != nil {
			t.Errorf("CleanTTS(%q) = %q: %v", text, got, err)
		}
	}
}

func TestCheckCallerID(t *testing.T) {
	for _, tc := range []struct {
		number, name string
		ok           bool
	}{
		{"+8610123456789", "", true},
		{"95588", "招商银行", true},
		{"5551000", "O'Brien, Jo & Co.", true},
		{"123}sofia/gateway/evil/999 &park(){x=", "", false},
		{"+", "", false},
		{"1", "", false},
		{"+1 555 1000", "", false},
		{"5551000", `x" <999>`, false},
		{"5551000", "a{b}", false},
		{"5551000", "${x}", false},
		{"5551000", "a\nb", false},
		{"5551000", strings.Repeat("名", MaxCallerIDName+1), false},
	} {
		err := errors.Join(CheckCallerIDNumber(tc.number), CheckCallerIDName(tc.name))
		if (err == nil) != tc.ok {
			t.Errorf("caller id %q %q = %v, want ok=%v", tc.number, tc.name, err, tc.ok)
		}
	}
}

func TestCheckEndpoint(t *testing.T) {
	for _, tc := range []struct {
		kind Kind
		dial string
		ok   bool
	}{
		{KindFreeSWITCH, "user/1001", true},
		{KindFreeSWITCH, "user/1001@10.0.0.5", true},
		{KindFreeSWITCH, "sofia/gateway/carrier-a/8613800138000", true},
		{KindFreeSWITCH, "sofia/internal/+8613800138000@127.0.0.1:5175", true},
		{KindFreeSWITCH, "loopback/1001/default", true},
		{KindFreeSWITCH, "user/1001,sofia/gateway/evil/999", false},
		{KindFreeSWITCH, "user/1001|user/1002", false},
		{KindFreeSWITCH, "{x=1}user/1001", false},
		{KindFreeSWITCH, "[x=1]user/1001", false},
		{KindFreeSWITCH, "user/1001 &park()", false},
		{KindFreeSWITCH, "loopback/1001:_:user/2", false},
		{KindFreeSWITCH, "PJSIP/1001", false},
		{KindAsterisk, "PJSIP/1001", true},
		{KindAsterisk, "PJSIP/+8613800138000@sipp-router", true},
		{KindAsterisk, "Local/1001@agents/n", true},
		{KindAsterisk, "PJSIP/1001&PJSIP/evil?x=1", false},
		{KindAsterisk, "PJSIP/1001?x=1", false},
		{KindAsterisk, "PJSIP/1001,30", false},
		{KindAsterisk, "user/1001", false},
		{KindAsterisk, "", false},
		{"sip", "PJSIP/1001", false},
	} {
		err := CheckEndpoint(tc.kind, tc.dial)
		if (err == nil) != tc.ok {
			t.Errorf("CheckEndpoint(%s, %q) = %v, want ok=%v", tc.kind, tc.dial, err, tc.ok)
		}
	}
}

func TestCheckDialTemplate(t *testing.T) {
	for _, tc := range []struct {
		kind     Kind
		template string
		ok       bool
	}{
		{KindFreeSWITCH, "sofia/gateway/carrier-a/{number}", true},
		{KindFreeSWITCH, "sofia/internal/{number}@127.0.0.1:5175", true},
		{KindAsterisk, "PJSIP/{e164}@sipp-router", true},
		{KindAsterisk, "PJSIP/1001", false},
		{KindFreeSWITCH, "{ignore_early_media=true}sofia/internal/{number}@127.0.0.1", false},
	} {
		err := CheckDialTemplate(tc.kind, tc.template)
		if (err == nil) != tc.ok {
			t.Errorf("CheckDialTemplate(%s, %q) = %v, want ok=%v", tc.kind, tc.template, err, tc.ok)
		}
	}
}

// FuzzCheckPrompt: an accepted prompt is a tone, text to speak, or a relative file name
// with nothing a media server reads as a separator, a scheme, an application or a way up.
func FuzzCheckPrompt(f *testing.F) {
	for _, s := range []string{"ivr/welcome.wav", "tone:beep", "tone:440/100", "tts:kal:hi", "system::id",
		"../x", "/x", "a b", "${x}", "a\x00", "tts:kal:${x}", "\xc0\xae", "sound:x", "a:b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if c := CleanTTS(p); strings.TrimSpace(c) != "" && CheckPrompt(TTS("", c)) != nil {
			t.Fatalf("CleanTTS(%q) does not fit the grammar", p)
		}
		if CheckPrompt(p) != nil {
			return
		}
		if !utf8.ValidString(p) || strings.ContainsAny(p, "\x00\n\r{}$\\") {
			t.Fatalf("accepted %q", p)
		}
		if _, _, ok := ParseTTS(p); ok {
			return
		}
		if _, _, err := ParseTone(p); err == nil {
			return
		}
		if strings.HasPrefix(p, "/") || slices.Contains(strings.Split(p, "/"), "..") || strings.ContainsAny(p, ": \t&|,'\"") {
			t.Fatalf("accepted file %q", p)
		}
	})
}

// FuzzCheckEndpoint: an accepted dial string has no separator that adds a leg, a variable
// block or an application.
func FuzzCheckEndpoint(f *testing.F) {
	for _, s := range []string{"user/1001", "PJSIP/1001@x", "user/1001,user/2", "PJSIP/1&PJSIP/2", "{a=b}user/1", "loopback/1:_:x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, dial string) {
		for _, k := range []Kind{KindFreeSWITCH, KindAsterisk} {
			if CheckEndpoint(k, dial) == nil && (strings.ContainsAny(dial, " ,|&{}[]<>'\"\\\n\r\x00$?=;") || strings.Contains(dial, ":_:")) {
				t.Fatalf("accepted %s endpoint %q", k, dial)
			}
		}
	})
}
