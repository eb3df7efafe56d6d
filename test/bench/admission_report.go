package bench

import (
	"fmt"
	"maps"
	"slices"
	"time"
)

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
