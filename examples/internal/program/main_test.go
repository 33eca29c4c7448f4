package program_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/framesock/framesock/examples/internal/program"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestExitStatus: run's nil and -h's flag.ErrHelp exit 0 silently; any
// other error exits 1 with one line naming the program.
func TestExitStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantStderr string
	}{
		{name: "success", err: nil, wantStatus: 0},
		{name: "help", err: fmt.Errorf("parsing: %w", flag.ErrHelp), wantStatus: 0},
		{name: "failure", err: errors.New("cannot connect to 127.0.0.1:1: connection refused"), wantStatus: 1,
			wantStderr: "tcp-client: cannot connect to 127.0.0.1:1: connection refused\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var gotArgs []string
			run := func(ctx context.Context, args []string, stdout io.Writer) error {
				if err := ctx.Err(); err != nil {
					return fmt.Errorf("run started with its context done: %w", err)
				}
				gotArgs = args
				fmt.Fprint(stdout, "out")
				return tt.err
			}
			var stdout, stderr bytes.Buffer
			status := program.ExitStatus("tcp-client", run, []string{"-addr", "x"}, &stdout, &stderr)
			if status != tt.wantStatus {
				t.Errorf("status %d, want %d", status, tt.wantStatus)
			}
			if diff := cmp.Diff(tt.wantStderr, stderr.String()); diff != "" {
				t.Errorf("stderr (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"-addr", "x"}, gotArgs); diff != "" {
				t.Errorf("run's args (-want +got):\n%s", diff)
			}
			if stdout.String() != "out" {
				t.Errorf("stdout %q, want run's %q", stdout.String(), "out")
			}
		})
	}
}
