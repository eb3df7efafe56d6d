package policy

import (
	"sync"
	"testing"
)

func TestStore(t *testing.T) {
	s := NewStore("taskgate-system")
	def := s.Current()
	if def.ManagerNamespace != "taskgate-system" || def.Mode != ModeEnforce || len(def.TTL.Rules) != 0 {
		t.Fatalf("a new Store holds %+v, want the defaults", def)
	}

	good := []byte(header + "mode: audit\n" + weekAndHour)
	if err := s.Update(good); err != nil {
		t.Fatalf("Update(good): %v", err)
	}
	loaded := s.Current()
	if loaded.Mode != ModeAudit || len(loaded.TTL.Rules) != 2 || loaded.ManagerNamespace != "taskgate-system" {
		t.Fatalf("after Update: %+v", loaded)
	}

	for _, bad := range []string{
		header + "mode: Audit\n",
		header + "ttl: {rulez: []}\n",
		"not: [yaml",
	} {
		if err := s.Update([]byte(bad)); err == nil {
			t.Errorf("Update(%q) succeeded", bad)
		}
		if s.Current() != loaded {
			t.Errorf("Update(%q) replaced the last good policy", bad)
		}
	}

	s.Reset()
	if got := s.Current(); !semanticEqual(got, def) {
		t.Errorf("after Reset: %+v, want the defaults", got)
	}
}

// TestStoreConcurrent is meant for go test -race: readers never see a
// partly written policy.
func TestStoreConcurrent(t *testing.T) {
	s := NewStore("taskgate-system")
	docs := [][]byte{[]byte(header + weekAndHour), []byte(header + "mode: audit\n")}
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for j := range 200 {
				if i == 0 {
					if err := s.Update(docs[j%2]); err != nil {
						t.Error(err)
					}
					continue
				}
				p := s.Current()
				_ = p.CreationTTL(job("default"))
			}
		})
	}
	wg.Wait()
}
