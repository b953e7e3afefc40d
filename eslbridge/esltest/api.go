package esltest

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/callplane/callplane/media"
)

// bgapi runs an api command in the background and fires BACKGROUND_JOB with its result.
// An originate fires it itself, at the point of the call's life where FreeSWITCH does.
func (s *Server) bgapi(name, arg, job string) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if strings.EqualFold(name, "originate") {
			s.originate(arg, job)
			return
		}
		res := s.api(name, arg, job)
		s.mu.Lock()
		s.emit(s.jobEvent(job, name, arg, res))
		s.mu.Unlock()
	}()
}

// api runs one api command and returns its reply body, as mod_commands writes it.
func (s *Server) api(name, arg, job string) string {
	arg = strings.TrimSpace(arg)
	switch strings.ToLower(name) {
	case "originate":
		return s.originate(arg, job)
	case "uuid_kill":
		id, cause, _ := strings.Cut(arg, " ")
		if cause == "" {
			cause = "NORMAL_CLEARING"
		}
		if !s.kill(id, cause) {
			return "-ERR No such channel!\n"
		}
		return "+OK\n"
	case "hupall":
		return s.hupall(arg)
	case "uuid_exists":
		s.mu.Lock()
		c := s.calls[arg]
		s.mu.Unlock()
		if c != nil && !c.gone {
			return "true"
		}
		return "false"
	case "uuid_getvar":
		id, v, _ := strings.Cut(arg, " ")
		s.mu.Lock()
		defer s.mu.Unlock()
		c := s.calls[id]
		if c == nil || c.gone {
			return "-ERR No such channel!\n"
		}
		if val := c.getVar(v); val != "" {
			return val
		}
		return "_undef_"
	case "global_getvar":
		return map[string]string{"recordings_dir": RecordingsDir, "sound_prefix": SoundPrefix}[arg]
	case "uuid_broadcast":
		return s.broadcast(arg)
	case "uuid_record":
		return s.record(arg)
	case "uuid_bridge":
		return s.bridge(arg)
	case "show":
		return s.show(arg)
	case "status":
		s.mu.Lock()
		n := len(s.liveCalls())
		s.mu.Unlock()
		return "UP 0 years, 0 days\nFreeSWITCH (Version 1.10.12-esltest) is ready\n" + strconv.Itoa(n) + " session(s)\n"
	}
	return "-ERR " + name + " Command not found!\n"
}

// kill asks a live call to hang up; false when there is no such channel.
func (s *Server) kill(id, cause string) bool {
	s.mu.Lock()
	c := s.calls[id]
	s.mu.Unlock()
	if c == nil || c.gone {
		return false
	}
	select {
	case c.kill <- cause:
	default: // a hangup is already on its way
	}
	return true
}

func (s *Server) hupall(arg string) string {
	argv := splitArgs(arg, 11)
	cause := "MANAGER_REQUEST"
	if len(argv) > 0 {
		if c := media.CauseFromName(strings.ToUpper(argv[0])); c.Code > 0 {
			cause = c.Name
		}
	}
	var match []variable
	for i := 1; i+1 < len(argv); i += 2 {
		match = append(match, variable{argv[i], argv[i+1]})
	}
	s.mu.Lock()
	var ids []string
	for _, c := range s.liveCalls() {
		ok := true
		for _, m := range match {
			if c.getVar(m.name) != m.value {
				ok = false
			}
		}
		if ok {
			ids = append(ids, c.uuid)
		}
	}
	s.mu.Unlock()
	for _, id := range ids {
		s.kill(id, cause)
	}
	switch len(match) {
	case 0:
		return "+OK hangup all channels with cause " + cause + "\n"
	case 1:
		return "+OK hangup all channels matching [" + argv[1] + "]=[" + argv[2] + "] with cause: " + cause + "\n"
	}
	return "+OK hangup all channels matching [" + argv[1] + "]=[" + argv[2] + "]... with cause: " + cause + "\n"
}

func (s *Server) broadcast(arg string) string {
	argv := splitArgs(arg, 4)
	if len(argv) < 2 {
		return "-USAGE: <uuid> <path> [aleg|bleg|holdb|both]\n"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.calls[argv[0]]
	if c == nil || c.gone {
		return "-ERR invalid uuid\n"
	}
	file := argv[1]
	if !strings.Contains(file, "://") && !strings.Contains(file, "::") && !strings.HasPrefix(file, "/") {
		// As FreeSWITCH does: events name a sound file by its path under the sound prefix
		// (seen on 1.10.12 with uuid_broadcast hello-world.wav).
		file = SoundPrefix + "/" + file
	}
	c.playing = append(c.playing, file)
	// app::args runs that application; speak (text to speech) fires no PLAYBACK_* events,
	// only its execution's (FreeSWITCH 1.10.12).
	app, data := "playback", file
	if a, d, ok := strings.Cut(file, "::"); ok {
		app, data = a, d
	}
	c.setVar("current_application_data", data)
	c.setVar("current_application", app)
	s.emit(s.channelEvent(c, "CHANNEL_EXECUTE", nil, []variable{{"Application", app}, {"Application-Data", data}}))
	if app == "playback" {
		s.emit(s.channelEvent(c, "PLAYBACK_START", nil, playbackHeaders(file)))
	}
	s.later(c, s.opts.PromptLength, func() {
		for i, f := range c.playing {
			if f == file {
				c.playing = append(c.playing[:i], c.playing[i+1:]...)
				if app == "playback" {
					s.emit(s.channelEvent(c, "PLAYBACK_STOP", nil, playbackHeaders(file)))
				}
				s.emit(s.channelEvent(c, "CHANNEL_EXECUTE_COMPLETE", nil, []variable{{"Application", app},
					{"Application-Data", data}, {"Application-Response", "FILE PLAYED"}}))
				s.pressAfterPrompt(c)
				return
			}
		}
	})
	return "+OK Message sent\n"
}

// The fake node's directories, as global_getvar reports them.
const (
	RecordingsDir = "/var/lib/freeswitch/recordings"
	SoundPrefix   = "/usr/share/freeswitch/sounds/en/us/callie"
)

func (s *Server) record(arg string) string {
	argv := splitArgs(arg, 5)
	if len(argv) < 3 {
		return "-USAGE: <uuid> [start|stop|mask|unmask] <path> [<limit>] [<recording_vars>]\n"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.calls[argv[0]]
	if c == nil || c.gone {
		return "-ERR Cannot locate session!\n"
	}
	path := argv[2]
	switch strings.ToLower(argv[1]) {
	case "start":
		if !strings.HasPrefix(path, "/") {
			// As FreeSWITCH 1.10.12 does: a relative path is opened under the sound
			// prefix, and stop compares the path it is given with the resolved one.
			path = SoundPrefix + "/" + path
		}
		if _, ok := c.recordAt[path]; ok {
			return "-ERR Cannot record session!\n"
		}
		start := time.Now()
		c.recordAt[path] = start
		s.emit(s.channelEvent(c, "RECORD_START", nil, []variable{{"Record-File-Path", path}}))
		if len(argv) > 3 {
			if limit, err := strconv.Atoi(argv[3]); err == nil && limit > 0 {
				s.later(c, time.Duration(limit)*time.Second, func() {
					if at, ok := c.recordAt[path]; ok && at.Equal(start) && !c.gone {
						s.recordStop(c, path, "success-maxtime")
					}
				})
			}
		}
		return "+OK Success\n"
	case "stop":
		if path == "all" {
			for p := range c.recordAt {
				s.recordStop(c, p, "success")
			}
			return "+OK Success\n"
		}
		if _, ok := c.recordAt[path]; !ok {
			return "-ERR Cannot stop record session!\n"
		}
		s.recordStop(c, path, "success")
		return "+OK Success\n"
	}
	return "-USAGE: <uuid> [start|stop|mask|unmask] <path> [<limit>] [<recording_vars>]\n"
}

func (s *Server) bridge(arg string) string {
	argv := splitArgs(arg, 4)
	if len(argv) < 2 {
		return "-USAGE: <uuid> <other_uuid>\n"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, b := s.calls[argv[0]], s.calls[argv[1]]
	if a == nil || b == nil || a.gone || b.gone || a == b {
		return "-ERR Invalid uuid\n"
	}
	now := time.Now()
	a.peer, b.peer = b.uuid, a.uuid
	a.bridgedAt, b.bridgedAt = now, now
	a.setVar("bridge_uuid", b.uuid)
	b.setVar("bridge_uuid", a.uuid)
	// FreeSWITCH fires one CHANNEL_BRIDGE, on the A leg, naming both legs.
	s.emit(s.channelEvent(a, "CHANNEL_BRIDGE", nil, []variable{{"Bridge-A-Unique-ID", a.uuid},
		{"Bridge-B-Unique-ID", b.uuid}, {"Other-Type", "originatee"}, {"Other-Leg-Unique-ID", b.uuid}}))
	return "+OK " + b.uuid + "\n"
}

// channelColumns is the channels table (switch_core_sqldb.c create_channels_sql), the
// columns of `show channels`.
var channelColumns = []string{"uuid", "direction", "created", "created_epoch", "name", "state",
	"cid_name", "cid_num", "ip_addr", "dest", "application", "application_data", "dialplan",
	"context", "read_codec", "read_rate", "read_bit_rate", "write_codec", "write_rate",
	"write_bit_rate", "secure", "hostname", "presence_id", "presence_data", "accountcode",
	"callstate", "callee_name", "callee_num", "callee_direction", "call_uuid", "sent_callee_name",
	"sent_callee_num", "initial_cid_name", "initial_cid_num", "initial_ip_addr", "initial_dest",
	"initial_dialplan", "initial_context"}

func (s *Server) channelRow(c *call) []string {
	app, appData := "", ""
	if c.parked {
		app = c.getVar("current_application")
		appData = c.getVar("current_application_data")
	}
	codec, rate, bit := "", "", ""
	if !c.answered.IsZero() || !c.progressMedia.IsZero() {
		codec, rate, bit = "PCMU", "8000", "64000"
	}
	return []string{c.uuid, "outbound", c.created.Format("2006-01-02 15:04:05"),
		strconv.FormatInt(c.created.Unix(), 10), c.channelName, c.state, c.cidName, c.cidNum, "",
		c.dest, app, appData, "XML", "default", codec, rate, bit, codec, rate, bit, "", hostname,
		c.getVar("presence_id"), c.getVar("presence_data"), c.getVar("accountcode"), c.callState,
		"Outbound Call", c.dest, "", c.uuid, "", "", c.cidName, c.cidNum, "", c.dest, "XML", "default"}
}

// show implements `show channels [count] [as csv|json|delim <d>]`.
func (s *Server) show(arg string) string {
	argv := strings.Fields(arg)
	if len(argv) == 0 || !strings.EqualFold(argv[0], "channels") {
		return "-USAGE: codec|endpoint|application|api|dialplan|file|timer|calls [count]|channels [count|like <match string>]|calls|detailed_calls|bridged_calls|detailed_bridged_calls|aliases|complete|chat|management|modules|nat_map|say|interfaces|interface_types|tasks|limits|status\n"
	}
	as := "delim"
	count := false
	rest := argv[1:]
	if len(rest) > 0 && strings.EqualFold(rest[0], "count") {
		count = true
		rest = rest[1:]
	}
	if len(rest) >= 2 && strings.EqualFold(rest[0], "as") {
		as = strings.ToLower(rest[1])
	}
	s.mu.Lock()
	calls := s.liveCalls()
	rows := make([][]string, 0, len(calls))
	for _, c := range calls {
		rows = append(rows, s.channelRow(c))
	}
	s.mu.Unlock()
	switch as {
	case "json":
		if count {
			return `{"row_count":` + strconv.Itoa(len(rows)) + "}"
		}
		if len(rows) == 0 {
			return "{\"row_count\": 0}\n"
		}
		out := struct {
			RowCount int                 `json:"row_count"`
			Rows     []map[string]string `json:"rows"`
		}{RowCount: len(rows)}
		for _, r := range rows {
			m := make(map[string]string, len(r))
			for i, col := range channelColumns {
				m[col] = r[i]
			}
			out.Rows = append(out.Rows, m)
		}
		b, _ := json.Marshal(out)
		return string(b)
	case "delim", "csv":
		var b strings.Builder
		if !count && len(rows) > 0 {
			b.WriteString(strings.Join(channelColumns, ","))
			b.WriteByte('\n')
			for _, r := range rows {
				b.WriteString(strings.Join(r, ","))
				b.WriteByte('\n')
			}
		}
		b.WriteString("\n" + strconv.Itoa(len(rows)) + " total.\n")
		return b.String()
	}
	return "-ERR Cannot find format " + as + "\n"
}
