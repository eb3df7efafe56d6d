package bench

import "fmt"

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
