package bench

import (
	"testing"
	"time"
)

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
