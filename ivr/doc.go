// Package ivr owns IVR flows written in YAML: their schema (Flow, Node and the node
// kinds), the loader (Load, Parse) whose every problem carries file:line:col, the validator
// that the loader runs (missing and unknown targets, unreachable nodes, loops with no way
// out, bad durations, patterns, templates and expressions), the interpreter (Step), a pure
// state machine that turns call events into media actions, and Mermaid, a drawing of a flow.
//
// The format is documented field by field in configs/flows/README.md, and
// configs/flows/schema.json is its JSON Schema; a test keeps both in step with the loader.
//
// Flows are hostile input: they are written through the API and filled with contact data.
// The loader refuses a file over MaxFlowBytes (1 MiB), MaxValues YAML values (aliases
// counted as copies) or MaxNodes (2,000) nodes with that one problem, before validating;
// within those bounds loading and validation are linear in the size of the file (see
// BenchmarkLoadChain), and at most MaxProblems problems are listed. Prompts are held to
// media.CheckPrompt's grammar when loaded and again when rendered (see Prompt and Play);
// a webhook's scheme and host are fixed when loaded, variables filling only its path and
// query, escaped (see checkWebhookURL and Webhook); what its body carries of the contact
// is the flow's webhook_contact (see WebhookBody).
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
