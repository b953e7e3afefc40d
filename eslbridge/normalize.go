package eslbridge

import (
	"net/textproto"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/callplane/callplane/media"
)

// rawEvent is the part of a FreeSWITCH event the normalizer reads, decoded.
type rawEvent struct {
	name    string
	core    string // Core-UUID: Event-Sequence is monotonic per core
	seq     uint64
	uuid    string // Unique-ID
	ours    string // variable_callplane_call_id
	job     string // BACKGROUND_JOB: the call id its originate asked for (origination_uuid)
	body    string
	arrived time.Time

	hasTimes                          bool // the event carries the Caller-Channel-*-Time snapshot
	progress, progressMedia, answered bool
	hangupCause                       string
	sip                               int
	talk                              time.Duration
	digit, file                       string
	recordDur                         time.Duration
	bridgeA, bridgeB                  string
}

var originationUUID = regexp.MustCompile(`(?:^|[{,\[])origination_uuid=([0-9A-Za-z-]+)`)

// jobCall is the call id an originate's arguments asked for, or "".
func jobCall(arg string) string {
	if m := originationUUID.FindStringSubmatch(arg); m != nil {
		return m[1]
	}
	return ""
}

// header reads one header, url-decoded, from an event's MIME headers.
func header(h textproto.MIMEHeader, name string) string {
	v := h.Get(name)
	if strings.IndexByte(v, '%') < 0 {
		return v
	}
	if d, err := url.PathUnescape(v); err == nil {
		return d
	}
	return v
}

func timeSet(v string) bool { return v != "" && v != "0" }

// decode extracts a rawEvent from an event's headers and body.
func decode(h textproto.MIMEHeader, body []byte, arrived time.Time) *rawEvent {
	e := &rawEvent{
		name:    header(h, "Event-Name"),
		core:    header(h, "Core-UUID"),
		uuid:    header(h, "Unique-ID"),
		ours:    header(h, "Variable_callplane_call_id"),
		job:     jobCall(header(h, "Job-Command-Arg")),
		body:    string(body),
		arrived: arrived,
	}
	e.seq, _ = strconv.ParseUint(header(h, "Event-Sequence"), 10, 64)
	if a := h.Get("Caller-Channel-Answered-Time"); a != "" {
		e.hasTimes = true
		e.answered = timeSet(a)
		e.progress = timeSet(h.Get("Caller-Channel-Progress-Time"))
		e.progressMedia = timeSet(h.Get("Caller-Channel-Progress-Media-Time"))
	}
	e.hangupCause = header(h, "Hangup-Cause")
	e.sip, _ = strconv.Atoi(header(h, "Variable_sip_term_status"))
	if ms, err := strconv.ParseInt(header(h, "Variable_billmsec"), 10, 64); err == nil {
		e.talk = time.Duration(ms) * time.Millisecond
	} else if s, err := strconv.ParseInt(header(h, "Variable_billsec"), 10, 64); err == nil {
		e.talk = time.Duration(s) * time.Second
	}
	switch e.name {
	case "DTMF":
		e.digit = header(h, "DTMF-Digit")
	case "PLAYBACK_START", "PLAYBACK_STOP":
		e.file = header(h, "Playback-File-Path")
	case "CHANNEL_EXECUTE", "CHANNEL_EXECUTE_COMPLETE":
		// speak fires no PLAYBACK_* events (FreeSWITCH 1.10.12): its execution brackets
		// the speech. file is its uuid_broadcast argument; other applications leave it "".
		if header(h, "Application") == "speak" {
			e.file = "speak::" + header(h, "Application-Data")
		}
	case "RECORD_STOP":
		e.file = header(h, "Record-File-Path")
		if ms, err := strconv.ParseInt(header(h, "Variable_record_ms"), 10, 64); err == nil {
			e.recordDur = time.Duration(ms) * time.Millisecond
		} else if s, err := strconv.ParseInt(header(h, "Variable_record_seconds"), 10, 64); err == nil {
			e.recordDur = time.Duration(s) * time.Second
		}
	case "CHANNEL_BRIDGE":
		e.bridgeA = header(h, "Bridge-A-Unique-ID")
		e.bridgeB = header(h, "Bridge-B-Unique-ID")
		if e.bridgeB == "" {
			e.bridgeB = header(h, "Other-Leg-Unique-ID")
		}
	}
	return e
}

// callState is what the normalizer knows of one call.
type callState struct {
	id                        string
	awaitJob                  bool // originated here: the BACKGROUND_JOB's -ERR may be its only end
	ringing, early, answered  bool // as delivered
	sawRing, sawEarly, sawAns bool // as seen in any snapshot
	sip                       int
	lastSeq                   uint64
	lastCore                  string
	recordings                map[string]string // node's absolute path -> the path Record was given
	plays                     map[string]string // uuid_broadcast argument -> the prompt Play was given
}

// normalizer turns ordered FreeSWITCH events into media.Events, per call. It is owned by
// one goroutine.
type normalizer struct {
	node  string
	now   func() time.Time
	calls map[string]*callState // by call id (= Unique-ID)
	ended map[string]time.Time  // tombstones: late events of ended calls are dropped
	emit  func(media.Event)
}

func newNormalizer(node string, now func() time.Time, emit func(media.Event)) *normalizer {
	return &normalizer{node: node, now: now, emit: emit,
		calls: make(map[string]*callState), ended: make(map[string]time.Time)}
}

// recording notes that the node records call id to abs because Record was asked for
// asked, so that its RECORD_STOP reports asked.
func (n *normalizer) recording(id, abs, asked string) {
	if cs := n.calls[id]; cs != nil && abs != asked {
		if cs.recordings == nil {
			cs.recordings = map[string]string{}
		}
		cs.recordings[abs] = asked
	}
}

// playing notes that Play's prompt asked reached the node as arg.
func (n *normalizer) playing(id, arg, asked string) {
	if cs := n.calls[id]; cs != nil {
		if cs.plays == nil {
			cs.plays = map[string]string{}
		}
		cs.plays[arg] = asked
	}
}

// prompt is the prompt Play was given for a playback the node reports as file: FreeSWITCH
// reports a sound file by the path it resolved under its sound prefix.
func (cs *callState) prompt(file string) string {
	for arg, asked := range cs.plays {
		if file == arg || strings.HasSuffix(file, "/"+arg) {
			return asked
		}
	}
	return file
}

// track starts following a call the driver originates; false if the id is in use.
func (n *normalizer) track(id string) bool {
	if _, ok := n.calls[id]; ok {
		return false
	}
	delete(n.ended, id)
	n.calls[id] = &callState{id: id, awaitJob: true}
	return true
}

// untrack forgets a call whose originate was never sent.
func (n *normalizer) untrack(id string) {
	delete(n.calls, id)
}

// adopt follows a callplane call the driver did not originate (controller restart).
func (n *normalizer) adopt(id string) {
	if _, gone := n.ended[id]; gone {
		return
	}
	if _, ok := n.calls[id]; !ok {
		n.calls[id] = &callState{id: id}
	}
}

func (n *normalizer) tracked(id string) bool { _, ok := n.calls[id]; return ok }

func (n *normalizer) ev(kind media.EventKind, id string) media.Event {
	return media.Event{Kind: kind, CallID: id, Node: n.node, At: n.now()}
}

// finish delivers the terminal event and forgets the call.
func (n *normalizer) finish(cs *callState, h media.Hangup) {
	e := n.ev(media.EventHangup, cs.id)
	e.Hangup = &h
	n.emit(e)
	delete(n.calls, cs.id)
	n.ended[cs.id] = n.now()
	if len(n.ended) > 4096 {
		cut := n.now().Add(-10 * time.Minute)
		for id, at := range n.ended {
			if at.Before(cut) {
				delete(n.ended, id)
			}
		}
	}
}

// lost ends a call whose end the driver could not see.
func (n *normalizer) lost(id string) {
	cs, ok := n.calls[id]
	if !ok {
		return
	}
	n.finish(cs, media.Hangup{NodeLost: true, Answered: cs.answered || cs.sawAns,
		Ringing: cs.sawRing || cs.sawEarly, SIPCode: cs.sip})
}

// handle applies one event; events must come in Event-Sequence order as far as possible
// (the sequencer's job). A state event older than one already applied to its call is
// dropped: the newer event's snapshot already covered it.
func (n *normalizer) handle(e *rawEvent) {
	if e.name == "BACKGROUND_JOB" {
		n.job(e)
		return
	}
	if e.uuid == "" {
		return
	}
	cs, ok := n.calls[e.uuid]
	if !ok {
		if _, gone := n.ended[e.uuid]; gone || e.ours == "" || e.ours != e.uuid {
			return
		}
		n.adopt(e.uuid)
		cs = n.calls[e.uuid]
	}
	stale := e.seq != 0 && cs.lastCore == e.core && e.seq < cs.lastSeq
	if !stale {
		cs.lastSeq, cs.lastCore = e.seq, e.core
	}
	if e.sip != 0 {
		cs.sip = e.sip
	}
	switch e.name {
	case "CHANNEL_PROGRESS":
		e.progress, e.hasTimes = true, true
	case "CHANNEL_PROGRESS_MEDIA":
		e.progressMedia, e.hasTimes = true, true
	case "CHANNEL_ANSWER":
		e.answered, e.hasTimes = true, true
	}
	if e.hasTimes {
		cs.sawRing = cs.sawRing || e.progress
		cs.sawEarly = cs.sawEarly || e.progressMedia
		cs.sawAns = cs.sawAns || e.answered
		if !stale {
			// Deliver every transition the snapshot shows and the call has not had,
			// so a lost or late CHANNEL_ANSWER is still reported before the hangup.
			if !cs.answered && e.progress && !cs.ringing && !cs.early {
				cs.ringing = true
				n.emit(n.ev(media.EventRinging, cs.id))
			}
			if !cs.answered && e.progressMedia && !cs.early {
				cs.early = true
				n.emit(n.ev(media.EventEarlyMedia, cs.id))
			}
			if e.answered && !cs.answered {
				cs.answered = true
				n.emit(n.ev(media.EventAnswered, cs.id))
			}
		}
	}
	switch e.name {
	case "DTMF":
		x := n.ev(media.EventDTMF, cs.id)
		x.Digit = e.digit
		n.emit(x)
	case "PLAYBACK_START", "PLAYBACK_STOP", "CHANNEL_EXECUTE", "CHANNEL_EXECUTE_COMPLETE":
		if e.file == "" {
			break
		}
		kind := media.EventPlaybackStarted
		if e.name == "PLAYBACK_STOP" || e.name == "CHANNEL_EXECUTE_COMPLETE" {
			kind = media.EventPlaybackFinished
		}
		x := n.ev(kind, cs.id)
		x.File = cs.prompt(e.file)
		n.emit(x)
	case "RECORD_STOP":
		x := n.ev(media.EventRecordingFinished, cs.id)
		x.File, x.Duration = e.file, e.recordDur
		if asked, ok := cs.recordings[e.file]; ok {
			x.File = asked
			delete(cs.recordings, e.file)
		}
		n.emit(x)
	case "CHANNEL_BRIDGE":
		n.emit(n.ev(media.EventBridged, cs.id))
		other := e.bridgeB
		if other == cs.id {
			other = e.bridgeA
		}
		if _, ok := n.calls[other]; ok && other != cs.id {
			n.emit(n.ev(media.EventBridged, other))
		}
	case "CHANNEL_HANGUP_COMPLETE":
		n.finish(cs, media.Hangup{
			Cause:    media.CauseFromName(e.hangupCause),
			SIPCode:  cs.sip,
			Answered: cs.answered || e.answered,
			Ringing:  cs.sawRing || cs.sawEarly,
			Talk:     e.talk,
		})
	}
}

// job applies a BACKGROUND_JOB: +OK says nothing about the call (early media gets +OK
// before any answer); -ERR ends it when the channel's own hangup has not. The job is
// found by the origination_uuid in its Job-Command-Arg, not by a Job-UUID of ours:
// FreeSWITCH 1.10.12 took a Job-UUID line after `bgapi originate` as part of the
// arguments and chose its own (testdata/real-bgapi-job-uuid.txt), so a throttled
// originate, which has no channel and no other event, was never ended.
func (n *normalizer) job(e *rawEvent) {
	cs, ok := n.calls[e.job]
	if !ok || !cs.awaitJob {
		return
	}
	cs.awaitJob = false
	body := strings.TrimSpace(e.body)
	if strings.HasPrefix(body, "+OK") {
		return
	}
	name := strings.TrimSpace(strings.TrimPrefix(body, "-ERR"))
	if i := strings.IndexAny(name, " \n"); i >= 0 {
		name = name[:i]
	}
	if name == "" {
		name = "NORMAL_TEMPORARY_FAILURE"
	}
	n.finish(cs, media.Hangup{
		Cause:    media.CauseFromName(name),
		SIPCode:  cs.sip,
		Answered: cs.answered || cs.sawAns,
		Ringing:  cs.sawRing || cs.sawEarly,
	})
}
