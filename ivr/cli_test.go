package ivr

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestValidateMain(t *testing.T) {
	dir := t.TempDir()
	warn := filepath.Join(dir, "warn.yaml")
	if err := os.WriteFile(warn, []byte("id: w\nversion: 1\nstart: a\nnodes:\n  a: {kind: hangup}\n  b: {kind: hangup}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(flowsDir, "press1.yaml")
	broken := filepath.Join("testdata", "broken", "missing_target.yaml")
	tests := []struct {
		name       string
		args       []string
		code       int
		stdout     string // exact
		stderrPart string
	}{
		{"no files", nil, 2, "", "usage: callplane flows validate FILE..."},
		{"unknown flag", []string{"-x", good}, 2, "", "flag provided but not defined"},
		{"good file", []string{good}, 0, good + ": ok\n", ""},
		{"warnings only", []string{warn}, 0, warn + ":6:3: warning: node \"b\" cannot be reached from start \"a\"\n" + warn + ": 0 errors, 1 warning\n", ""},
		{"errors and warnings", []string{good, broken}, 1, good + ": ok\n" +
			broken + ":9:11: error: no node named \"menu\"\n" +
			broken + ":10:3: warning: node \"main\" cannot be reached from start \"hello\"\n" +
			broken + ":15:12: error: no node named \"nowhere\"\n" +
			broken + ":17:3: warning: node \"bye\" cannot be reached from start \"hello\"\n" +
			broken + ": 2 errors, 2 warnings\n", ""},
		{"missing file", []string{filepath.Join(dir, "none.yaml"), good}, 1, good + ": ok\n", "none.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if code := ValidateMain(tt.args, &out, &errOut); code != tt.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tt.code, errOut.String())
			}
			if out.String() != tt.stdout {
				t.Errorf("stdout:\n%s\nwant:\n%s", out.String(), tt.stdout)
			}
			if !strings.Contains(errOut.String(), tt.stderrPart) || (tt.stderrPart == "" && errOut.Len() > 0) {
				t.Errorf("stderr %q, want it to contain %q", errOut.String(), tt.stderrPart)
			}
		})
	}
}

func TestGraphMain(t *testing.T) {
	abandon := filepath.Join(flowsDir, "abandon.yaml")
	broken := filepath.Join("testdata", "broken", "loop.yaml")
	tests := []struct {
		name       string
		args       []string
		code       int
		stdoutPart string
		stderrPart string
	}{
		{"no file", nil, 2, "", "usage: callplane flows graph FILE"},
		{"two files", []string{abandon, abandon}, 2, "", "usage"},
		{"good flow", []string{abandon}, 0, "flowchart TD\n    start((start))\n    n0([\"message<br/>hangup\"])\n    start --> n0\n", ""},
		{"broken flow", []string{broken}, 1, "", "loop.yaml:7:3: error: loop with no way out"},
		{"missing file", []string{"none.yaml"}, 1, "", "none.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if code := GraphMain(tt.args, &out, &errOut); code != tt.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tt.code, errOut.String())
			}
			if tt.stdoutPart == "" && out.Len() > 0 || !strings.Contains(out.String(), tt.stdoutPart) {
				t.Errorf("stdout %q, want %q", out.String(), tt.stdoutPart)
			}
			if !strings.Contains(errOut.String(), tt.stderrPart) {
				t.Errorf("stderr %q, want it to contain %q", errOut.String(), tt.stderrPart)
			}
		})
	}
}
