package main

import (
	"bytes"
	"strings"
	"testing"
)

// Every command answers --help and -h with its usage and success; --version too.
func TestHelpAndVersionExitZero(t *testing.T) {
	for _, args := range [][]string{
		{"--version"}, {"version"}, {"--help"}, {"help"}, {"-h"},
		{"serve", "--help"}, {"migrate", "-h"}, {"simulate", "--help"},
		{"simulate", "freeswitch", "--help"}, {"simulate", "asterisk", "--help"}, {"simulate", "pacing", "-h"},
		{"flows", "--help"}, {"flows", "validate", "--help"}, {"flows", "graph", "-h"},
	} {
		var out bytes.Buffer
		if err := run(args, &out, &out); err != nil {
			t.Errorf("%v: %v", args, err)
		}
		if !strings.Contains(out.String(), "callplane") {
			t.Errorf("%v printed %q", args, out.String())
		}
	}
}
