package mediatest

import (
	"testing"

	"github.com/callplane/callplane/media"
	"github.com/callplane/callplane/media/sim"
)

// Harness is one driver connected to one fake node, with the hooks the cases need.
type Harness struct {
	// Driver is connected (Up) when the factory returns.
	Driver media.Driver
	// Script makes the callee at number (E.164 without '+') follow plan on every call.
	Script func(number string, plan sim.Plan)
	// PressDigits makes the answered callee of callID press digits, in order.
	PressDigits func(callID, digits string) error
	// DropConnections closes every client connection from the server side, as a crashed
	// network path would; the fake's calls go on, as on a real node.
	DropConnections func()
	// Originates counts the originate requests the fake received for number (without '+').
	Originates func(number string) int
	// Received returns every command or request line the fake received, in order.
	Received func() []string
}

// Factory starts a fake node that accepts at most maxCalls concurrent calls and returns a
// connected driver for it.
type Factory func(t *testing.T, maxCalls int) *Harness
