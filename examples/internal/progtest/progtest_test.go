package progtest_test

import (
	"testing"

	"github.com/framesock/framesock/examples/internal/progtest"
)

func TestParseListening(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, line, want string
		wantErr          bool
	}{
		{name: "IPv4", line: "listening on 127.0.0.1:9000\n", want: "127.0.0.1:9000"},
		{name: "IPv6 wildcard", line: "listening on [::]:41234\n", want: "[::]:41234"},
		{name: "CRLF", line: "listening on 127.0.0.1:1\r\n", want: "127.0.0.1:1"},
		{name: "chapter's wording", line: "Server listening on port 9000...\n", wantErr: true},
		{name: "port zero, not the bound port", line: "listening on 127.0.0.1:0\n", wantErr: true},
		{name: "no port", line: "listening on 127.0.0.1\n", wantErr: true},
		{name: "unbracketed IPv6", line: "listening on ::1:9000\n", wantErr: true},
		{name: "empty", line: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := progtest.ParseListening(tt.line)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("ParseListening(%q) = %q, %v; want %q, error %v", tt.line, got, err, tt.want, tt.wantErr)
			}
		})
	}
}
