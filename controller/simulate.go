package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/callplane/callplane/ari/aritest"
	"github.com/callplane/callplane/campaigns/pacesim"
	"github.com/callplane/callplane/eslbridge/esltest"
	"github.com/callplane/callplane/media/sim"
)

func simulate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("simulate: what? (freeswitch, asterisk or pacing)\n" + usage)
	}
	switch args[0] {
	case "pacing":
		return pacesim.Main(args[1:], stdout, stderr)
	case "freeswitch":
		return simulateFreeSWITCH(ctx, args[1:], stdout, stderr)
	case "asterisk":
		return simulateAsterisk(ctx, args[1:], stdout, stderr)
	}
	return fmt.Errorf("simulate: unknown %q (freeswitch, asterisk or pacing)\n%s", args[0], usage)
}

func simulateFreeSWITCH(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("simulate freeswitch", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:8021", "event socket address")
	password := fs.String("password", "ClueCon", "event socket password")
	f := addSimFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	model, err := f.model()
	if err != nil {
		return fmt.Errorf("simulate freeswitch: %w", err)
	}
	log := newLogger(stderr, LogConfig{Level: *f.logLevel, Format: "text"})
	srv := esltest.New(esltest.Options{Password: *password, Model: model, TimeScale: *f.scale, Seed: *f.seed, MaxCalls: *f.maxCalls, Logger: log})
	if err := srv.Listen(*listen); err != nil {
		return err
	}
	defer srv.Close()
	fmt.Fprintf(stdout, "simulated FreeSWITCH listening on %s\n", srv.Addr())
	return serveStats(ctx, *f.statsAddr, srv.StatsHandler(), stdout)
}

// simFlags are the outcome-model flags both simulators share.
type simFlags struct {
	answer, scale *float64
	statsAddr     *string
	seed          *uint64
	maxCalls      *int
	logLevel      *string
}

func addSimFlags(fs *flag.FlagSet) simFlags {
	return simFlags{
		answer:    fs.Float64("answer-rate", sim.Default().AnswerRate, "share of calls answered, 0..1"),
		scale:     fs.Float64("time-scale", 1, "divide every simulated duration by this"),
		statsAddr: fs.String("stats-addr", "", "serve GET /stats (originates per number) on this address"),
		seed:      fs.Uint64("seed", 1, "random seed"),
		maxCalls:  fs.Int("max-calls", 0, "concurrent call cap (0: none)"),
		logLevel:  fs.String("log-level", "info", "debug, info, warn, error"),
	}
}

func (f simFlags) model() (sim.Model, error) {
	m := sim.Default()
	m.AnswerRate = *f.answer
	if err := m.Validate(); err != nil {
		return m, err
	}
	if *f.scale < 1 {
		return m, fmt.Errorf("--time-scale %v: must be >= 1", *f.scale)
	}
	return m, nil
}

func simulateAsterisk(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("simulate asterisk", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:8088", "ARI HTTP address")
	user := fs.String("username", "callplane", "ARI user")
	password := fs.String("password", "callplane", "ARI password")
	app := fs.String("app", "", "only accept this Stasis application (default: any)")
	f := addSimFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	model, err := f.model()
	if err != nil {
		return fmt.Errorf("simulate asterisk: %w", err)
	}
	log := newLogger(stderr, LogConfig{Level: *f.logLevel, Format: "text"})
	srv := aritest.New(aritest.Options{Username: *user, Password: *password, App: *app, Model: model,
		TimeScale: *f.scale, Seed: *f.seed, MaxCalls: *f.maxCalls, Logger: log})
	if err := srv.Listen(*listen); err != nil {
		return err
	}
	defer srv.Close()
	fmt.Fprintf(stdout, "simulated Asterisk ARI on %s\n", srv.URL())
	return serveStats(ctx, *f.statsAddr, srv.StatsHandler(), stdout)
}

// serveStats serves a simulator's /stats on addr (if set) until ctx ends.
func serveStats(ctx context.Context, addr string, h http.Handler, stdout io.Writer) error {
	if addr != "" {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("stats: %w", err)
		}
		hs := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
		go hs.Serve(ln)
		defer hs.Close()
		fmt.Fprintf(stdout, "stats on http://%s/stats\n", ln.Addr())
	}
	<-ctx.Done()
	return nil
}
