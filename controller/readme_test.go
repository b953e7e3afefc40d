package main

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestREADMEExamples runs the README's API examples verbatim (the broadcast campaign, the
// agents, the flows) against the demo `make run` starts, in-process: only the API address
// differs, and the token is where `make run` writes it. Each curl must succeed (any 4xx or
// 5xx fails the script).
func TestREADMEExamples(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo")
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(string(readme), -1)
	var script []string
	for _, b := range blocks {
		if strings.Contains(b[1], "$API") || strings.Contains(b[1], "API=") {
			script = append(script, b[1])
		}
	}
	if len(script) < 3 {
		t.Fatalf("found %d API blocks in the README", len(script))
	}
	cfg, err := LoadConfig("../configs/callplane.demo.yaml", func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.Database.URL = db.Fresh(t)
	cfg.Auth.AdminToken = token
	cfg.FlowsDir = "../configs/flows"
	app := New(cfg, Options{Demo: true, Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))})
	if err := app.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		app.Stop(ctx)
	})

	dir := t.TempDir() // the repository as the reader has it: configs, and .data/admin-token
	os.Mkdir(filepath.Join(dir, ".data"), 0o700)
	os.WriteFile(filepath.Join(dir, tokenFile), []byte(token), 0o600)
	repo, _ := filepath.Abs("..")
	os.Symlink(filepath.Join(repo, "configs"), filepath.Join(dir, "configs"))
	bin := filepath.Dir(buildBinary(t))
	body := strings.ReplaceAll(strings.Join(script, "\n"), "API=http://127.0.0.1:8080/api/v1", "API=http://"+app.Addr()+"/api/v1")
	cmd := exec.Command("bash", "-c", "set -eo pipefail\ncurl() { command curl --fail-with-body \"$@\"; }\n"+body)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("README examples: %v\n%s", err, out)
	}
	t.Logf("README examples:\n%s", out)
}
