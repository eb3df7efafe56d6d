package bench

import (
	"slices"
	"testing"
	"time"
)

func TestAddAdmissionRows(t *testing.T) {
	// Two rounds; every sample of a setup is the same, so p50 = p99.
	results := []AdmissionResult{
		{Setup: SetupNone, Round: 1, Latencies: ms(4, 4, 4)},
		{Setup: SetupFixed, Round: 1, Latencies: ms(4.5, 4.5, 4.5), WebhookCall: 400 * time.Microsecond},
		{Setup: SetupHook, Round: 1, Latencies: ms(5, 5, 5), WebhookCall: 800 * time.Microsecond},
		{Setup: SetupPolicy, Round: 1, Latencies: ms(5, 5, 5)},
		{Setup: SetupNone, Round: 2, Latencies: ms(4, 4, 4)},
		{Setup: SetupFixed, Round: 2, Latencies: ms(5, 5, 5), WebhookCall: 600 * time.Microsecond},
		{Setup: SetupHook, Round: 2, Latencies: ms(6, 6, 6), WebhookCall: 1200 * time.Microsecond},
		{Setup: SetupPolicy, Round: 2, Latencies: ms(5, 5, 5)},
	}
	var r Report
	addAdmissionRows(&r, results, 3)
	want := map[string]Row{
		"Job create p50, no webhook":          {Result: "4.00 ms (4.00–4.00)"},
		"Job create p50, fixed-patch webhook": {Result: "4.75 ms (4.50–5.00)", Baseline: "4.00 ms (4.00–4.00)"},
		"Job create p50, taskgate webhook":    {Result: "5.50 ms (5.00–6.00)", Baseline: "4.00 ms (4.00–4.00)"},
		"taskgate adds at p50": {
			Result: "1.50 ms (1.00–2.00)", Baseline: "MAP adds 1.00 ms (1.00–1.00)", Ratio: "1.50× (1.00–2.00)",
			Target: "≤ 1.5 ms, ≤ 1.5× MAP", Met: "yes",
		},
		"the fixed-patch webhook adds at p50": {
			Result: "0.75 ms (0.50–1.00)", Baseline: "MAP adds 1.00 ms (1.00–1.00)", Ratio: "0.75× (0.50–1.00)",
		},
		"taskgate adds beyond the fixed-patch webhook at p50":    {Result: "0.75 ms (0.50–1.00)"},
		"kube-apiserver's call to taskgate's Job webhook, mean":  {Result: "1.00 ms (0.80–1.20)"},
		"kube-apiserver's call to the fixed-patch webhook, mean": {Result: "0.50 ms (0.40–0.60)"},
		"taskgate adds at p99":                                   {Result: "1.50 ms (1.00–2.00)", Baseline: "MAP adds 1.00 ms (1.00–1.00)", Ratio: "1.50× (1.00–2.00)"},
	}
	// Per percentile: 4 setups, what taskgate and the fixed-patch webhook
	// add, and the difference; then the two webhook calls.
	if len(r.Rows) != 16 {
		t.Fatalf("got %d rows, want 16", len(r.Rows))
	}
	for _, row := range r.Rows {
		w, ok := want[row.Figure]
		if !ok {
			continue
		}
		w.Figure = row.Figure
		if row != w {
			t.Errorf("row %q:\n got %+v\nwant %+v", row.Figure, row, w)
		}
		delete(want, row.Figure)
	}
	for figure := range want {
		t.Errorf("no row %q", figure)
	}
}

// Without the fixed-patch setup, as before it existed, the report has no
// rows for it.
func TestAddAdmissionRowsWithoutFixedPatch(t *testing.T) {
	var r Report
	addAdmissionRows(&r, []AdmissionResult{
		{Setup: SetupNone, Round: 1, Latencies: ms(4)},
		{Setup: SetupHook, Round: 1, Latencies: ms(5), WebhookCall: time.Millisecond},
		{Setup: SetupPolicy, Round: 1, Latencies: ms(5)},
	}, 1)
	var figures []string
	for _, row := range r.Rows {
		figures = append(figures, row.Figure)
	}
	want := []string{
		"Job create p50, no webhook", "Job create p50, taskgate webhook", "Job create p50, MutatingAdmissionPolicy", "taskgate adds at p50",
		"Job create p99, no webhook", "Job create p99, taskgate webhook", "Job create p99, MutatingAdmissionPolicy", "taskgate adds at p99",
		"kube-apiserver's call to taskgate's Job webhook, mean",
	}
	if !slices.Equal(figures, want) {
		t.Errorf("rows:\n got %q\nwant %q", figures, want)
	}
}

func TestAddAdmissionRowsMissesTarget(t *testing.T) {
	for _, tc := range []struct {
		name      string
		hook, pol float64
		want      string
	}{
		{"over 1.5 ms", 6, 5.9, "no"},
		{"within 1.5 ms but over 1.5× the policy", 5, 4.5, "no"},
		{"policy adds nothing, taskgate adds some", 4.5, 4, "no"},
		{"neither adds anything", 4, 4, "yes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r Report
			addAdmissionRows(&r, []AdmissionResult{
				{Setup: SetupNone, Round: 1, Latencies: ms(4)},
				{Setup: SetupHook, Round: 1, Latencies: ms(tc.hook)},
				{Setup: SetupPolicy, Round: 1, Latencies: ms(tc.pol)},
			}, 1)
			if got := r.Rows[3].Met; got != tc.want {
				t.Errorf("%s: Met = %q, want %q", r.Rows[3].Figure, got, tc.want)
			}
		})
	}
}

func TestAddAdmissionRowsTaskgatePolicy(t *testing.T) {
	// Two rounds; the MAP adds 1.0 and 1.2 ms, taskgate's policy 0.3 and
	// 0.5 ms.
	results := []AdmissionResult{
		{Setup: SetupNone, Round: 1, Latencies: ms(4, 4, 4)},
		{Setup: SetupHook, Round: 1, Latencies: ms(6, 6, 6)},
		{Setup: SetupPolicy, Round: 1, Latencies: ms(5, 5, 5)},
		{Setup: SetupTaskgatePolicy, Round: 1, Latencies: ms(4.3, 4.3, 4.3)},
		{Setup: SetupNone, Round: 2, Latencies: ms(4, 4, 4)},
		{Setup: SetupHook, Round: 2, Latencies: ms(6, 6, 6)},
		{Setup: SetupPolicy, Round: 2, Latencies: ms(5.2, 5.2, 5.2)},
		{Setup: SetupTaskgatePolicy, Round: 2, Latencies: ms(4.5, 4.5, 4.5)},
	}
	var r Report
	addAdmissionRows(&r, results, 3)
	want := map[string]Row{
		"Job create p50, taskgate policy": {Result: "4.40 ms (4.30–4.50)", Baseline: "4.00 ms (4.00–4.00)"},
		"taskgate policy adds at p50": {
			Result: "0.40 ms (0.30–0.50)", Baseline: "MAP adds 1.10 ms (1.00–1.20)", Ratio: "0.36× (0.30–0.42)",
			Target: "≤ 0.5 ms, ≤ 1.1× MAP", Met: "yes",
		},
		"taskgate policy adds at p99": {Result: "0.40 ms (0.30–0.50)", Baseline: "MAP adds 1.10 ms (1.00–1.20)", Ratio: "0.36× (0.30–0.42)"},
	}
	var figures []string
	for _, row := range r.Rows {
		figures = append(figures, row.Figure)
		w, ok := want[row.Figure]
		if !ok {
			continue
		}
		w.Figure = row.Figure
		if row != w {
			t.Errorf("row %q:\n got %+v\nwant %+v", row.Figure, row, w)
		}
		delete(want, row.Figure)
	}
	for figure := range want {
		t.Errorf("no row %q", figure)
	}
	wantFigures := []string{
		"Job create p50, no webhook", "Job create p50, taskgate webhook", "Job create p50, MutatingAdmissionPolicy", "Job create p50, taskgate policy",
		"taskgate adds at p50", "taskgate policy adds at p50",
		"Job create p99, no webhook", "Job create p99, taskgate webhook", "Job create p99, MutatingAdmissionPolicy", "Job create p99, taskgate policy",
		"taskgate adds at p99", "taskgate policy adds at p99",
	}
	if !slices.Equal(figures, wantFigures) {
		t.Errorf("rows:\n got %q\nwant %q", figures, wantFigures)
	}
}

func TestAddAdmissionRowsTaskgatePolicyMissesTarget(t *testing.T) {
	for _, tc := range []struct {
		name       string
		pol, tgPol float64
		want       string
	}{
		{"within 0.5 ms and 1.1× the MAP", 4.5, 4.45, "yes"},
		{"at 1.1× the MAP", 4.4, 4.44, "yes"},
		{"within 0.5 ms but over 1.1× the MAP", 4.3, 4.4, "no"},
		{"within 1.1× the MAP but over 0.5 ms", 5, 4.6, "no"},
		{"MAP adds nothing, taskgate's policy adds some", 4, 4.1, "no"},
		{"neither adds anything", 4, 4, "yes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r Report
			addAdmissionRows(&r, []AdmissionResult{
				{Setup: SetupNone, Round: 1, Latencies: ms(4)},
				{Setup: SetupHook, Round: 1, Latencies: ms(4)},
				{Setup: SetupPolicy, Round: 1, Latencies: ms(tc.pol)},
				{Setup: SetupTaskgatePolicy, Round: 1, Latencies: ms(tc.tgPol)},
			}, 1)
			row := r.Rows[5]
			if row.Figure != "taskgate policy adds at p50" {
				t.Fatalf("row 5 is %q", row.Figure)
			}
			if row.Met != tc.want {
				t.Errorf("Met = %q, want %q (%+v)", row.Met, tc.want, row)
			}
		})
	}
}

func TestAddManagerStoppedRows(t *testing.T) {
	for _, tc := range []struct {
		name string
		res  ManagerStoppedResult
		want Row
	}{{
		name: "every Job through the policy, none through the webhook",
		res:  ManagerStoppedResult{Jobs: 200, PolicyTTL: 200},
		want: Row{Result: "100% (200 of 200)", Baseline: "taskgate webhook 0% (0 of 200)", Target: "100%", Met: "yes"},
	}, {
		name: "one Job missed: not rounded up to 100%",
		res:  ManagerStoppedResult{Jobs: 2000, PolicyTTL: 1999, WebhookTTL: 3},
		want: Row{Result: "99.9% (1999 of 2000)", Baseline: "taskgate webhook 0.1% (3 of 2000)", Target: "100%", Met: "no"},
	}, {
		name: "no Jobs",
		res:  ManagerStoppedResult{},
		want: Row{Result: "– (0 Jobs)", Baseline: "taskgate webhook – (0 Jobs)", Target: "100%", Met: "no"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			var r Report
			addManagerStoppedRows(&r, &tc.res)
			tc.want.Figure = "Job TTL set with the manager stopped, taskgate policy"
			if len(r.Rows) != 1 || r.Rows[0] != tc.want {
				t.Errorf("rows %+v, want [%+v]", r.Rows, tc.want)
			}
		})
	}
}
