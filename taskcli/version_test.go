package taskcli

import (
	"runtime/debug"
	"testing"
)

func TestVersionLine(t *testing.T) {
	tests := []struct {
		name string
		info *debug.BuildInfo
		want string
	}{
		{"no build info", nil, "kubectl-task unknown (built without module information)"},
		{"a release", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v0.3.0"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0e30c3c"}, {Key: "vcs.modified", Value: "false"}}},
			"kubectl-task v0.3.0, commit 0e30c3c, go1.26.0"},
		{"a local build with changes", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "(devel)"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0e30c3c"}, {Key: "vcs.modified", Value: "true"}}},
			"kubectl-task (devel), commit 0e30c3c, modified, go1.26.0"},
		{"no VCS information", &debug.BuildInfo{GoVersion: "go1.26.0"}, "kubectl-task (devel), go1.26.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := VersionLine(tt.info); got != tt.want {
				t.Errorf("VersionLine = %q, want %q", got, tt.want)
			}
		})
	}
}
