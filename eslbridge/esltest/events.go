package esltest

import (
	"strconv"
	"strings"
	"time"
)

// event is one FreeSWITCH event before serialization: ordered headers and an optional
// body (BACKGROUND_JOB).
type event struct {
	name    string
	uuid    string // Unique-ID, for DropEvents
	headers []variable
	body    string
}

func (e *event) add(name, value string) { e.headers = append(e.headers, variable{name, value}) }

// get returns the first header named name (case-insensitive), as filters see it.
func (e *event) get(name string) (string, bool) {
	for _, h := range e.headers {
		if strings.EqualFold(h.name, name) {
			return h.value, true
		}
	}
	return "", false
}

// serialize renders the event as switch_event_serialize does: "Name: url-encoded value"
// lines, then either a blank line or an inner Content-Length, a blank line and the body.
func (e *event) serialize() string {
	var b strings.Builder
	for _, h := range e.headers {
		b.WriteString(h.name)
		b.WriteString(": ")
		if h.value == "" {
			b.WriteString("_undef_")
		} else {
			b.WriteString(urlEncode(h.value))
		}
		b.WriteByte('\n')
	}
	if e.body != "" {
		b.WriteString("Content-Length: ")
		b.WriteString(strconv.Itoa(len(e.body)))
		b.WriteString("\n\n")
		b.WriteString(e.body)
	} else {
		b.WriteByte('\n')
	}
	return b.String()
}

// where is the Event-Calling-* triple of an event type, from the captures.
type where struct {
	file, function string
	line           int
}

var callingSite = map[string]where{
	"CHANNEL_CREATE":           {"switch_core_state_machine.c", "switch_core_session_run", 626},
	"CHANNEL_PROGRESS":         {"switch_channel.c", "switch_channel_perform_mark_ring_ready_value", 3505},
	"CHANNEL_PROGRESS_MEDIA":   {"switch_channel.c", "switch_channel_perform_mark_pre_answered", 3560},
	"CHANNEL_ANSWER":           {"switch_channel.c", "switch_channel_perform_mark_answered", 3846},
	"CHANNEL_CALLSTATE":        {"switch_channel.c", "switch_channel_perform_set_callstate", 301},
	"CHANNEL_EXECUTE":          {"switch_core_session.c", "switch_core_session_exec", 2966},
	"CHANNEL_EXECUTE_COMPLETE": {"switch_core_session.c", "switch_core_session_exec", 3016},
	"CHANNEL_PARK":             {"switch_ivr.c", "switch_ivr_park", 1002},
	"CHANNEL_HANGUP":           {"switch_channel.c", "switch_channel_perform_hangup", 3445},
	"CHANNEL_HANGUP_COMPLETE":  {"switch_core_state_machine.c", "switch_core_session_reporting_state", 943},
	"CHANNEL_DESTROY":          {"switch_core_session.c", "switch_core_session_perform_destroy", 1584},
	"CHANNEL_BRIDGE":           {"switch_ivr_bridge.c", "audio_bridge_on_exchange_media", 1176},
	"DTMF":                     {"switch_channel.c", "switch_channel_dequeue_dtmf", 677},
	"PLAYBACK_START":           {"switch_ivr_play_say.c", "switch_ivr_play_file", 1646},
	"PLAYBACK_STOP":            {"switch_ivr_play_say.c", "switch_ivr_play_file", 2020},
	"RECORD_START":             {"switch_ivr_async.c", "record_callback", 1481},
	"RECORD_STOP":              {"switch_ivr_async.c", "send_record_stop_event", 1240},
	"BACKGROUND_JOB":           {"mod_event_socket.c", "api_exec", 1572},
	"API":                      {"switch_loadable_module.c", "switch_api_execute", 2973},
}

// baseEvent starts an event with the headers every FreeSWITCH event carries. The
// Event-Sequence header is filled in by emit.
func (s *Server) baseEvent(name string, now time.Time) *event {
	e := &event{name: name}
	e.add("Event-Name", name)
	e.add("Core-UUID", s.coreUUID)
	e.add("FreeSWITCH-Hostname", hostname)
	e.add("FreeSWITCH-Switchname", hostname)
	e.add("FreeSWITCH-IPv4", "127.0.0.1")
	e.add("FreeSWITCH-IPv6", "::1")
	e.add("Event-Date-Local", now.Format("2006-01-02 15:04:05"))
	e.add("Event-Date-GMT", now.UTC().Format("Mon, 02 Jan 2006 15:04:05 GMT"))
	e.add("Event-Date-Timestamp", usec(now))
	w := callingSite[name]
	e.add("Event-Calling-File", w.file)
	e.add("Event-Calling-Function", w.function)
	e.add("Event-Calling-Line-Number", strconv.Itoa(w.line))
	e.add("Event-Sequence", "") // set by emit
	return e
}

const hostname = "esltest"

func usec(t time.Time) string {
	if t.IsZero() {
		return "0"
	}
	return strconv.FormatInt(t.UnixMicro(), 10)
}

// channel state numbers (switch_channel_state_t).
var stateNumber = map[string]int{
	"CS_NEW": 0, "CS_INIT": 1, "CS_ROUTING": 2, "CS_SOFT_EXECUTE": 3, "CS_EXECUTE": 4,
	"CS_EXCHANGE_MEDIA": 5, "CS_PARK": 6, "CS_CONSUME_MEDIA": 7, "CS_HIBERNATE": 8,
	"CS_RESET": 9, "CS_HANGUP": 10, "CS_REPORTING": 11, "CS_DESTROY": 12, "CS_NONE": 13,
}

// withVars reports whether FreeSWITCH adds the channel variables to an event type
// (switch_channel_event_set_data versus set_basic_data, as the captures show).
func withVars(name string) bool {
	switch name {
	case "CHANNEL_CALLSTATE", "CHANNEL_STATE", "DTMF", "CHANNEL_OUTGOING", "CODEC":
		return false
	}
	return true
}

// channelEvent builds a channel event from the call's current snapshot. Must be called
// with s.mu held. extra headers go after the codec block (DTMF-Digit, Playback-File-Path)
// and tail headers after the variables (Record-File-Path).
func (s *Server) channelEvent(c *call, name string, extra, tail []variable) *event {
	now := time.Now()
	e := s.baseEvent(name, now)
	e.uuid = c.uuid
	if c.hangupCause != "" && (name == "CHANNEL_HANGUP" || name == "CHANNEL_HANGUP_COMPLETE") {
		e.add("Hangup-Cause", c.hangupCause)
	}
	e.add("Channel-State", c.state)
	e.add("Channel-Call-State", c.callState)
	e.add("Channel-State-Number", strconv.Itoa(stateNumber[c.state]))
	e.add("Channel-Name", c.channelName)
	e.add("Unique-ID", c.uuid)
	e.add("Call-Direction", "outbound")
	e.add("Presence-Call-Direction", "outbound")
	e.add("Channel-HIT-Dialplan", strconv.FormatBool(!c.answered.IsZero() || c.parked))
	if v := c.getVar("presence_data"); v != "" {
		e.add("Channel-Presence-Data", v)
	}
	e.add("Channel-Call-UUID", c.uuid)
	e.add("Answer-State", c.answerState)
	if c.hangupCause != "" {
		e.add("Hangup-Cause", c.hangupCause)
	}
	if !c.answered.IsZero() || !c.progressMedia.IsZero() {
		for _, kv := range [][2]string{{"Channel-Read-Codec-Name", "PCMU"}, {"Channel-Read-Codec-Rate", "8000"},
			{"Channel-Read-Codec-Bit-Rate", "64000"}, {"Channel-Write-Codec-Name", "PCMU"},
			{"Channel-Write-Codec-Rate", "8000"}, {"Channel-Write-Codec-Bit-Rate", "64000"}} {
			e.add(kv[0], kv[1])
		}
	}
	e.headers = append(e.headers, extra...)
	e.add("Caller-Direction", "outbound")
	e.add("Caller-Logical-Direction", "outbound")
	e.add("Caller-Caller-ID-Name", c.cidName)
	e.add("Caller-Caller-ID-Number", c.cidNum)
	e.add("Caller-Orig-Caller-ID-Name", c.cidName)
	e.add("Caller-Orig-Caller-ID-Number", c.cidNum)
	e.add("Caller-Callee-ID-Name", "Outbound Call")
	e.add("Caller-Callee-ID-Number", c.dest)
	e.add("Caller-ANI", c.cidNum)
	e.add("Caller-Destination-Number", c.dest)
	e.add("Caller-Unique-ID", c.uuid)
	e.add("Caller-Source", "src/switch_ivr_originate.c")
	e.add("Caller-Context", "default")
	e.add("Caller-Channel-Name", c.channelName)
	e.add("Caller-Profile-Index", "1")
	e.add("Caller-Profile-Created-Time", usec(c.created))
	e.add("Caller-Channel-Created-Time", usec(c.created))
	e.add("Caller-Channel-Answered-Time", usec(c.answered))
	e.add("Caller-Channel-Progress-Time", usec(c.progress))
	e.add("Caller-Channel-Progress-Media-Time", usec(c.progressMedia))
	e.add("Caller-Channel-Hangup-Time", usec(c.hungup))
	e.add("Caller-Channel-Transfer-Time", "0")
	e.add("Caller-Channel-Resurrect-Time", "0")
	e.add("Caller-Channel-Bridged-Time", usec(c.bridgedAt))
	e.add("Caller-Channel-Last-Hold", "0")
	e.add("Caller-Channel-Hold-Accum", "0")
	e.add("Caller-Screen-Bit", "true")
	e.add("Caller-Privacy-Hide-Name", "false")
	e.add("Caller-Privacy-Hide-Number", "false")
	if withVars(name) {
		for _, v := range c.vars {
			e.add("variable_"+v.name, v.value)
		}
		if name == "CHANNEL_HANGUP_COMPLETE" || name == "CHANNEL_DESTROY" {
			for _, v := range s.billing(c) {
				e.add("variable_"+v.name, v.value)
			}
		}
	}
	e.headers = append(e.headers, tail...)
	return e
}

// billing is the timing variables FreeSWITCH sets at hangup (switch_channel.c
// switch_channel_set_timestamps), in simulated time (real time times TimeScale).
func (s *Server) billing(c *call) []variable {
	sim := func(from, to time.Time) time.Duration {
		if from.IsZero() || to.IsZero() || to.Before(from) {
			return 0
		}
		return time.Duration(float64(to.Sub(from)) * s.scale)
	}
	end := c.hungup
	duration := sim(c.created, end)
	bill := sim(c.answered, end)
	answer := sim(c.created, c.answered)
	progress := sim(c.created, c.progress)
	pmedia := sim(c.created, c.progressMedia)
	sec := func(d time.Duration) string { return strconv.FormatInt(int64(d/time.Second), 10) }
	ms := func(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }
	return []variable{
		{"start_epoch", strconv.FormatInt(c.created.Unix(), 10)},
		{"start_uepoch", usec(c.created)},
		{"answer_epoch", epoch(c.answered)},
		{"answer_uepoch", usec(c.answered)},
		{"progress_epoch", epoch(c.progress)},
		{"progress_uepoch", usec(c.progress)},
		{"progress_media_epoch", epoch(c.progressMedia)},
		{"progress_media_uepoch", usec(c.progressMedia)},
		{"end_epoch", epoch(end)},
		{"end_uepoch", usec(end)},
		{"last_app", "park"},
		{"duration", sec(duration)},
		{"billsec", sec(bill)},
		{"progresssec", sec(progress)},
		{"answersec", sec(answer)},
		{"waitsec", sec(answer)},
		{"progress_mediasec", sec(pmedia)},
		{"flow_billsec", sec(duration)},
		{"mduration", ms(duration)},
		{"billmsec", ms(bill)},
		{"progressmsec", ms(progress)},
		{"answermsec", ms(answer)},
		{"waitmsec", ms(answer)},
		{"progress_mediamsec", ms(pmedia)},
		{"flow_billmsec", ms(duration)},
	}
}

func epoch(t time.Time) string {
	if t.IsZero() {
		return "0"
	}
	return strconv.FormatInt(t.Unix(), 10)
}
