package aritest

import (
	"strconv"
	"time"
)

// The fake writes Asterisk's JSON with its own types, independent of package ari, so
// the tests of each side check the other against the captures.

const timeLayout = "2006-01-02T15:04:05.000-0700"

type callerJSON struct {
	Name   string `json:"name"`
	Number string `json:"number"`
}

type dialplanJSON struct {
	Context  string `json:"context"`
	Exten    string `json:"exten"`
	Priority int    `json:"priority"`
	AppName  string `json:"app_name"`
	AppData  string `json:"app_data"`
}

type channelJSON struct {
	ID           string       `json:"id"`
	Name         string       `json:"name"`
	State        string       `json:"state"`
	ProtocolID   string       `json:"protocol_id"`
	Caller       callerJSON   `json:"caller"`
	Connected    callerJSON   `json:"connected"`
	AccountCode  string       `json:"accountcode"`
	Dialplan     dialplanJSON `json:"dialplan"`
	CreationTime string       `json:"creationtime"`
	Language     string       `json:"language"`
}

type bridgeJSON struct {
	ID           string   `json:"id"`
	Technology   string   `json:"technology"`
	BridgeType   string   `json:"bridge_type"`
	BridgeClass  string   `json:"bridge_class"`
	Creator      string   `json:"creator"`
	Name         string   `json:"name"`
	Channels     []string `json:"channels"`
	CreationTime string   `json:"creationtime"`
	VideoMode    string   `json:"video_mode"`
}

type playbackJSON struct {
	ID        string `json:"id"`
	MediaURI  string `json:"media_uri"`
	TargetURI string `json:"target_uri"`
	Language  string `json:"language"`
	State     string `json:"state"`
}

type recordingJSON struct {
	Name      string `json:"name"`
	Format    string `json:"format"`
	State     string `json:"state"`
	TargetURI string `json:"target_uri"`
	Duration  *int   `json:"duration,omitempty"`
}

type storedJSON struct {
	Name   string `json:"name"`
	Format string `json:"format"`
}

// event is every event type the fake sends; absent fields are omitted as Asterisk omits
// them (cause 0 is written, so Cause is a pointer).
type event struct {
	Variable    *string        `json:"variable,omitempty"`
	Value       *string        `json:"value,omitempty"`
	Cause       *int           `json:"cause,omitempty"`
	TechCause   int            `json:"tech_cause,omitempty"`
	Soft        bool           `json:"soft,omitempty"`
	Type        string         `json:"type"`
	Timestamp   string         `json:"timestamp"`
	CauseTxt    *string        `json:"cause_txt,omitempty"`
	DialStatus  *string        `json:"dialstatus,omitempty"`
	Forward     *string        `json:"forward,omitempty"`
	DialString  *string        `json:"dialstring,omitempty"`
	Peer        *channelJSON   `json:"peer,omitempty"`
	Args        *[]string      `json:"args,omitempty"`
	Digit       string         `json:"digit,omitempty"`
	DurationMs  int            `json:"duration_ms,omitempty"`
	Playback    *playbackJSON  `json:"playback,omitempty"`
	Recording   *recordingJSON `json:"recording,omitempty"`
	Bridge      *bridgeJSON    `json:"bridge,omitempty"`
	Channel     *channelJSON   `json:"channel,omitempty"`
	AsteriskID  string         `json:"asterisk_id"`
	Application string         `json:"application"`
}

func ptr[T any](v T) *T { return &v }

// causeText is Asterisk's cause_txt (main/channel.c causes[]).
func causeText(code int) string {
	switch code {
	case 1:
		return "Unallocated (unassigned) number"
	case 3:
		return "No route to destination"
	case 16:
		return "Normal Clearing"
	case 17:
		return "User busy"
	case 18:
		return "No user responding"
	case 19:
		return "User alerting, no answer"
	case 20:
		return "Subscriber absent"
	case 21:
		return "Call Rejected"
	case 26:
		return "Answered elsewhere"
	case 27:
		return "Destination out of order"
	case 28:
		return "Invalid number format (incomplete number)"
	case 31:
		return "Normal, unspecified"
	case 34:
		return "Circuit/channel congestion"
	case 38:
		return "Network out of order"
	case 41:
		return "Temporary failure"
	case 58:
		return "Bearer capability not available"
	case 127:
		return "Interworking, unspecified"
	}
	return "Unknown"
}

// reasonCodes is ARI's hangup reason -> cause (resource_channels.c).
var reasonCodes = map[string]int{
	"normal": 16, "busy": 17, "congestion": 34, "no_answer": 19, "timeout": 18,
	"rejected": 21, "unallocated": 1, "normal_unspecified": 31, "number_incomplete": 28,
	"codec_mismatch": 58, "interworking": 127, "failure": 38, "answered_elsewhere": 26,
}

func itoa(i int) string { return strconv.Itoa(i) }

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }
