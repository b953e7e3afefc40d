// Package ivr owns IVR flows written in YAML: their schema (Flow, Node and the node
// kinds), the loader (Load, Parse) whose every problem carries file:line:col, the validator
// that the loader runs (missing and unknown targets, unreachable nodes, loops with no way
// out, bad durations, patterns, templates and expressions), the interpreter (Step), a pure
// state machine that turns call events into media actions, and Mermaid, a drawing of a flow.
//
// The format is documented field by field in configs/flows/README.md, and
// configs/flows/schema.json is its JSON Schema; a test keeps both in step with the loader.
//
// Imports: the standard library and gopkg.in/yaml.v3 (and at most media); never a driver,
// campaigns or controller. Nothing here does I/O except Load reading its file; Step never
// reads the clock (the time comes in Context.Now).
//
// Concurrency: a *Flow is immutable once loaded and safe to share between goroutines; the
// caller must not modify it. Step is a pure function of its arguments: it does not modify
// the State it is given and returns a new one, so a call's state may be stored and resumed
// (State is JSON-tagged).
package ivr
