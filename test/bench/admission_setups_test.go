package bench

import (
	"strings"
	"testing"
)

func TestCallsMade(t *testing.T) {
	before := webhookCalls{seconds: 1, count: 50, failedOpen: 2}
	for _, tc := range []struct {
		name  string
		after webhookCalls
		want  string // a part of the error; empty for none
	}{
		{"a call per Job", webhookCalls{seconds: 3, count: 150, failedOpen: 2}, ""},
		{"more calls than Jobs", webhookCalls{seconds: 3, count: 151, failedOpen: 2}, ""},
		{"fewer calls than Jobs", webhookCalls{seconds: 3, count: 149, failedOpen: 2}, "called 99 times for 100 Jobs"},
		{"calls failed open", webhookCalls{seconds: 3, count: 150, failedOpen: 5}, "3 calls failed and let the Job through unmutated"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := callsMade(before, tc.after, 100)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("error %v, want none", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %v, want one saying %q", err, tc.want)
			}
		})
	}
}
