package media

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// This file is the one boundary where strings that users, contact lists and flows write
// become parts of media-server commands. Every value a driver splices into an ESL command
// or an ARI request passes one of these checks first; the API and the flow validator call
// the same checks so that a bad value is refused when it is written, with the field named.

// ErrInvalid marks a request a driver refused because a value does not match its grammar
// (a prompt, a caller id, an endpoint, a number). Nothing was sent, and sending it to
// another node would be refused the same way, so it is not retried.
var ErrInvalid = errors.New("invalid media request")

// Limits of the grammars below.
const (
	MaxPromptLen     = 255  // bytes of a sound file name
	MaxTTSLen        = 2000 // bytes of text to speak
	MaxCallerIDName  = 64   // characters
	MaxEndpointLen   = 255  // bytes of a dial string
	maxToneHz        = 8000
	maxToneMs        = 10000
	minToneHz        = 20
	minToneMs        = 10
	maxVoiceLen      = 32
	maxCallerIDDigit = 20
)

// CheckPrompt reports whether p is a media reference callplane plays. The grammar is
// closed; anything else is refused:
//
//   - a sound file name relative to the node's sound directories: segments of letters,
//     digits, '_', '-' and '.', separated by '/', none starting with '.' (so no "..", no
//     hidden files, no absolute paths, no URL schemes, no "app::args");
//   - Beep ("tone:beep"), or "tone:<hz>/<ms>" (20..8000 Hz, 10..10000 ms);
//   - "tts:<voice>:<text>" (TTS): voice [a-z0-9_-]{0,32}; text up to 2,000 bytes of valid
//     UTF-8 without control characters, '{', '}', '$' or '\' (text filled from contact data
//     is made to fit with CleanTTS).
func CheckPrompt(p string) error {
	switch {
	case p == "":
		return errors.New("empty prompt")
	case p == Beep:
		return nil
	case strings.HasPrefix(p, "tone:"):
		_, _, err := ParseTone(p)
		return err
	case strings.HasPrefix(p, "tts:"):
		voice, text, ok := ParseTTS(p)
		if !ok {
			return fmt.Errorf("prompt %.40q: want tts:<voice>:<text>", p)
		}
		return checkTTS(voice, text)
	}
	return checkSoundFile(p)
}

func checkSoundFile(p string) error {
	if len(p) > MaxPromptLen {
		return fmt.Errorf("prompt: %d bytes; at most %d", len(p), MaxPromptLen)
	}
	if !utf8.ValidString(p) {
		return errors.New("prompt: not valid UTF-8")
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg[0] == '.' || seg[0] == '-' {
			return fmt.Errorf("prompt %q: want a sound file name such as ivr/welcome.wav (path segments may not be empty or start with '.' or '-')", p)
		}
		for _, r := range seg {
			if !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '-' || r == '.') {
				return fmt.Errorf("prompt %q: character %q is not allowed in a sound file name (letters, digits, '_', '-', '.', '/')", p, r)
			}
		}
	}
	return nil
}

var voiceRE = regexp.MustCompile(`^[a-z0-9_-]{0,32}$`)

func checkTTS(voice, text string) error {
	if !voiceRE.MatchString(voice) {
		return fmt.Errorf("tts voice %.40q: want [a-z0-9_-], at most %d", voice, maxVoiceLen)
	}
	if strings.TrimSpace(text) == "" {
		return errors.New("tts: empty text")
	}
	if len(text) > MaxTTSLen {
		return fmt.Errorf("tts: text of %d bytes; at most %d", len(text), MaxTTSLen)
	}
	if !utf8.ValidString(text) {
		return errors.New("tts: text is not valid UTF-8")
	}
	for _, r := range text {
		if unsafeTTSRune(r) {
			return fmt.Errorf("tts: character %q is not allowed in text to speak", r)
		}
	}
	return nil
}

func unsafeTTSRune(r rune) bool {
	return unicode.IsControl(r) || r == '{' || r == '}' || r == '$' || r == '\\' || r == utf8.RuneError
}

// CleanTTS makes text filled from contact data fit the tts grammar: characters the grammar
// refuses become blanks and the text is cut to MaxTTSLen bytes on a rune boundary.
func CleanTTS(text string) string {
	text = strings.ToValidUTF8(text, " ")
	text = strings.Map(func(r rune) rune {
		if unsafeTTSRune(r) {
			return ' '
		}
		return r
	}, text)
	for len(text) > MaxTTSLen {
		_, size := utf8.DecodeLastRuneInString(text)
		text = text[:len(text)-size]
	}
	return text
}

// ParseTone reads "tone:<hz>/<ms>" (Beep is 1000 Hz for 250 ms).
func ParseTone(p string) (hz, ms int, err error) {
	if p == Beep {
		return 1000, 250, nil
	}
	rest, _ := strings.CutPrefix(p, "tone:")
	a, b, ok := strings.Cut(rest, "/")
	hz, err1 := strconv.Atoi(a)
	ms, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || hz < minToneHz || hz > maxToneHz || ms < minToneMs || ms > maxToneMs ||
		a != strconv.Itoa(hz) || b != strconv.Itoa(ms) {
		return 0, 0, fmt.Errorf("prompt %.40q: want tone:beep or tone:<hz>/<ms> (%d..%d Hz, %d..%d ms)", p, minToneHz, maxToneHz, minToneMs, maxToneMs)
	}
	return hz, ms, nil
}

// CheckCallerIDNumber reports whether n may be presented as a caller id: digits with an
// optional leading '+' (E.164 or a national or short form), 2 to 20 digits.
func CheckCallerIDNumber(n string) error {
	digits := strings.TrimPrefix(n, "+")
	if len(digits) < 2 || len(digits) > maxCallerIDDigit || strings.Trim(digits, "0123456789") != "" {
		return fmt.Errorf("caller id %.40q: want digits with an optional leading '+', such as +8610123456789", n)
	}
	return nil
}

// CheckCallerIDName reports whether s may be presented as a caller id name: up to 64
// characters of letters, digits, blanks and . , - _ ( ) & ' (Chinese names included); no
// quotes, angle brackets, braces, backslashes or '$', which frame or expand caller ids.
func CheckCallerIDName(s string) error {
	if utf8.RuneCountInString(s) > MaxCallerIDName || !utf8.ValidString(s) || strings.TrimSpace(s) != s {
		return fmt.Errorf("caller id name: at most %d characters of valid UTF-8, no blanks at either end", MaxCallerIDName)
	}
	for _, r := range s {
		if !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == ' ' || strings.ContainsRune(".,-_()&'", r)) {
			return fmt.Errorf("caller id name %q: character %q is not allowed (letters, digits, blanks, . , - _ ( ) & ')", s, r)
		}
	}
	return nil
}

// CheckNumber reports whether n is a number callplane dials: E.164 with its '+', or the
// same digits without it (1 to 15 digits).
func CheckNumber(n string) error {
	digits := strings.TrimPrefix(n, "+")
	if len(digits) < 1 || len(digits) > 15 || strings.Trim(digits, "0123456789") != "" {
		return fmt.Errorf("number %.40q: want E.164 such as +8613800138000", n)
	}
	return nil
}

// Per-kind dial-string grammars. They admit one leg to one destination: no FreeSWITCH
// ',' '|' ':_:' (several legs), '{' '[' '<' (channel variables) or blanks, no Asterisk '&'
// (several legs) or options.
var (
	fsEndpointRE = regexp.MustCompile(`^(?:` +
		`user/[A-Za-z0-9_.+*#-]+(?:@[A-Za-z0-9.-]+)?` + // a registered user
		`|sofia/gateway/[A-Za-z0-9_.-]+/[A-Za-z0-9_.+*#-]+` + // a gateway
		`|sofia/[A-Za-z0-9_.-]+/[A-Za-z0-9_.+*#-]+(?:@[A-Za-z0-9.-]+(?::[0-9]{1,5})?)?` + // a profile and a URI
		`|loopback/[A-Za-z0-9_.+*#-]+(?:/[A-Za-z0-9_.-]+){0,2}` + // an extension in a context
		`)$`)
	astEndpointRE = regexp.MustCompile(`^(?:` +
		`(?:PJSIP|SIP|IAX2)/[A-Za-z0-9_.+*#-]+(?:@[A-Za-z0-9_.-]+(?::[0-9]{1,5})?)?` + // an endpoint or number@endpoint
		`|Local/[A-Za-z0-9_.+*#-]+@[A-Za-z0-9_.-]+(?:/n)?` + // an extension in a context
		`)$`)
)

// CheckEndpoint reports whether dial is a dial string for one leg on a node of kind:
// FreeSWITCH user/1001, sofia/gateway/gw/8613800138000, sofia/internal/1001@10.0.0.5:5060,
// loopback/1001/default; Asterisk PJSIP/1001, PJSIP/8613800138000@carrier,
// Local/1001@agents.
func CheckEndpoint(kind Kind, dial string) error {
	var re *regexp.Regexp
	var example string
	switch kind {
	case KindFreeSWITCH:
		re, example = fsEndpointRE, "user/1001 or sofia/gateway/carrier/{number}"
	case KindAsterisk:
		re, example = astEndpointRE, "PJSIP/1001 or PJSIP/{number}@carrier"
	default:
		return fmt.Errorf("endpoint: unknown node kind %q", kind)
	}
	if len(dial) > MaxEndpointLen || !re.MatchString(dial) {
		return fmt.Errorf("endpoint %.60q: not a %s dial string for one leg, such as %s", dial, kind, example)
	}
	return nil
}

// CheckDialTemplate reports whether template makes valid dial strings for numbers.
func CheckDialTemplate(kind Kind, template string) error {
	if !strings.Contains(template, "{number}") && !strings.Contains(template, "{e164}") {
		return fmt.Errorf("dial template %q: has no {number} or {e164}", template)
	}
	return CheckEndpoint(kind, DialString(template, "+8613800138000"))
}

// CheckOriginate checks every value of req that a driver of kind splices into a command,
// with the dial string it expanded from the request.
func CheckOriginate(kind Kind, req OriginateRequest, dial string) error {
	var errs []error
	if req.Endpoint == "" {
		if err := CheckNumber(req.Number); err != nil {
			errs = append(errs, err)
		}
	}
	if err := CheckEndpoint(kind, dial); err != nil {
		errs = append(errs, err)
	}
	if req.CallerIDNumber != "" {
		if err := CheckCallerIDNumber(req.CallerIDNumber); err != nil {
			errs = append(errs, err)
		}
	}
	if req.CallerIDName != "" {
		if err := CheckCallerIDName(req.CallerIDName); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("originate %s: %w: %w", req.CallID, ErrInvalid, errors.Join(errs...))
	}
	return nil
}

// CheckRecordPath reports whether p may name a recording file on a node: the sound file
// grammar of CheckPrompt, optionally absolute.
func CheckRecordPath(p string) error {
	if err := checkSoundFile(strings.TrimPrefix(p, "/")); err != nil {
		return fmt.Errorf("recording path: %w", err)
	}
	return nil
}
