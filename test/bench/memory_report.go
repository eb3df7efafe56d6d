package bench

import (
	"fmt"
	"time"
)

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
