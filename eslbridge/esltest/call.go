package esltest

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/callplane/callplane/media"
	"github.com/callplane/callplane/media/sim"
)

// call is one simulated outbound channel. Its fields are guarded by Server.mu; its life
// runs in one goroutine (runCall).
type call struct {
	uuid, number, dest, endpoint, channelName  string
	cidName, cidNum                            string
	vars                                       []variable
	state, callState, answerState, hangupCause string

	created, progress, progressMedia, answered, hungup, bridgedAt time.Time
	parked                                                        bool
	gone                                                          bool
	ignoreEarly                                                   bool

	job      string // Job-UUID of a bgapi originate, "" for api
	jobArg   string
	bg       bool
	result   chan string // the originate reply, for api originate
	replied  bool
	kill     chan string // a requested hangup cause
	ended    chan struct{}
	peer     string
	pressed  bool // the scripted digits were pressed
	playing  []string
	recordAt map[string]time.Time
}

func (c *call) getVar(name string) string {
	for i := len(c.vars) - 1; i >= 0; i-- {
		if c.vars[i].name == name {
			return c.vars[i].value
		}
	}
	return ""
}

func (c *call) setVar(name, value string) {
	for i := range c.vars {
		if c.vars[i].name == name {
			c.vars[i].value = value
			return
		}
	}
	c.vars = append(c.vars, variable{name, value})
}

// originate runs `originate <args>`; job is the Job-UUID for bgapi ("" for api). For api
// it blocks until the originate resolves and returns the reply; for bgapi it returns ""
// and the call (or this function, when no channel is created) fires BACKGROUND_JOB.
func (s *Server) originate(args, job string) string {
	bg := job != ""
	req, err := parseOriginate(args)
	if err != nil {
		return "-USAGE: <call url> <exten>|&<application_name>(<app_args>) [<dialplan>] [<context>] [<cid_name>] [<cid_num>] [<timeout_sec>]\n"
	}
	number := destination(req.endpoint)
	s.mu.Lock()
	s.originates[number]++
	s.total++
	fail := ""
	if strings.HasPrefix(req.endpoint, "error/") {
		fail = strings.ToUpper(strings.TrimPrefix(req.endpoint, "error/"))
	}
	c := &call{
		number:      number,
		dest:        number,
		endpoint:    req.endpoint,
		channelName: req.endpoint,
		cidName:     "FreeSWITCH",
		cidNum:      "0000000000",
		state:       "CS_INIT",
		callState:   "DOWN",
		answerState: "ringing",
		job:         job,
		jobArg:      args,
		bg:          bg,
		result:      make(chan string, 1),
		kill:        make(chan string, 1),
		ended:       make(chan struct{}),
		recordAt:    make(map[string]time.Time),
	}
	ringTimeout := 60 * time.Second
	for _, v := range req.vars {
		switch v.name {
		case "origination_uuid":
			c.uuid = v.value
		case "origination_caller_id_name":
			c.cidName = v.value
		case "origination_caller_id_number":
			c.cidNum = v.value
		case "originate_timeout":
			if n, err := strconv.Atoi(v.value); err == nil && n > 0 {
				ringTimeout = time.Duration(n) * time.Second
			}
		case "ignore_early_media":
			c.ignoreEarly = v.value == "true"
		}
	}
	if c.uuid == "" {
		c.uuid = uuid.NewString()
	}
	live := 0
	for _, x := range s.calls {
		if !x.gone {
			live++
		}
	}
	if fail == "" {
		switch {
		case s.opts.MaxCalls > 0 && live >= s.opts.MaxCalls:
			// switch_core_session_request_uuid refuses ("Over Session Limit!") and
			// sofia_outgoing_channel answers its default cause, DESTINATION_OUT_OF_ORDER,
			// before any channel exists: no channel events, only the job result.
			fail = "DESTINATION_OUT_OF_ORDER"
		case s.calls[c.uuid] != nil:
			// "Duplicate UUID!" takes the same path.
			fail = "DESTINATION_OUT_OF_ORDER"
		case s.closed:
			fail = "SYSTEM_SHUTDOWN"
		}
	}
	if fail != "" {
		res := "-ERR " + fail + "\n"
		if bg {
			s.emit(s.jobEvent(job, "originate", args, res))
		}
		s.mu.Unlock()
		return res
	}
	s.sessionID++
	c.vars = []variable{{"direction", "outbound"}, {"is_outbound", "true"}, {"uuid", c.uuid},
		{"session_id", strconv.Itoa(s.sessionID)}, {"channel_name", c.channelName}}
	for _, v := range req.vars {
		c.setVar(v.name, v.value)
	}
	c.setVar("originate_early_media", "true")
	c.setVar("originate_endpoint", strings.SplitN(req.endpoint, "/", 2)[0])
	c.setVar("call_uuid", c.uuid)
	plan, ok := s.scripts[number]
	if slices.Contains(s.opts.DownGateways, sim.Gateway(req.endpoint)) {
		plan, ok = sim.GatewayDown, true
	}
	if !ok {
		plan = s.model.Plan(s.rng, number, ringTimeout)
	} else if plan.Result == sim.NoAnswer || plan.Ring > ringTimeout {
		plan.Ring = ringTimeout
		if plan.Result == sim.Answer || plan.Result == sim.Reject {
			plan.Result = sim.NoAnswer
		}
	}
	c.created = time.Now()
	s.calls[c.uuid] = c
	s.order = append(s.order, c.uuid)
	s.wg.Add(1)
	s.mu.Unlock()
	s.log.Debug("originate", "uuid", c.uuid, "number", number, "result", plan.Result, "ring", plan.Ring)
	go s.runCall(c, plan)
	if bg {
		return ""
	}
	select {
	case r := <-c.result:
		return r
	case <-s.done:
		return "-ERR SYSTEM_SHUTDOWN\n"
	}
}

// jobEvent builds a BACKGROUND_JOB event. s.mu held.
func (s *Server) jobEvent(job, cmd, arg, result string) *event {
	e := s.baseEvent("BACKGROUND_JOB", time.Now())
	e.add("Job-UUID", job)
	e.add("Job-Command", cmd)
	if arg != "" {
		e.add("Job-Command-Arg", arg)
	}
	e.body = result
	return e
}

// resolve answers the originate once: BACKGROUND_JOB for bgapi, the api reply otherwise.
// s.mu held.
func (s *Server) resolve(c *call, result string) {
	if c.replied {
		return
	}
	c.replied = true
	if c.bg {
		s.emit(s.jobEvent(c.job, "originate", c.jobArg, result))
		return
	}
	c.result <- result
}

func (s *Server) ch(c *call, name string) { s.emit(s.channelEvent(c, name, nil, nil)) }

// park runs &park() after the originate succeeded. s.mu held.
func (s *Server) park(c *call) {
	c.state = "CS_EXECUTE"
	c.parked = true
	c.setVar("current_application", "park")
	s.emit(s.channelEvent(c, "CHANNEL_EXECUTE", nil, []variable{{"Application", "park"}, {"Application-UUID", uuid.NewString()}}))
	s.ch(c, "CHANNEL_PARK")
}

type waitResult int

const (
	waited waitResult = iota
	killed
	stopped
)

func (s *Server) wait(c *call, d time.Duration) (waitResult, string) {
	d = time.Duration(float64(d) / s.scale)
	if d < 0 {
		d = 0
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return waited, ""
	case cause := <-c.kill:
		return killed, cause
	case <-s.done:
		return stopped, ""
	}
}

// failure is the cause and SIP status of a plan that does not answer.
func failure(r sim.Result) (string, int) {
	switch r {
	case sim.Busy:
		return "USER_BUSY", 486
	case sim.Reject:
		return "CALL_REJECTED", 603
	case sim.Unavailable:
		return "NO_USER_RESPONSE", 480
	case sim.Invalid:
		return "UNALLOCATED_NUMBER", 404
	case sim.Fail:
		return "NORMAL_TEMPORARY_FAILURE", 503
	}
	return "NO_ANSWER", 0
}

// runCall plays one call's plan, in the event order of the captures.
func (s *Server) runCall(c *call, plan sim.Plan) {
	defer s.wg.Done()
	s.mu.Lock()
	s.ch(c, "CHANNEL_CREATE")
	s.mu.Unlock()

	rings := plan.Result == sim.Answer || plan.Result == sim.NoAnswer || plan.Result == sim.Reject || plan.EarlyMedia
	progressAfter := time.Duration(0)
	if rings {
		progressAfter = min(plan.Ring/4, 500*time.Millisecond)
		switch res, cause := s.wait(c, progressAfter); res {
		case killed:
			s.hangup(c, cause, 0, true)
			return
		case stopped:
			return
		}
		s.mu.Lock()
		c.state = "CS_CONSUME_MEDIA"
		if plan.EarlyMedia {
			c.progressMedia = time.Now()
			c.answerState = "early"
			s.ch(c, "CHANNEL_PROGRESS_MEDIA")
			c.callState = "EARLY"
			s.ch(c, "CHANNEL_CALLSTATE")
			if !c.ignoreEarly {
				// FreeSWITCH returns +OK on early media, before any answer.
				s.resolve(c, "+OK "+c.uuid+"\n")
				s.park(c)
			}
		} else {
			c.progress = time.Now()
			s.ch(c, "CHANNEL_PROGRESS")
			c.callState = "RINGING"
			s.ch(c, "CHANNEL_CALLSTATE")
		}
		s.mu.Unlock()
	}
	switch res, cause := s.wait(c, plan.Ring-progressAfter); res {
	case killed:
		s.hangup(c, cause, 0, true)
		return
	case stopped:
		return
	}
	if plan.Result != sim.Answer {
		cause, sip := failure(plan.Result)
		s.hangup(c, cause, sip, false)
		return
	}
	s.mu.Lock()
	c.answered = time.Now()
	c.answerState = "answered"
	c.setVar("endpoint_disposition", "ANSWER")
	s.ch(c, "CHANNEL_ANSWER")
	c.callState = "ACTIVE"
	s.ch(c, "CHANNEL_CALLSTATE")
	if !c.replied {
		s.resolve(c, "+OK "+c.uuid+"\n")
		s.park(c)
	}
	s.mu.Unlock()
	switch res, cause := s.wait(c, plan.Talk); res {
	case killed:
		s.hangup(c, cause, 0, true)
	case waited:
		s.hangup(c, "NORMAL_CLEARING", 200, false)
	}
}

// hangup ends the call with cause (a far-end SIP status when sip > 0; byUs when the
// hangup came from uuid_kill or hupall) and fires the hangup events in the captures'
// order.
func (s *Server) hangup(c *call, cause string, sip int, byUs bool) {
	s.mu.Lock()
	if c.gone {
		s.mu.Unlock()
		return
	}
	if byUs && c.answered.IsZero() && !c.replied {
		// Killing a channel that is still being originated cancels the originate.
		cause = "ORIGINATOR_CANCEL"
	}
	if cause == "" {
		cause = "NORMAL_CLEARING"
	}
	c.hungup = time.Now()
	c.hangupCause = cause
	c.answerState = "hangup"
	if sip > 0 {
		c.setVar("sip_term_status", strconv.Itoa(sip))
		c.setVar("proto_specific_hangup_cause", "sip:"+strconv.Itoa(sip))
		if byUs {
			c.setVar("sip_hangup_disposition", "send_bye")
		} else {
			c.setVar("sip_hangup_disposition", "recv_bye")
		}
	}
	c.setVar("hangup_cause", cause)
	c.setVar("hangup_cause_q850", strconv.Itoa(q850(cause)))
	s.ch(c, "CHANNEL_HANGUP")
	for _, file := range c.playing {
		s.emit(s.channelEvent(c, "PLAYBACK_STOP", nil, playbackHeaders(file)))
	}
	c.playing = nil
	for path := range c.recordAt {
		s.recordStop(c, path, "success")
	}
	if cause == "NO_ANSWER" && !c.replied {
		// The originate timed out: its result is out before the channel is reported.
		s.resolve(c, "-ERR "+cause+"\n")
	}
	c.state = "CS_REPORTING"
	c.callState = "HANGUP"
	s.ch(c, "CHANNEL_CALLSTATE")
	s.ch(c, "CHANNEL_HANGUP_COMPLETE")
	s.resolve(c, "-ERR "+cause+"\n")
	s.ch(c, "CHANNEL_DESTROY")
	c.gone = true
	close(c.ended)
	delete(s.calls, c.uuid)
	if len(s.order) > 64 && len(s.order) > 2*len(s.calls) {
		kept := s.order[:0]
		for _, id := range s.order {
			if s.calls[id] != nil {
				kept = append(kept, id)
			}
		}
		s.order = kept
	}
	var peer *call
	if c.peer != "" {
		peer = s.calls[c.peer]
	}
	if peer != nil && peer.peer == c.uuid && peer.getVar("park_after_bridge") == "true" {
		// park_after_bridge: the surviving leg (an agent's nailed-up phone) is unbridged
		// and parked again instead of hung up.
		peer.peer = ""
		peer.setVar("bridge_uuid", "")
		s.emit(s.channelEvent(peer, "CHANNEL_UNBRIDGE", nil, []variable{{"Bridge-A-Unique-ID", peer.uuid},
			{"Bridge-B-Unique-ID", c.uuid}, {"Other-Leg-Unique-ID", c.uuid}}))
		s.park(peer)
		peer = nil
	}
	s.mu.Unlock()
	if peer != nil {
		// The bridged leg follows (hangup_after_bridge).
		select {
		case peer.kill <- "NORMAL_CLEARING":
		default:
		}
	}
}

func q850(cause string) int {
	c := media.CauseFromName(cause)
	if c.Code < 0 || c.Code > 127 {
		return 0
	}
	return c.Code
}

func playbackHeaders(file string) []variable {
	typ := "file"
	if i := strings.Index(file, "://"); i > 0 {
		typ = file[:i]
	}
	return []variable{{"Playback-File-Type", typ}, {"Playback-File-Path", file}}
}

// recordStop fires RECORD_STOP for path. s.mu held.
func (s *Server) recordStop(c *call, path, completion string) {
	start, ok := c.recordAt[path]
	if !ok {
		return
	}
	delete(c.recordAt, path)
	d := time.Duration(float64(time.Since(start)) * s.scale)
	samples := d.Milliseconds() * 8
	c.setVar("record_file_size", strconv.FormatInt(samples*2+44, 10))
	c.setVar("record_samples", strconv.FormatInt(samples, 10))
	c.setVar("record_seconds", strconv.FormatInt(int64(d/time.Second), 10))
	c.setVar("record_ms", strconv.FormatInt(d.Milliseconds(), 10))
	c.setVar("record_completion_cause", completion)
	s.emit(s.channelEvent(c, "RECORD_STOP", nil, []variable{{"Record-File-Path", path}, {"Record-Completion-Cause", completion}}))
}

// ErrNoSuchCall is returned by PressDigits for a call the node does not have.
var ErrNoSuchCall = errors.New("esltest: no such call")

// PressDigits makes the answered callee of uuid press digits, in order (DTMF events as
// in the RFC 2833 capture).
func (s *Server) PressDigits(uuid, digits string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.calls[uuid]
	if c == nil || c.gone {
		return fmt.Errorf("press %q on %s: %w", digits, uuid, ErrNoSuchCall)
	}
	if c.answered.IsZero() {
		return fmt.Errorf("press %q on %s: call not answered", digits, uuid)
	}
	for _, d := range digits {
		s.emit(s.channelEvent(c, "DTMF", nil, []variable{{"DTMF-Digit", string(d)}, {"DTMF-Duration", "2000"}, {"DTMF-Source", "RTP"}}))
	}
	return nil
}
