package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	"time"
	_ "time/tzdata" // time zones in images without tzdata

	"github.com/callplane/callplane/ivr"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		var code exitCode
		if errors.As(err, &code) {
			os.Exit(int(code))
		}
		fmt.Fprintln(os.Stderr, "callplane:", err)
		os.Exit(1)
	}
}

const usage = `usage:
  callplane serve --config FILE [--demo]
  callplane migrate --config FILE
  callplane simulate freeswitch --listen ADDR [--password P] [--answer-rate F] [--time-scale F] [--stats-addr ADDR] [--seed N] [--max-calls N]
  callplane simulate asterisk --listen ADDR [--username U] [--password P] [--app A] [--answer-rate F] [--time-scale F] [--stats-addr ADDR] [--seed N] [--max-calls N]
  callplane simulate pacing --scenario FILE [--scenario FILE...] [--json] [--parallel N]
  callplane flows validate FILE...
  callplane flows graph FILE`

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New(usage)
	}
	switch args[0] {
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "callplane", version())
		return nil
	}
	if i := slices.IndexFunc(args, func(a string) bool { return a == "-h" || a == "-help" || a == "--help" || a == "help" }); i >= 0 {
		fmt.Fprintln(stdout, usageOf(args[:i]))
		return nil
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], stderr)
	case "migrate":
		return migrate(ctx, args[1:], stderr)
	case "simulate":
		return simulate(ctx, args[1:], stdout, stderr)
	case "flows":
		return flows(args[1:], stdout, stderr)
	}
	return fmt.Errorf("unknown command %q\n%s", args[0], usage)
}

// tokenFile is where a demo writes the admin token it generated (README's examples read it).
const tokenFile = ".data/admin-token"

// banner is what `serve` prints once it is up: where the API is, the token (only one it
// generated: a token from the environment is the operator's secret), and what to try.
// A demo also writes a generated token to tokenFile.
func banner(addr, token string, generated, demo bool) string {
	api := "http://" + addr + "/api/v1"
	tok, use := "from CALLPLANE_ADMIN_TOKEN", "$CALLPLANE_ADMIN_TOKEN"
	if generated {
		use = token
		tok = token + "   (generated; set CALLPLANE_ADMIN_TOKEN to choose one)"
		if demo {
			if err := os.MkdirAll(filepath.Dir(tokenFile), 0o700); err == nil && os.WriteFile(tokenFile, []byte(token), 0o600) == nil {
				tok += "\n           also in " + tokenFile
				use = "$(cat " + tokenFile + ")"
			}
		}
	}
	return fmt.Sprintf(`
callplane is up
  API      %s   (OpenAPI: %s/openapi.yaml)
  token    %s
  next     curl -s -H "Authorization: Bearer %s" %s/campaigns/1/stats
           curl -s -N -H "Authorization: Bearer %s" %s/events   # live call events

`, api, api, tok, use, api, use, api)
}

// usageOf is the usage of the command words (the lines of usage that start with them, or
// all of it).
func usageOf(words []string) string {
	prefix := strings.Join(append([]string{"callplane"}, words...), " ")
	var lines []string
	for _, l := range strings.Split(usage, "\n")[1:] {
		if strings.HasPrefix(strings.TrimSpace(l), prefix) {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		return usage
	}
	return "usage:\n" + strings.Join(lines, "\n")
}

// version is the module version and VCS revision the binary was built from.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	v := bi.Main.Version
	for _, st := range bi.Settings {
		switch st.Key {
		case "vcs.revision":
			v += " " + st.Value
		case "vcs.modified":
			if st.Value == "true" {
				v += " (modified)"
			}
		}
	}
	return v + " " + bi.GoVersion
}

func newLogger(w io.Writer, c LogConfig) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func serve(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	path := fs.String("config", "", "YAML configuration file")
	demo := fs.Bool("demo", false, "add simulated media nodes, a local PostgreSQL and a demo campaign")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := LoadConfig(*path, os.Getenv)
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg.Log)
	generated := cfg.Auth.AdminToken == ""
	if generated {
		cfg.Auth.AdminToken = newToken()
	}
	app := New(cfg, Options{Demo: *demo, Log: log})
	if err := app.Start(ctx); err != nil {
		stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = app.Stop(stopCtx)
		return err
	}
	log.Info("callplane is serving", "addr", "http://"+app.Addr(), "demo", *demo)
	fmt.Fprint(stderr, banner(app.Addr(), cfg.Auth.AdminToken, generated, *demo))
	<-ctx.Done()
	log.Info("shutting down")
	stopCtx, cancel := context.WithTimeout(context.Background(), cfg.Dialer.DrainTimeout+30*time.Second)
	defer cancel()
	if err := app.Stop(stopCtx); err != nil {
		return err
	}
	log.Info("stopped")
	return nil
}

func migrate(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	path := fs.String("config", "", "YAML configuration file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := LoadConfig(*path, os.Getenv)
	if err != nil {
		return err
	}
	if cfg.Database.URL == "" {
		return errors.New("migrate: set DATABASE_URL (or database.url)")
	}
	db, err := openDB(ctx, cfg.Database.URL)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := migrateDB(ctx, db); err != nil {
		return err
	}
	fmt.Fprintln(stderr, "callplane: migrations applied")
	return nil
}

// flows runs `flows validate FILE...` (every problem as file:line:col, non-zero exit on
// errors) and `flows graph FILE` (the flow as a Mermaid diagram).
func flows(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("flows: validate or graph?\n" + usage)
	}
	var code int
	switch args[0] {
	case "validate":
		code = ivr.ValidateMain(args[1:], stdout, stderr)
	case "graph":
		code = ivr.GraphMain(args[1:], stdout, stderr)
	default:
		return fmt.Errorf("flows: unknown command %q (validate or graph)\n%s", args[0], usage)
	}
	if code != 0 {
		return exitCode(code)
	}
	return nil
}

// exitCode is an error that only sets the process's exit status (the command has printed
// what went wrong).
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }
