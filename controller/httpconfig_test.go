package main

import (
	"strings"
	"testing"
	"time"
)

// TestHTTPConfig: the http section's limits have defaults and are checked.
func TestHTTPConfig(t *testing.T) {
	c, err := LoadConfig(writeConfig(t, ""), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	want := HTTPConfig{Addr: "127.0.0.1:8080", ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: time.Minute, IdleTimeout: 2 * time.Minute, UploadTimeout: 10 * time.Minute,
		MaxConnsPerIP: 64, MaxEventStreams: 100}
	if c.HTTP != want {
		t.Errorf("defaults %+v, want %+v", c.HTTP, want)
	}
	c, err = LoadConfig(writeConfig(t, "http:\n  read_timeout: 5s\n  write_timeout: 20m\n"), func(string) string { return "" })
	if err != nil || c.HTTP.ReadHeaderTimeout != 5*time.Second || c.HTTP.UploadTimeout != 20*time.Minute {
		t.Errorf("short read_timeout, long write_timeout: %+v %v; want read_header_timeout 5s, upload_timeout 20m", c.HTTP, err)
	}
	for _, tt := range []struct{ body, want string }{
		{"http:\n  read_timeout: -1s\n", "http.read_timeout -1s: must not be negative"},
		{"http:\n  read_header_timeout: 1m\n", "http.read_header_timeout 1m0s: must not exceed read_timeout 30s"},
		{"http:\n  upload_timeout: 1s\n", "http.upload_timeout 1s: must be at least read_timeout and write_timeout"},
		{"http:\n  max_conns_per_ip: -1\n", "http.max_conns_per_ip -1: must be at least 1"},
		{"http:\n  max_event_streams: -5\n", "http.max_event_streams -5: must be at least 1"},
	} {
		_, err := LoadConfig(writeConfig(t, tt.body), func(string) string { return "" })
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: err = %v, want %q", tt.body, err, tt.want)
		}
	}
}
