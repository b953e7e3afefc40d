// Package ivr will own IVR flows written in YAML: their schema, a loader whose errors carry
// file:line:col, a validator, and an interpreter that is a pure state machine turning call
// events into media actions. It imports media only.
//
// Not implemented yet (its own issue); broadcast campaigns play one prompt for now.
package ivr
