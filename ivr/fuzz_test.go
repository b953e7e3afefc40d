package ivr

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse: Parse never panics, every problem has a position (line >= 1, col >= 1), a
// flow comes back exactly when no problem is an error, and a flow that loads can be drawn
// and started.
func FuzzParse(f *testing.F) {
	for _, pattern := range []string{filepath.Join(flowsDir, "*.yaml"), "testdata/broken/*.yaml"} {
		files, _ := filepath.Glob(pattern)
		for _, path := range files {
			data, err := os.ReadFile(path)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Add([]byte(""))
	f.Add([]byte("id: x\nversion: 1\nstart: a\nnodes:\n  a: &a {kind: play, prompt: {tts: x}, next: a}\n  b: *a\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		flow, probs := Parse("fuzz.yaml", data)
		for _, p := range probs {
			if p.Line < 1 || p.Col < 1 || p.File != "fuzz.yaml" || p.Msg == "" {
				t.Fatalf("problem without a position or message: %+v", p)
			}
		}
		if (flow == nil) != HasErrors(probs) {
			t.Fatalf("flow %v with problems %v", flow != nil, probs)
		}
		if flow == nil {
			return
		}
		Mermaid(flow)
		st, _, _, err := Step(flow, State{}, Event{Kind: EventStart}, Context{})
		if err == nil && st.Phase == PhaseNew {
			t.Fatalf("Start left the flow unstarted: %+v", st)
		}
		for _, k := range []EventKind{EventPlaybackDone, EventInputTimeout, EventWebhookFailed, EventTransferFailed, EventCallerHungUp} {
			if next, _, _, err := Step(flow, st, Event{Kind: k, Digits: "1"}, Context{}); err == nil {
				st = next
			}
		}
	})
}
