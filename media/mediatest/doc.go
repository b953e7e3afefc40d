// Package mediatest is the conformance suite every media driver passes: the same cases
// run against eslbridge + esltest and ari + aritest over real loopback sockets.
//
// A driver's test calls Run(t, factory); the factory starts a fake node and a connected
// driver for one case and registers their cleanup with t.Cleanup. Each subtest gets a
// fresh harness and scripts its callees with Harness.Script (sim.Plan, durations of tens
// of milliseconds), so outcomes are deterministic:
//
//   - AnswerThenRemoteHangup: answered, NORMAL_CLEARING, Talk > 0, one originate on the node
//   - Busy, NoAnswer (rings out within the ring timeout), UnallocatedNumber
//   - CancelWhileRinging: Hangup(ORIGINATOR_CANCEL) while ringing -> canceled
//   - Recording: Record then StopRecord -> EventRecordingFinished with the path, Duration > 0
//   - DTMFInOrder: PressDigits -> EventDTMF digits in order
//   - Bridge: two answered calls -> EventBridged on both
//   - RefusedAtCapacity (maxCalls 1): the second originate fails (an error, or a hangup
//     that is not answered) and the first call is unharmed
//   - ConnectionDropped: Up false then true; a call that ended meanwhile ends NodeLost or
//     with its real outcome; a call that lives on delivers its later hangup, not NodeLost
//   - PerCallOrder: 60 concurrent calls of mixed outcomes
//
// After every case each call's events must be well formed: phases never go back
// (ringing/early media, answered, in-call events, hangup), in-call events only after
// answer, at most one answer and one hangup, nothing after the hangup, Node set.
// Waits use generous deadlines; nothing asserts on elapsed time.
//
// Imports: media, media/sim and the standard library.
package mediatest
