package message

import (
	"strings"
	"testing"
)

func TestTruncate(t *testing.T) {
	tests := []struct {
		name, s, mark string
		n             int
		want          string
	}{
		{name: "short enough", s: "abc", n: 3, mark: "…", want: "abc"},
		{name: "cut and marked", s: "abcdef", n: 4, mark: "…", want: "abc…"},
		{name: "a three-character mark", s: "abcdef", n: 5, mark: "...", want: "ab..."},
		{name: "space before the cut is dropped", s: "ab cdef", n: 6, mark: "...", want: "ab..."},
		{name: "characters, not bytes", s: "ééééé", n: 4, mark: "…", want: "ééé…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Truncate(tt.s, tt.n, tt.mark); got != tt.want {
				t.Fatalf("Truncate(%q, %d, %q) = %q, want %q", tt.s, tt.n, tt.mark, got, tt.want)
			}
		})
	}
}

func TestWarning(t *testing.T) {
	long := strings.Repeat("x", 200)
	if got := Warning(long); got != strings.Repeat("x", MaxWarning-3)+"..." {
		t.Fatalf("Warning(200 x) = %q", got)
	}
	if got := Warning("short"); got != "short" {
		t.Fatalf("Warning(short) = %q", got)
	}
}
