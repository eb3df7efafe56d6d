package bench

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"time"
)

// addAdmissionRows reports p50 and p99 per setup; what taskgate's webhook,
// taskgate's generated policies, the fixed-patch webhook and the
// MutatingAdmissionPolicy add over no webhook; and what taskgate adds
// beyond the fixed-patch webhook, each as the median over rounds with its
// spread. The fixed-patch webhook makes the policy's
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
		if len(at[SetupTaskgatePolicy]) > 0 {
			adds := differences(at[SetupTaskgatePolicy], none)
			row := addedRow("taskgate policy adds at "+label, adds, polAdds)
			if p == 50 {
				added, polAdded := SpreadOf(adds), SpreadOf(polAdds)
				row.Target = fmt.Sprintf("≤ %.1f ms, ≤ %.1f× MAP", targetPolicyAddedP50, targetPolicyAddedRatio)
				row.Met = met(within(added.Median, targetPolicyAddedP50) &&
					(added.Median <= 0 || polAdded.Median > 0 && within(added.Median/polAdded.Median, targetPolicyAddedRatio)))
			}
			r.Add(row)
		}
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
	if len(byRound[rounds][SetupTaskgatePolicy]) > 0 {
		r.Note("taskgate policy: taskgate's generated MutatingAdmissionPolicy and ValidatingAdmissionPolicy (package jobadmission), bound as the chart binds them, reading the JobTTLParams compiled from the bench's policy; they set the creation TTL only (the App's env stays with the webhook), where the MAP sets the TTL and the env. Every create of every setup is checked to carry the creation TTL (none: no TTL).")
	}
}

// addManagerStoppedRows reports the share of Jobs created while the
// manager was stopped that got their creation TTL through taskgate's
// generated policies, against its Job webhook, which fails open.
func addManagerStoppedRows(r *Report, res *ManagerStoppedResult) {
	r.Add(Row{
		Figure:   "Job TTL set with the manager stopped, taskgate policy",
		Result:   share(res.PolicyTTL, res.Jobs),
		Baseline: "taskgate webhook " + share(res.WebhookTTL, res.Jobs),
		Target:   "100%",
		Met:      met(res.Jobs > 0 && res.PolicyTTL == res.Jobs),
	})
	r.Note("Manager stopped: %d suspended Jobs created through taskgate's generated policies and as many through its Job webhook (failurePolicy Ignore), taking turns, with the manager's process stopped; share admitted with the creation TTL. The manager is started again afterwards.", res.Jobs)
}

// share renders n of total as a percentage, rounded down to a tenth so
// that only all of them reads 100%, with its counts.
func share(n, total int) string {
	if total == 0 {
		return "– (0 Jobs)"
	}
	pct := math.Floor(1000*float64(n)/float64(total)) / 10
	return fmt.Sprintf("%s%% (%d of %d)", strconv.FormatFloat(pct, 'f', -1, 64), n, total)
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
