package bench

import "testing"

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
