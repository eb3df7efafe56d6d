package manager

import (
	"testing"

	"k8s.io/apimachinery/pkg/labels"
)

func TestCacheSelectors(t *testing.T) {
	tests := []struct {
		name     string
		selector labels.Selector
		labels   labels.Set
		want     bool
	}{
		{"a Task's run", ownRuns, labels.Set{"taskgate.dev/task": "migrate", "tekton.dev/pipeline": "x"}, true},
		{"another pipeline's run", ownRuns, labels.Set{"tekton.dev/pipeline": "x"}, false},
		{"a recorded run", ownRuns, labels.Set{"taskgate.dev/task": "migrate", "taskgate.dev/run-recorded": "true"}, false},
		{"a recorded run, whatever the value", ownRuns, labels.Set{"taskgate.dev/task": "migrate", "taskgate.dev/run-recorded": ""}, false},
		{"a running Job", undecidedJobs, labels.Set{"team": "a"}, true},
		{"a Job without labels", undecidedJobs, nil, true},
		{"a decided Job", undecidedJobs, labels.Set{"team": "a", "taskgate.dev/completion-decided": "true"}, false},
		{"a decided Job, whatever the value", undecidedJobs, labels.Set{"taskgate.dev/completion-decided": ""}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.selector.Matches(tt.labels); got != tt.want {
				t.Fatalf("%s matches %v = %t, want %t", tt.selector, tt.labels, got, tt.want)
			}
		})
	}
}
