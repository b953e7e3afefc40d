package pacesim

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
)

// Main implements `callplane simulate pacing --scenario FILE [--scenario FILE...] [--json]`:
// it loads every scenario first (so a bad file fails before any work), runs them in order
// and prints a table per scenario, or one JSON array of reports.
func Main(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("simulate pacing", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var files []string
	fs.Func("scenario", "scenario `FILE` (YAML, see configs/scenarios/README.md); repeatable", func(s string) error {
		files = append(files, s)
		return nil
	})
	asJSON := fs.Bool("json", false, "print the reports as JSON")
	parallel := fs.Int("parallel", 0, "simulations run at once (default: GOMAXPROCS); never changes the result")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: callplane simulate pacing --scenario FILE [--scenario FILE...] [--json] [--parallel N]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if len(files) == 0 {
		fs.Usage()
		return errors.New("--scenario is required")
	}
	var scs []Scenario
	for _, f := range files {
		sc, err := LoadScenario(f)
		if err != nil {
			return err
		}
		scs = append(scs, sc)
	}
	var reps []Report
	for i, sc := range scs {
		rep := RunWith(sc, Options{Parallel: *parallel})
		if *asJSON {
			reps = append(reps, rep)
			continue
		}
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		if err := rep.WriteTable(stdout); err != nil {
			return err
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(reps)
	}
	return nil
}
