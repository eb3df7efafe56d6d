package bench

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// addThroughputRows reports how long 1000 Tasks take to get PipelineRuns
// and to finish, against the same PipelineRuns created directly.
func addThroughputRows(r *Report, results []ThroughputResult, tasks int) {
	var floorStart, floorDone, tasksStart, tasksDone, ratioStart, ratioDone, perTask, rate []float64
	perMethod := map[string][]float64{}
	for _, res := range results {
		var sent float64
		for method, n := range res.ManagerRequests {
			sent += n
			perMethod[method] = append(perMethod[method], n/float64(tasks))
		}
		perTask = append(perTask, sent/float64(tasks))
		rate = append(rate, sent/res.Tasks.Finished.Seconds())
		floorStart, floorDone = append(floorStart, res.Floor.Started.Seconds()), append(floorDone, res.Floor.Finished.Seconds())
		tasksStart, tasksDone = append(tasksStart, res.Tasks.Started.Seconds()), append(tasksDone, res.Tasks.Finished.Seconds())
		ratioStart = append(ratioStart, res.Tasks.Started.Seconds()/res.Floor.Started.Seconds())
		ratioDone = append(ratioDone, res.Tasks.Finished.Seconds()/res.Floor.Finished.Seconds())
	}
	rs, rd := SpreadOf(ratioStart), SpreadOf(ratioDone)
	r.Add(Row{
		Figure:   fmt.Sprintf("%d Tasks: all have PipelineRuns", tasks),
		Result:   fmtSeconds(SpreadOf(tasksStart)),
		Baseline: fmt.Sprintf("%d PipelineRuns created directly: %s", tasks, fmtSeconds(SpreadOf(floorStart))),
		Ratio:    fmt.Sprintf("%.2f× (%.2f–%.2f)", rs.Median, rs.Min, rs.Max),
	})
	r.Add(Row{
		Figure:   fmt.Sprintf("%d Tasks: all finished", tasks),
		Result:   fmtSeconds(SpreadOf(tasksDone)),
		Baseline: fmt.Sprintf("%d direct PipelineRuns finished: %s", tasks, fmtSeconds(SpreadOf(floorDone))),
		Ratio:    fmt.Sprintf("%.2f× (%.2f–%.2f)", rd.Median, rd.Min, rd.Max),
		Target:   fmt.Sprintf("≤ %.1f× the floor", targetThroughput),
		Met:      met(within(rd.Median, targetThroughput)),
	})
	pt, qps := SpreadOf(perTask), SpreadOf(rate)
	var methods []string
	for _, method := range requestMethods {
		if n, ok := perMethod[method]; ok {
			methods = append(methods, fmt.Sprintf("%s %.1f", method, SpreadOf(n).Median))
		}
	}
	r.Add(Row{
		Figure: fmt.Sprintf("%d Tasks: the manager's API requests", tasks),
		Result: fmt.Sprintf("%.1f per Task (%.1f–%.1f; %s), %.1f per second until all finished (%.1f–%.1f)",
			pt.Median, pt.Min, pt.Max, strings.Join(methods, ", "), qps.Median, qps.Min, qps.Max),
	})
	addPhaseRow(r, fmt.Sprintf("%d Tasks: writes kube-apiserver served, per Task", tasks), "per direct PipelineRun", results, float64(tasks),
		func(res ThroughputResult) (map[string]float64, map[string]float64) {
			return res.FloorWrites, res.TaskWrites
		})
	addPhaseRow(r, fmt.Sprintf("%d Tasks: CPU seconds used until all finished, by process", tasks), "direct PipelineRuns", results, 1,
		func(res ThroughputResult) (map[string]float64, map[string]float64) { return res.FloorCPU, res.TaskCPU })
	r.Note("Throughput: %d rounds; each creates %d objects with 32 concurrent clients and times from the first create to the last PipelineRun seen and to the last one finished (watched). The floor is the PipelineRun taskgate built for one of the Tasks, copied without its owner; pods run under kwok. Requests per Task by method are medians over the rounds.", len(results), tasks)
}

// addPhaseRow reports a figure counted in both phases, the Tasks' and
// the floor's, over divisor, with its largest parts.
func addPhaseRow(r *Report, figure, floorName string, results []ThroughputResult, divisor float64, phases func(ThroughputResult) (floor, tasks map[string]float64)) {
	floor, floorParts := breakdown(results, divisor, func(res ThroughputResult) map[string]float64 { f, _ := phases(res); return f })
	tasks, taskParts := breakdown(results, divisor, func(res ThroughputResult) map[string]float64 { _, t := phases(res); return t })
	if len(floor) == 0 || len(tasks) == 0 {
		return
	}
	f, t := SpreadOf(floor), SpreadOf(tasks)
	r.Add(Row{
		Figure:   figure,
		Result:   fmt.Sprintf("%.1f (%.1f–%.1f): %s", t.Median, t.Min, t.Max, taskParts),
		Baseline: fmt.Sprintf("%s %.1f (%.1f–%.1f): %s", floorName, f.Median, f.Min, f.Max, floorParts),
		Ratio:    fmt.Sprintf("%.2f×", t.Median/f.Median),
	})
}

// breakdown returns each round's sum of phase's parts over divisor, and
// the median of each part over divisor, the largest first; parts under
// 0.1 are left out.
func breakdown(results []ThroughputResult, divisor float64, phase func(ThroughputResult) map[string]float64) ([]float64, string) {
	var totals []float64
	kinds := map[string][]float64{}
	for _, res := range results {
		parts := phase(res)
		if parts == nil {
			continue
		}
		var total float64
		for kind, v := range parts {
			total += v
			kinds[kind] = append(kinds[kind], v/divisor)
		}
		totals = append(totals, total/divisor)
	}
	type part struct {
		kind   string
		median float64
	}
	var parts []part
	for kind, per := range kinds {
		// A kind missing from a round counts as 0 there.
		for len(per) < len(totals) {
			per = append(per, 0)
		}
		if m := SpreadOf(per).Median; m >= 0.1 {
			parts = append(parts, part{kind, m})
		}
	}
	slices.SortFunc(parts, func(a, b part) int {
		return cmp.Or(cmp.Compare(b.median, a.median), strings.Compare(a.kind, b.kind))
	})
	shown := make([]string, len(parts))
	for i, p := range parts {
		shown[i] = fmt.Sprintf("%s %.1f", p.kind, p.median)
	}
	return totals, strings.Join(shown, ", ")
}
