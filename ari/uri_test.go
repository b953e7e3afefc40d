package ari

import (
	"slices"
	"strings"
	"testing"
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
