package bench

import (
	"slices"
	"testing"
	"time"
)

func ms(v ...float64) []time.Duration {
	out := make([]time.Duration, len(v))
	for i, x := range v {
		out[i] = time.Duration(x * float64(time.Millisecond))
	}
	return out
}

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

func TestAddCapRows(t *testing.T) {
	var r Report
	addCapRows(&r, &CapResult{AfterFinish: ms(10, 20, 2500), AfterCreate: ms(50)})
	want := Row{
		Figure: "Cap 5: the Task past the cap finishes → back at the cap",
		Result: "p50 0.020 s, p99 2.500 s, max 2.500 s (3 samples)", Baseline: "Kf: up to 300 s",
		Target: "p99 < 2 s", Met: "no",
	}
	if r.Rows[0] != want {
		t.Errorf("got %+v\nwant %+v", r.Rows[0], want)
	}
}

func TestAddThroughputRows(t *testing.T) {
	var r Report
	addThroughputRows(&r, []ThroughputResult{
		{Round: 1, Floor: PhaseTimes{Started: 10 * time.Second, Finished: 100 * time.Second}, Tasks: PhaseTimes{Started: 20 * time.Second, Finished: 110 * time.Second}, ManagerRequests: map[string]float64{"GET": 1500, "PATCH": 3000, "POST": 1000},
			FloorWrites: map[string]float64{"PATCH pipelineruns/status": 2000, "POST pods": 1000},
			TaskWrites:  map[string]float64{"PATCH pipelineruns/status": 2000, "POST pods": 1000, "PATCH tasks/status": 4000, "PUT apps/status": 400},
			FloorCPU:    map[string]float64{"kube-apiserver": 60, "controller": 40, "etcd": 0.09},
			TaskCPU:     map[string]float64{"kube-apiserver": 80, "controller": 40, "taskgate": 20}},
		{Round: 2, Floor: PhaseTimes{Started: 10 * time.Second, Finished: 100 * time.Second}, Tasks: PhaseTimes{Started: 30 * time.Second, Finished: 130 * time.Second}, ManagerRequests: map[string]float64{"GET": 2500, "PATCH": 3000, "POST": 1000},
			FloorWrites: map[string]float64{"PATCH pipelineruns/status": 2000, "POST pods": 1000, "POST events": 200},
			TaskWrites:  map[string]float64{"PATCH pipelineruns/status": 2000, "POST pods": 1000, "PATCH tasks/status": 6000},
			FloorCPU:    map[string]float64{"kube-apiserver": 70, "controller": 40},
			TaskCPU:     map[string]float64{"kube-apiserver": 100, "controller": 50, "taskgate": 30}},
	}, 1000)
	want := Row{
		Figure: "1000 Tasks: all finished", Result: "120.0 s (110.0–130.0)",
		Baseline: "1000 direct PipelineRuns finished: 100.0 s (100.0–100.0)", Ratio: "1.20× (1.10–1.30)",
		Target: "≤ 1.2× the floor", Met: "yes",
	}
	if r.Rows[1] != want {
		t.Errorf("got %+v\nwant %+v", r.Rows[1], want)
	}
	// 5500 / 110 s and 6500 / 130 s are both 50 per second.
	requests := Row{Figure: "1000 Tasks: the manager's API requests", Result: "6.0 per Task (5.5–6.5; GET 2.0, POST 1.0, PATCH 3.0), 50.0 per second until all finished (50.0–50.0)"}
	if r.Rows[2] != requests {
		t.Errorf("got %+v\nwant %+v", r.Rows[2], requests)
	}
	// Kinds under 0.1 per object are left out of the list, not the total;
	// a kind one round lacks counts as 0 in it.
	writes := Row{
		Figure:   "1000 Tasks: writes kube-apiserver served, per Task",
		Result:   "8.2 (7.4–9.0): PATCH tasks/status 5.0, PATCH pipelineruns/status 2.0, POST pods 1.0, PUT apps/status 0.2",
		Baseline: "per direct PipelineRun 3.1 (3.0–3.2): PATCH pipelineruns/status 2.0, POST pods 1.0, POST events 0.1",
		Ratio:    "2.65×",
	}
	if len(r.Rows) < 4 || r.Rows[3] != writes {
		t.Errorf("got %+v\nwant %+v", r.Rows[3:], writes)
	}
	cpu := Row{
		Figure:   "1000 Tasks: CPU seconds used until all finished, by process",
		Result:   "160.0 (140.0–180.0): kube-apiserver 90.0, controller 45.0, taskgate 25.0",
		Baseline: "direct PipelineRuns 105.0 (100.1–110.0): kube-apiserver 65.0, controller 40.0",
		Ratio:    "1.52×",
	}
	if len(r.Rows) != 5 || r.Rows[4] != cpu {
		t.Errorf("got %+v\nwant %+v", r.Rows[4:], cpu)
	}
}

func TestAddMemoryRows(t *testing.T) {
	const mib = 1 << 20
	var r Report
	addMemoryRows(&r, &MemoryResult{
		Jobs: 50, Tasks: 10, Fill: 95 * time.Second, PeakQueued: 1234, How: "How.",
		Loaded:     MemorySample{RSS: 180 * mib, PeakRSS: 300 * mib, Anon: 140 * mib, File: 40 * mib, HeapInuse: 110 * mib, HeapKept: 12 * mib},
		LoadedIdle: MemorySample{RSS: 120 * mib, PeakRSS: 300 * mib, Anon: 85 * mib, File: 35 * mib, HeapInuse: 50 * mib, HeapKept: 3 * mib},
		Fresh:      MemorySample{RSS: 149 * mib, PeakRSS: 160 * mib, Anon: 119 * mib, File: 30 * mib, HeapInuse: 60 * mib},
	})
	want := []Row{
		{Figure: "Manager memory, 50 Jobs + 10 Tasks, after processing them, 30 s after its queues drained",
			Result: "RSS 180 MiB (anonymous 140, binary 40), heap in use 110 MiB, freed and kept 12 MiB; peak RSS so far 300 MiB", Target: "< 150 MiB", Met: "no"},
		{Figure: "Manager memory, 50 Jobs + 10 Tasks, after processing them, after its next garbage collection",
			Result: "RSS 120 MiB (anonymous 85, binary 35), heap in use 50 MiB, freed and kept 3 MiB; peak RSS so far 300 MiB", Target: "< 150 MiB", Met: "yes"},
		{Figure: "Manager memory, 50 Jobs + 10 Tasks, restarted, caches synced",
			Result: "RSS 149 MiB (anonymous 119, binary 30), heap in use 60 MiB, freed and kept 0 MiB; peak RSS so far 160 MiB", Target: "< 150 MiB", Met: "yes"},
	}
	if len(r.Rows) != len(want) {
		t.Fatalf("got %d rows, want %d: %+v", len(r.Rows), len(want), r.Rows)
	}
	for i := range want {
		if r.Rows[i] != want[i] {
			t.Errorf("row %d:\n got %+v\nwant %+v", i, r.Rows[i], want[i])
		}
	}
	wantNote := "Memory: finished Jobs and Tasks spread over 10 namespaces; the cluster took 1m35s to fill, and the manager's work queues held at most 1234 items together meanwhile. How."
	if len(r.Notes) != 1 || r.Notes[0] != wantNote {
		t.Errorf("notes = %q, want [%q]", r.Notes, wantNote)
	}
}
