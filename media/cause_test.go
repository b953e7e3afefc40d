package media

import "testing"

func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		h    Hangup
		want Outcome
	}{
		// FreeSWITCH captures (shared/protocols/freeswitch-esl/SUMMARY.txt).
		{"fs answer then callee BYE", Hangup{Cause: CauseFromName("NORMAL_CLEARING"), Answered: true, SIPCode: 200}, OutcomeAnswered},
		{"fs busy 486", Hangup{Cause: CauseFromName("USER_BUSY"), SIPCode: 486}, OutcomeBusy},
		{"fs decline 603", Hangup{Cause: CauseFromName("CALL_REJECTED"), SIPCode: 603}, OutcomeRejected},
		{"fs unavailable 480", Hangup{Cause: CauseFromName("NO_USER_RESPONSE"), SIPCode: 480}, OutcomeUnavailable},
		{"fs no answer timeout", Hangup{Cause: CauseFromName("NO_ANSWER"), Ringing: true}, OutcomeNoAnswer},
		{"fs cancel while ringing", Hangup{Cause: CauseFromName("ORIGINATOR_CANCEL"), Ringing: true}, OutcomeCanceled},
		{"fs unreachable port", Hangup{Cause: CauseFromName("NORMAL_TEMPORARY_FAILURE")}, OutcomeFailed},
		{"fs error/user_busy endpoint", Hangup{Cause: CauseFromName("USER_BUSY")}, OutcomeBusy},
		{"fs gateway down", Hangup{Cause: CauseFromName("GATEWAY_DOWN")}, OutcomeFailed},
		{"fs unknown cause name", Hangup{Cause: CauseFromName("SOMETHING_NEW")}, OutcomeFailed},
		// Asterisk captures (shared/protocols/asterisk-ari).
		{"ast remote hangup after answer, cause 0", Hangup{Cause: CauseFromCode(0), Answered: true}, OutcomeAnswered},
		{"ast busy 17/486", Hangup{Cause: CauseFromCode(17), SIPCode: 486, Ringing: false}, OutcomeBusy},
		{"ast 404 cause 1", Hangup{Cause: CauseFromCode(1), SIPCode: 404}, OutcomeInvalidNumber},
		{"ast ring timeout 19/480 after ringing", Hangup{Cause: CauseFromCode(19), SIPCode: 480, Ringing: true}, OutcomeNoAnswer},
		{"ast 19/480 without ringing", Hangup{Cause: CauseFromCode(19), SIPCode: 480}, OutcomeUnavailable},
		{"ast congestion 34", Hangup{Cause: CauseFromCode(34)}, OutcomeFailed},
		// Connection loss.
		{"node lost while ringing", Hangup{NodeLost: true, Ringing: true}, OutcomeNodeLost},
		{"node lost after answer", Hangup{NodeLost: true, Answered: true}, OutcomeAnswered},
		{"subscriber absent (switched off)", Hangup{Cause: CauseFromCode(20)}, OutcomeUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Classify(tt.h); got != tt.want {
				t.Errorf("Classify(%+v) = %s, want %s", tt.h, got, tt.want)
			}
		})
	}
}

func TestCauseNamesRoundTrip(t *testing.T) {
	for code, name := range causeNames {
		if c := CauseFromName(name); c.Code != code {
			t.Errorf("CauseFromName(%s).Code = %d, want %d", name, c.Code, code)
		}
		if c := CauseFromCode(code); c.Name != name {
			t.Errorf("CauseFromCode(%d).Name = %s, want %s", code, c.Name, name)
		}
	}
}

func TestDialString(t *testing.T) {
	tests := []struct{ tmpl, e164, want string }{
		{"sofia/gateway/carrier-a/{number}", "+8613800138000", "sofia/gateway/carrier-a/8613800138000"},
		{"PJSIP/{e164}@carrier", "+8613800138000", "PJSIP/+8613800138000@carrier"},
		{"sofia/gateway/x/{number}", "8613800138000", "sofia/gateway/x/8613800138000"},
	}
	for _, tt := range tests {
		if got := DialString(tt.tmpl, tt.e164); got != tt.want {
			t.Errorf("DialString(%q, %q) = %q, want %q", tt.tmpl, tt.e164, got, tt.want)
		}
	}
}
