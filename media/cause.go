package media

import "strconv"

// Cause is a Q.850 hangup cause as FreeSWITCH names it (Asterisk reports the code).
type Cause struct {
	Code int
	Name string
}

func (c Cause) String() string {
	if c.Name != "" {
		return c.Name
	}
	return "CAUSE_" + strconv.Itoa(c.Code)
}

// Cause codes callplane reasons about. FreeSWITCH's non-Q.850 causes use its own numbers
// (ORIGINATOR_CANCEL is 487, as in switch_types.h).
const (
	CauseUnknown                 = 0
	CauseUnallocatedNumber       = 1
	CauseNoRouteDestination      = 3
	CauseNormalClearing          = 16
	CauseUserBusy                = 17
	CauseNoUserResponse          = 18
	CauseNoAnswer                = 19
	CauseSubscriberAbsent        = 20
	CauseCallRejected            = 21
	CauseNumberChanged           = 22
	CauseDestinationOutOfOrder   = 27
	CauseInvalidNumberFormat     = 28
	CauseNormalUnspecified       = 31
	CauseNormalCircuitCongestion = 34
	CauseNetworkOutOfOrder       = 38
	CauseNormalTemporaryFailure  = 41
	CauseSwitchCongestion        = 42
	CauseBearerCapNotAvail       = 58
	CauseIncompatibleDestination = 88
	CauseRecoveryOnTimerExpire   = 102
	CauseOriginatorCancel        = 487
	CauseAllottedTimeout         = 602
)

// causeNames is FreeSWITCH's name for each code (switch_channel.c CAUSE_CHART).
var causeNames = map[int]string{
	0:   "NONE",
	1:   "UNALLOCATED_NUMBER",
	2:   "NO_ROUTE_TRANSIT_NET",
	3:   "NO_ROUTE_DESTINATION",
	6:   "CHANNEL_UNACCEPTABLE",
	7:   "CALL_AWARDED_DELIVERED",
	16:  "NORMAL_CLEARING",
	17:  "USER_BUSY",
	18:  "NO_USER_RESPONSE",
	19:  "NO_ANSWER",
	20:  "SUBSCRIBER_ABSENT",
	21:  "CALL_REJECTED",
	22:  "NUMBER_CHANGED",
	23:  "REDIRECTION_TO_NEW_DESTINATION",
	25:  "EXCHANGE_ROUTING_ERROR",
	27:  "DESTINATION_OUT_OF_ORDER",
	28:  "INVALID_NUMBER_FORMAT",
	29:  "FACILITY_REJECTED",
	30:  "RESPONSE_TO_STATUS_ENQUIRY",
	31:  "NORMAL_UNSPECIFIED",
	34:  "NORMAL_CIRCUIT_CONGESTION",
	38:  "NETWORK_OUT_OF_ORDER",
	41:  "NORMAL_TEMPORARY_FAILURE",
	42:  "SWITCH_CONGESTION",
	43:  "ACCESS_INFO_DISCARDED",
	44:  "REQUESTED_CHAN_UNAVAIL",
	50:  "FACILITY_NOT_SUBSCRIBED",
	52:  "OUTGOING_CALL_BARRED",
	54:  "INCOMING_CALL_BARRED",
	57:  "BEARERCAPABILITY_NOTAUTH",
	58:  "BEARERCAPABILITY_NOTAVAIL",
	63:  "SERVICE_UNAVAILABLE",
	65:  "BEARERCAPABILITY_NOTIMPL",
	66:  "CHAN_NOT_IMPLEMENTED",
	69:  "FACILITY_NOT_IMPLEMENTED",
	79:  "SERVICE_NOT_IMPLEMENTED",
	81:  "INVALID_CALL_REFERENCE",
	88:  "INCOMPATIBLE_DESTINATION",
	95:  "INVALID_MSG_UNSPECIFIED",
	96:  "MANDATORY_IE_MISSING",
	97:  "MESSAGE_TYPE_NONEXIST",
	99:  "IE_NONEXIST",
	100: "INVALID_IE_CONTENTS",
	101: "WRONG_CALL_STATE",
	102: "RECOVERY_ON_TIMER_EXPIRE",
	103: "MANDATORY_IE_LENGTH_ERROR",
	111: "PROTOCOL_ERROR",
	127: "INTERWORKING",
	487: "ORIGINATOR_CANCEL",
	500: "CRASH",
	501: "SYSTEM_SHUTDOWN",
	502: "LOSE_RACE",
	503: "MANAGER_REQUEST",
	600: "BLIND_TRANSFER",
	601: "ATTENDED_TRANSFER",
	602: "ALLOTTED_TIMEOUT",
	603: "USER_CHALLENGE",
	604: "MEDIA_TIMEOUT",
	605: "PICKED_OFF",
	606: "USER_NOT_REGISTERED",
	607: "PROGRESS_TIMEOUT",
	609: "GATEWAY_DOWN",
}

var causeCodes = func() map[string]int {
	m := make(map[string]int, len(causeNames))
	for c, n := range causeNames {
		m[n] = c
	}
	return m
}()

// CauseFromCode builds a Cause from a numeric code (Asterisk's `cause`).
func CauseFromCode(code int) Cause { return Cause{Code: code, Name: causeNames[code]} }

// CauseFromName builds a Cause from a FreeSWITCH cause name; unknown names keep code -1.
func CauseFromName(name string) Cause {
	code, ok := causeCodes[name]
	if !ok {
		return Cause{Code: -1, Name: name}
	}
	return Cause{Code: code, Name: name}
}

// Outcome is what one call attempt came to: a value, not an error.
type Outcome string

const (
	OutcomeAnswered      Outcome = "answered"
	OutcomeNoAnswer      Outcome = "no_answer"      // rang out, or nobody responded
	OutcomeBusy          Outcome = "busy"           // 486 / USER_BUSY
	OutcomeRejected      Outcome = "rejected"       // 603 / CALL_REJECTED: the callee declined
	OutcomeUnavailable   Outcome = "unavailable"    // switched off / out of coverage / 480 without ringing
	OutcomeInvalidNumber Outcome = "invalid_number" // 404 / UNALLOCATED_NUMBER and friends: permanent
	OutcomeCanceled      Outcome = "canceled"       // we hung up before answer
	OutcomeFailed        Outcome = "failed"         // network, trunk or node failure
	OutcomeNodeLost      Outcome = "node_lost"      // the node connection was lost; the end was not seen
)

// Retryable reports whether another attempt may reach the contact.
func (o Outcome) Retryable() bool {
	switch o {
	case OutcomeAnswered, OutcomeInvalidNumber:
		return false
	}
	return true
}

// Classify turns how a call ended into its outcome. This is the one place where the
// media servers' cause codes are interpreted; it is tested against the captures in
// shared/protocols.
func Classify(h Hangup) Outcome {
	switch {
	case h.NodeLost:
		// Answered before the connection went away still counts as answered.
		if h.Answered {
			return OutcomeAnswered
		}
		return OutcomeNodeLost
	case h.Answered:
		// Asterisk reports cause 0 for a normal far-end hang-up after answer.
		return OutcomeAnswered
	}
	switch h.Cause.Code {
	case CauseUserBusy:
		return OutcomeBusy
	case CauseCallRejected:
		return OutcomeRejected
	case CauseNoAnswer:
		// Asterisk says 19 / SIP 480 both for "rang out" and "temporarily unavailable":
		// only a call that was alerting rang out.
		if h.SIPCode == 480 && !h.Ringing {
			return OutcomeUnavailable
		}
		return OutcomeNoAnswer
	case CauseNoUserResponse:
		// FreeSWITCH maps SIP 480 to NO_USER_RESPONSE.
		if h.SIPCode == 480 && !h.Ringing {
			return OutcomeUnavailable
		}
		return OutcomeNoAnswer
	case CauseAllottedTimeout, CauseNormalClearing, CauseUnknown:
		// Cleared before answer without a failure cause: treat as not answered.
		return OutcomeNoAnswer
	case CauseSubscriberAbsent:
		return OutcomeUnavailable
	case CauseUnallocatedNumber, CauseNoRouteDestination, CauseNumberChanged,
		CauseInvalidNumberFormat, CauseIncompatibleDestination:
		return OutcomeInvalidNumber
	case CauseOriginatorCancel:
		return OutcomeCanceled
	}
	return OutcomeFailed
}
