package bench

import (
	"testing"
	"time"
)

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
