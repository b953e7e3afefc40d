package ivr

import (
	"fmt"
	"slices"
)

// Severity grades a Problem.
type Severity string

const (
	SeverityError   Severity = "error"   // the flow cannot be used
	SeverityWarning Severity = "warning" // the flow works but something is likely a mistake
)

// Problem is one thing wrong with a flow file, located where it is written.
type Problem struct {
	File      string
	Line, Col int // 1-based; a YAML syntax error has Col 1 (yaml.v3 reports lines only)
	Severity  Severity
	Msg       string
}

// String formats the problem as compilers do: "file:line:col: error: msg".
func (p Problem) String() string {
	return fmt.Sprintf("%s:%d:%d: %s: %s", p.File, p.Line, p.Col, p.Severity, p.Msg)
}

// HasErrors reports whether any problem is an error.
func HasErrors(ps []Problem) bool {
	return slices.ContainsFunc(ps, func(p Problem) bool { return p.Severity == SeverityError })
}

// sortProblems orders problems by position, errors before warnings at the same place.
func sortProblems(ps []Problem) {
	slices.SortStableFunc(ps, func(a, b Problem) int {
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		if a.Col != b.Col {
			return a.Col - b.Col
		}
		if a.Severity != b.Severity {
			if a.Severity == SeverityError {
				return -1
			}
			return 1
		}
		return 0
	})
}
