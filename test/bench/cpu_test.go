package bench

import (
	"testing"
	"time"
)

func TestParseProcStat(t *testing.T) {
	tests := []struct {
		name, stat string
		comm       string
		cpu        time.Duration
		wantErr    bool
	}{
		{name: "kube-apiserver", stat: "8600 (kube-apiserver) S 8565 8565 5396 0 -1 4194560 912 0 0 0 12345 678 0 0 20 0 14 0 2560627 3133440 350",
			comm: "kube-apiserver", cpu: (12345 + 678) * 10 * time.Millisecond},
		{name: "a name with spaces and parentheses", stat: "42 (my (odd) proc) R 1 1 1 0 -1 0 0 0 0 0 7 3 0 0",
			comm: "my (odd) proc", cpu: 100 * time.Millisecond},
		{name: "no name", stat: "42 my-proc R 1", wantErr: true},
		{name: "cut short", stat: "42 (taskgate) R 1 1 1 0 -1 0 0 0 0 0 7", wantErr: true},
		{name: "not a number", stat: "42 (taskgate) R 1 1 1 0 -1 0 0 0 0 0 x 3 0 0", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			comm, cpu, err := parseProcStat([]byte(tt.stat))
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseProcStat() error = %v, want error %t", err, tt.wantErr)
			}
			if comm != tt.comm || cpu != tt.cpu {
				t.Errorf("parseProcStat() = %q, %s; want %q, %s", comm, cpu, tt.comm, tt.cpu)
			}
		})
	}
}
