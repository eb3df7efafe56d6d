package localcluster

import (
	"fmt"
	"time"
)

// StopComponent stops one running component by name (for example
// "tekton-controller"), as if its pod were gone, leaving the rest running.
func (c *Cluster) StopComponent(name string) error {
	for _, p := range c.procs {
		if p.name == name {
			p.Stop(5 * time.Second)
			return nil
		}
	}
	return fmt.Errorf("no component %q in this cluster", name)
}

// FreePort asks the kernel for an unused port on 127.0.0.1, for a process
// a test runs beside the cluster.
func FreePort() (string, error) { return freePort() }
