package eslbridge

import (
	"bufio"
	"bytes"
	"net/textproto"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzReadFrame feeds arbitrary bytes to the ESL frame reader and the event decoder,
// seeded with frames captured from FreeSWITCH.
func FuzzReadFrame(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.plain.txt")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("Content-Type: auth/request\n\n"))
	f.Add([]byte("Content-Type: api/response\nContent-Length: 3\n\n+OK"))
	f.Add([]byte("Content-Length: 99999999999\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		br := bufio.NewReader(bytes.NewReader(data))
		tp := textproto.NewReader(br)
		for range 100 {
			fr, err := readFrame(tp, br)
			if err != nil {
				return
			}
			if h, body, err := parseEvent(fr.body); err == nil {
				decode(h, body, time.Time{})
			}
		}
	})
}
