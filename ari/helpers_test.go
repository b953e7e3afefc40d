package ari_test

import (
	"context"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/callplane/callplane/ari"
	"github.com/callplane/callplane/ari/aritest"
)

// testLogger logs to stderr with -v and ARI_TEST_LOG=1, else discards.
func testLogger() *slog.Logger {
	if os.Getenv("ARI_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return nil
}

// startFake starts a fake node on loopback, closed at cleanup.
func startFake(t testing.TB, opts aritest.Options) *aritest.Server {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = testLogger()
	}
	srv := aritest.New(opts)
	if err := srv.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

// startDriver connects a driver to srv, closed at cleanup (before the fake).
func startDriver(t testing.TB, srv *aritest.Server, cfg ari.Config) *ari.Driver {
	t.Helper()
	cfg.URL = srv.URL()
	if cfg.Username == "" {
		cfg.Username, cfg.Password = "asterisk", "asterisk"
	}
	if cfg.Name == "" {
		cfg.Name = "ast-1"
	}
	if cfg.ReconnectMin == 0 {
		cfg.ReconnectMin, cfg.ReconnectMax = 10*time.Millisecond, 50*time.Millisecond
	}
	d := ari.New(cfg, nil, testLogger())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.Start(ctx); err != nil {
		d.Close()
		t.Fatalf("start driver: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// checkNoLeaks fails when goroutines of ari or aritest outlive the test's cleanups.
func checkNoLeaks(t *testing.T) {
	t.Cleanup(func() {
		var stacks string
		for range 500 {
			buf := make([]byte, 1<<20)
			stacks = string(buf[:runtime.Stack(buf, true)])
			leaked := false
			for _, g := range strings.Split(stacks, "\n\n") {
				if strings.Contains(g, "callplane/ari.") || strings.Contains(g, "callplane/ari/aritest.") {
					if !strings.Contains(g, "checkNoLeaks") && !strings.Contains(g, "testing.tRunner") {
						leaked = true
					}
				}
			}
			if !leaked {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Errorf("goroutines leaked:\n%s", stacks)
	})
}
