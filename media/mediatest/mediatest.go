package mediatest

import (
	"testing"

	"github.com/callplane/callplane/media"
	"github.com/callplane/callplane/media/sim"
)

// Harness is one driver connected to one node, with the hooks the cases need. A fake node
// sets every hook; a real server (make test-real) sets Dial instead of Script, and the
// cases that need a hook it lacks are skipped with the reason.
type Harness struct {
	// Driver is connected (Up) when the factory returns.
	Driver media.Driver
	// Script makes the callee at number (E.164 without '+') follow plan on every call.
	Script func(number string, plan sim.Plan)
	// Dial, for a real server whose callee is chosen by the dialled number, returns the
	// destination of a call that ends as plan.Result (its timings are the callee's own);
	// ok is false when the callee cannot do that.
	Dial func(plan sim.Plan) (req media.OriginateRequest, ok bool)
	// PressDigits makes the answered callee of callID press digits, in order.
	PressDigits func(callID, digits string) error
	// DropConnections closes every client connection from the server side, as a crashed
	// network path would; the fake's calls go on, as on a real node.
	DropConnections func()
	// Originates counts the originate requests the fake received for number (without '+').
	Originates func(number string) int
	// Received returns every command or request line the fake received, in order.
	Received func() []string
	// NewDriver connects another driver to the same node, as a restarted controller would;
	// it is closed when the test ends.
	NewDriver func(t *testing.T) media.Driver
	// Foreign starts an answered call on the node that callplane did not originate (another
	// application's) and returns its channel id.
	Foreign func(t *testing.T) string
}

// Factory starts a fake node that accepts at most maxCalls concurrent calls and returns a
// connected driver for it. A factory for a real server returns nil when maxCalls > 0 (the
// test cannot set the server's cap): the case is skipped.
type Factory func(t *testing.T, maxCalls int) *Harness

// need skips t unless the harness has every hook named (name: whether it is set).
func need(t *testing.T, hooks map[string]bool) {
	t.Helper()
	for name, ok := range hooks {
		if !ok {
			t.Skipf("this node cannot be driven by %s (a fake's hook)", name)
		}
	}
}
