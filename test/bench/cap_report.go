package bench

import "fmt"

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
