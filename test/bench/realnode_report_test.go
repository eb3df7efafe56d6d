package bench

import (
	"strings"
	"testing"
	"time"
)

func secs(v ...float64) []RealNodeRun {
	out := make([]RealNodeRun, len(v)/2)
	for i := range out {
		out[i] = RealNodeRun{Running: time.Duration(v[2*i] * float64(time.Second)), Done: time.Duration(v[2*i+1] * float64(time.Second))}
	}
	return out
}

func TestAddRealNodeRows(t *testing.T) {
	var r Report
	// Nearest-rank p50 of four is the second smallest.
	addRealNodeRows(&r, &RealNodeResult{
		Start:        12345 * time.Millisecond,
		Tasks:        secs(2.2, 3.5, 2.0, 3.3, 2.9, 4.1, 2.1, 3.4),
		PipelineRuns: secs(2.0, 3.0, 1.9, 3.1, 2.5, 3.9, 1.8, 3.2),
	})
	want := []Row{
		{Figure: "Real node: start (containerd, images imported, kubelet Ready)", Result: "12.3 s"},
		{
			Figure: "Real node, 4 Tasks one at a time: create → process running", Result: "p50 2.10 s, max 2.90 s",
			Baseline: "4 bare PipelineRuns of the same step: p50 1.90 s, max 2.50 s", Ratio: "1.11× at p50",
			Target: "≤ 1.1× the bare PipelineRun at p50", Met: "no",
		},
		{
			Figure: "Real node, 4 Tasks one at a time: create → Succeeded", Result: "p50 3.40 s, max 4.10 s",
			Baseline: "4 bare PipelineRuns of the same step: p50 3.10 s, max 3.90 s", Ratio: "1.10× at p50",
			Target: "≤ 1.1× the bare PipelineRun at p50", Met: "yes",
		},
	}
	if len(r.Rows) != len(want) {
		t.Fatalf("got %d rows, want %d: %+v", len(r.Rows), len(want), r.Rows)
	}
	for i := range want {
		if r.Rows[i] != want[i] {
			t.Errorf("row %d:\n got %+v\nwant %+v", i, r.Rows[i], want[i])
		}
	}
	if len(r.Notes) != 1 || !strings.HasPrefix(r.Notes[0], `Real node: Tasks of an App with image example.invalid/localcluster/shell:uid-1000 and command "echo started; sleep 1"`) {
		t.Errorf("notes = %q", r.Notes)
	}
}

// A baseline of nothing has no ratio and cannot meet the target.
func TestAddRealNodeRowsWithoutBaseline(t *testing.T) {
	var r Report
	addRealNodeRows(&r, &RealNodeResult{Start: time.Second, Tasks: secs(2, 3)})
	want := Row{
		Figure: "Real node, 1 Tasks one at a time: create → process running", Result: "p50 2.00 s, max 2.00 s",
		Baseline: "0 bare PipelineRuns of the same step: p50 0.00 s, max 0.00 s",
		Target:   "≤ 1.1× the bare PipelineRun at p50", Met: "no",
	}
	if r.Rows[1] != want {
		t.Errorf("got %+v\nwant %+v", r.Rows[1], want)
	}
}
