package eslbridge

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/textproto"
	"strconv"
)

// The replay and fuzz tests split captured traffic into frames and events themselves;
// the driver gets them from eslgo.

// maxFrame bounds one frame's body; a real event is a few kilobytes.
const maxFrame = 16 << 20

// rawFrame is one ESL message as read off the wire.
type rawFrame struct {
	h    textproto.MIMEHeader
	body []byte
}

func readFrame(tp *textproto.Reader, r io.Reader) (rawFrame, error) {
	h, err := tp.ReadMIMEHeader()
	if err != nil {
		return rawFrame{}, err
	}
	f := rawFrame{h: h}
	if cl := h.Get("Content-Length"); cl != "" {
		n, err := strconv.Atoi(cl)
		if err != nil || n < 0 || n > maxFrame {
			return f, fmt.Errorf("bad Content-Length %q", cl)
		}
		f.body = make([]byte, n)
		if _, err := io.ReadFull(r, f.body); err != nil {
			return f, err
		}
	}
	return f, nil
}

// parseEvent splits a text/event-plain body into its headers and its own body (the
// BACKGROUND_JOB result after the inner Content-Length).
func parseEvent(body []byte) (textproto.MIMEHeader, []byte, error) {
	br := bufio.NewReader(bytes.NewReader(body))
	h, err := textproto.NewReader(br).ReadMIMEHeader()
	if err != nil && !(errors.Is(err, io.EOF) && len(h) > 0) {
		return nil, nil, err
	}
	var inner []byte
	if cl := h.Get("Content-Length"); cl != "" {
		n, err := strconv.Atoi(cl)
		if err != nil || n < 0 || n > len(body) {
			return h, nil, fmt.Errorf("bad inner Content-Length %q", cl)
		}
		inner = make([]byte, n)
		if _, err := io.ReadFull(br, inner); err != nil {
			return h, nil, err
		}
	}
	return h, inner, nil
}
