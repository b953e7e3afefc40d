package ivr

import (
	"flag"
	"fmt"
	"io"
)

// ValidateMain is `callplane flows validate FILE...`: it prints every problem of every
// file as file:line:col: severity: msg, then one summary line per file ("file: ok" or
// "file: N errors, M warnings"). It returns 0 when no file has an error, 1 when one does
// or cannot be read, 2 on a usage error.
func ValidateMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("callplane flows validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: callplane flows validate FILE...")
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	code := 0
	for _, path := range fs.Args() {
		_, probs, err := Load(path)
		if err != nil {
			fmt.Fprintf(stderr, "callplane flows validate: %v\n", err)
			code = 1
			continue
		}
		errs, warns := 0, 0
		for _, p := range probs {
			fmt.Fprintln(stdout, p)
			if p.Severity == SeverityError {
				errs++
			} else {
				warns++
			}
		}
		if len(probs) == 0 {
			fmt.Fprintf(stdout, "%s: ok\n", path)
		} else {
			fmt.Fprintf(stdout, "%s: %s, %s\n", path, plural(errs, "error"), plural(warns, "warning"))
		}
		if errs > 0 {
			code = 1
		}
	}
	return code
}

// GraphMain is `callplane flows graph FILE`: it prints the flow as a Mermaid flowchart.
// Problems go to stderr; a flow with errors is not drawn and the exit status is 1. It
// returns 2 on a usage error.
func GraphMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("callplane flows graph", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: callplane flows graph FILE")
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	f, probs, err := Load(fs.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "callplane flows graph: %v\n", err)
		return 1
	}
	for _, p := range probs {
		fmt.Fprintln(stderr, p)
	}
	if f == nil {
		return 1
	}
	io.WriteString(stdout, Mermaid(f))
	return 0
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
