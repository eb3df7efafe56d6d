package bench

import (
	"fmt"
	"time"

	"github.com/taskgate/taskgate/test/localcluster"
)

// addRealNodeRows reports the real node's start, and how long a Task takes
// to start its process and to succeed there against a bare PipelineRun of
// the same step, at p50 (nearest rank) and at most.
func addRealNodeRows(r *Report, res *RealNodeResult) {
	r.Add(Row{Figure: "Real node: start (containerd, images imported, kubelet Ready)", Result: fmt.Sprintf("%.1f s", res.Start.Seconds())})
	for _, phase := range []struct {
		name string
		of   func(RealNodeRun) time.Duration
	}{
		{"process running", func(run RealNodeRun) time.Duration { return run.Running }},
		{"Succeeded", func(run RealNodeRun) time.Duration { return run.Done }},
	} {
		tasks, runs := realNodeTimes(res.Tasks, phase.of), realNodeTimes(res.PipelineRuns, phase.of)
		taskP50, runP50 := Percentile(tasks, 50).Seconds(), Percentile(runs, 50).Seconds()
		row := Row{
			Figure:   fmt.Sprintf("Real node, %d Tasks one at a time: create → %s", len(tasks), phase.name),
			Result:   fmt.Sprintf("p50 %.2f s, max %.2f s", taskP50, Percentile(tasks, 100).Seconds()),
			Baseline: fmt.Sprintf("%d bare PipelineRuns of the same step: p50 %.2f s, max %.2f s", len(runs), runP50, Percentile(runs, 100).Seconds()),
			Target:   fmt.Sprintf("≤ %.1f× the bare PipelineRun at p50", targetRealNodeRatio),
			Met:      met(false),
		}
		if runP50 > 0 {
			row.Ratio = fmt.Sprintf("%.2f× at p50", taskP50/runP50)
			row.Met = met(within(taskP50/runP50, targetRealNodeRatio))
		}
		r.Add(row)
	}
	r.Note("Real node: Tasks of an App with image %s and command %q, and bare PipelineRuns copied from the PipelineRun taskgate built for the first Task (same step, command /bin/sh -c, security context and pod template), on the one real node (kubelet, containerd, runc), one at a time, alternating which goes first; one of each ran first unmeasured. Times are from just before the client's create; process running is the StartedAt Tekton's entrypoint records as it runs the command (milliseconds; the container's startedAt has whole seconds), Succeeded is the watch event. Every pod was checked to have run on the real node.", localcluster.ImageShellUID, realNodeCommand)
}

func realNodeTimes(runs []RealNodeRun, of func(RealNodeRun) time.Duration) []time.Duration {
	out := make([]time.Duration, len(runs))
	for i, run := range runs {
		out[i] = of(run)
	}
	return out
}
