package bench

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"
)

// within compares a figure with its bound as the report prints it, to two
// decimals, so a ratio shown as 1.20× meets a bound of 1.2×.
func within(value, bound float64) bool { return math.Round(value*100)/100 <= bound }

// addAdmissionRows reports p50 and p99 per setup; what taskgate, the
// fixed-patch webhook and the MutatingAdmissionPolicy add over no webhook;
// and what taskgate adds beyond the fixed-patch webhook, each as the median
// over rounds with its spread. The fixed-patch webhook makes the policy's
// mutation and no decision, so its rows say what any webhook making it
// pays, and the last how much of taskgate's cost is its own work.
func addAdmissionRows(r *Report, results []AdmissionResult, jobs int) {
	byRound := map[int]map[string][]time.Duration{}
	rounds := 0
	for _, res := range results {
		if byRound[res.Round] == nil {
			byRound[res.Round] = map[string][]time.Duration{}
		}
		byRound[res.Round][res.Setup] = res.Latencies
		rounds = max(rounds, res.Round)
	}
	for _, p := range []float64{50, 99} {
		label := fmt.Sprintf("p%.0f", p)
		at := map[string][]float64{}
		for _, round := range slices.Sorted(maps.Keys(byRound)) {
			latencies := byRound[round]
			for _, s := range setups {
				if l, ok := latencies[s.name]; ok {
					at[s.name] = append(at[s.name], millis(Percentile(l, p)))
				}
			}
		}
		none := at[SetupNone]
		for _, s := range setups {
			if len(at[s.name]) == 0 {
				continue
			}
			row := Row{Figure: "Job create " + label + ", " + s.name, Result: fmtMs(SpreadOf(at[s.name]))}
			if s.name != SetupNone {
				row.Baseline = fmtMs(SpreadOf(none))
			}
			r.Add(row)
		}
		hookAdds, polAdds := differences(at[SetupHook], none), differences(at[SetupPolicy], none)
		row := addedRow("taskgate adds at "+label, hookAdds, polAdds)
		if p == 50 {
			added, polAdded := SpreadOf(hookAdds), SpreadOf(polAdds)
			row.Target = fmt.Sprintf("≤ %.1f ms, ≤ %.1f× MAP", targetAddedP50, targetAddedRatio)
			row.Met = met(within(added.Median, targetAddedP50) && (added.Median <= 0 || polAdded.Median > 0 && within(added.Median/polAdded.Median, targetAddedRatio)))
		}
		r.Add(row)
		if len(at[SetupFixed]) > 0 {
			r.Add(addedRow("the fixed-patch webhook adds at "+label, differences(at[SetupFixed], none), polAdds))
			r.Add(Row{Figure: "taskgate adds beyond the fixed-patch webhook at " + label, Result: fmtMs(SpreadOf(differences(at[SetupHook], at[SetupFixed])))})
		}
	}
	calls := map[string][]float64{}
	for _, res := range results {
		if res.WebhookCall > 0 {
			calls[res.Setup] = append(calls[res.Setup], millis(res.WebhookCall))
		}
	}
	for _, s := range []struct{ setup, figure string }{
		{SetupHook, "kube-apiserver's call to taskgate's Job webhook, mean"},
		{SetupFixed, "kube-apiserver's call to the fixed-patch webhook, mean"},
	} {
		if len(calls[s.setup]) > 0 {
			r.Add(Row{Figure: s.figure, Result: fmtMs(SpreadOf(calls[s.setup]))})
		}
	}
	r.Note("Admission: %d suspended Jobs labelled with an App, created one at a time through kube-apiserver per setup and round (after 50 unmeasured), %d rounds; the setups take turns request by request, each in namespaces of its own; latency is the client's create round trip. Ratio = (setup − none) / (MAP − none), per round. The fixed-patch webhook is registered as taskgate's Job webhook is and served by a process of its own over TLS and HTTP/1.1; it decodes each AdmissionReview and answers with the MAP's mutation as a JSON patch computed once.", jobs, rounds)
}

// addedRow reports what a setup adds over no webhook, adds, against what
// the MutatingAdmissionPolicy adds, polAdds, one of each per round.
func addedRow(figure string, adds, polAdds []float64) Row {
	row := Row{Figure: figure, Result: fmtMs(SpreadOf(adds)), Baseline: "MAP adds " + fmtMs(SpreadOf(polAdds))}
	var ratio []float64
	for i := range min(len(adds), len(polAdds)) {
		if polAdds[i] > 0 {
			ratio = append(ratio, adds[i]/polAdds[i])
		}
	}
	if len(ratio) > 0 {
		rs := SpreadOf(ratio)
		row.Ratio = fmt.Sprintf("%.2f× (%.2f–%.2f)", rs.Median, rs.Min, rs.Max)
	}
	return row
}

// differences is a[i] − b[i] for each round.
func differences(a, b []float64) []float64 {
	d := make([]float64, min(len(a), len(b)))
	for i := range d {
		d[i] = a[i] - b[i]
	}
	return d
}

// addHandlerRows reports each handler benchmark's median ns/op and allocs.
func addHandlerRows(r *Report, results []HandlerResult) {
	for _, h := range results {
		ns := SpreadOf(h.NsPerOp)
		allocs := SpreadOf(h.AllocsOp)
		bytes := SpreadOf(h.BytesOp)
		r.Add(Row{
			Figure: h.Name + " per AdmissionReview",
			Result: fmt.Sprintf("%.1f µs (%.1f–%.1f), %.0f allocs, %.1f KiB", ns.Median/1e3, ns.Min/1e3, ns.Max/1e3, allocs.Median, bytes.Median/1024),
			Target: fmt.Sprintf("≤ %d µs", targetHandler),
			Met:    met(ns.Median/1e3 <= targetHandler),
		})
	}
	if len(results) > 0 {
		r.Note("Handlers: go test -bench ./webhook, %d runs each with GOMAXPROCS=%d, on the machine before the cluster starts.", len(results[0].NsPerOp), results[0].Processes)
	}
}

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

// addCapRows reports cap convergence.
func addCapRows(r *Report, c *CapResult) {
	finish, create := c.AfterFinish, c.AfterCreate
	p99 := Percentile(finish, 99).Seconds()
	r.Add(Row{
		Figure:   fmt.Sprintf("Cap %d: the Task past the cap finishes → back at the cap", capTasks),
		Result:   fmt.Sprintf("p50 %.3f s, p99 %.3f s, max %.3f s (%d samples)", Percentile(finish, 50).Seconds(), p99, Percentile(finish, 100).Seconds(), len(finish)),
		Baseline: "Kf: up to 300 s",
		Target:   fmt.Sprintf("p99 < %.0f s", targetCapP99),
		Met:      met(p99 < targetCapP99),
	})
	r.Add(Row{
		Figure: fmt.Sprintf("Cap %d: a new Task puts the App over → back at the cap", capTasks),
		Result: fmt.Sprintf("p50 %.3f s, p99 %.3f s, max %.3f s (%d samples)", Percentile(create, 50).Seconds(), Percentile(create, 99).Seconds(), Percentile(create, 100).Seconds(), len(create)),
	})
	r.Note("Cap: an App capped at %d; each sample starts a slow Task, then %d quick ones, so the slow one is past the cap until it finishes. Times are from the watch event that shows the Task finished (or created) to the watch event of the deletion that brings the count back to the cap.", capTasks, capTasks)
}

// addMemoryRows reports the manager's memory with the cluster full.
func addMemoryRows(r *Report, m *MemoryResult) {
	mib := func(b int64) float64 { return float64(b) / (1 << 20) }
	for _, s := range []struct {
		name string
		at   MemorySample
	}{
		{"after processing them, 30 s after its queues drained", m.Loaded},
		{"after processing them, after its next garbage collection", m.LoadedIdle},
		{"restarted, caches synced", m.Fresh},
	} {
		r.Add(Row{
			Figure: fmt.Sprintf("Manager memory, %d Jobs + %d Tasks, %s", m.Jobs, m.Tasks, s.name),
			Result: fmt.Sprintf("RSS %.0f MiB (anonymous %.0f, binary %.0f), heap in use %.0f MiB, freed and kept %.0f MiB; peak RSS so far %.0f MiB",
				mib(s.at.RSS), mib(s.at.Anon), mib(s.at.File), mib(s.at.HeapInuse), mib(s.at.HeapKept), mib(s.at.PeakRSS)),
			Target: fmt.Sprintf("< %d MiB", targetMemoryBytes>>20),
			Met:    met(s.at.RSS < targetMemoryBytes),
		})
	}
	r.Note("Memory: finished Jobs and Tasks spread over %d namespaces; the cluster took %s to fill, and the manager's work queues held at most %d items together meanwhile. %s", memoryNamespaces, m.Fill.Round(time.Second), m.PeakQueued, m.How)
}
