package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"
)

// profileManager takes a CPU profile of the manager for d, or a heap
// profile when d is 0, and writes it to <name>.pprof in the run's
// directory, with `go tool pprof -top` beside it in <name>.txt.
func (e *Env) profileManager(ctx context.Context, d time.Duration, name string) error {
	url := fmt.Sprintf("%s/profile?seconds=%d", e.manager.PprofURL, int(d.Seconds()))
	if d == 0 {
		url = e.manager.PprofURL + "/heap"
	}
	resp, err := e.manager.Get(url)
	if err != nil {
		return fmt.Errorf("profiling the manager: %w", err)
	}
	defer resp.Body.Close()
	return e.saveProfile(ctx, resp.Body, name, filepath.Join(e.Dir, "taskgate"))
}

// profileAPIServer takes a CPU profile of kube-apiserver for d, through
// its /debug/pprof, which the local cluster leaves on as kube-apiserver
// does by default, and saves it as profileManager does.
func (e *Env) profileAPIServer(ctx context.Context, d time.Duration, name string) error {
	body, err := e.apiserverGet(ctx, "/debug/pprof/profile", map[string]string{"seconds": strconv.Itoa(int(d.Seconds()))}, d+time.Minute)
	if err != nil {
		return fmt.Errorf("profiling kube-apiserver: %w", err)
	}
	defer body.Close()
	return e.saveProfile(ctx, body, name, e.Cluster.Binaries.APIServer)
}

// profileAPIServerFrom starts profiling kube-apiserver for
// e.APIServerProfile, if set, and returns a function that waits for the
// profile to be saved.
func (e *Env) profileAPIServerFrom(ctx context.Context, name string) func() error {
	if e.APIServerProfile <= 0 {
		return func() error { return nil }
	}
	done := make(chan error, 1)
	go func() { done <- e.profileAPIServer(ctx, e.APIServerProfile, name) }()
	return func() error { return <-done }
}

// saveProfile writes profile to <name>.pprof in the run's directory, and
// `go tool pprof -top` of it, symbolised from binary, to <name>.txt.
func (e *Env) saveProfile(ctx context.Context, profile io.Reader, name, binary string) error {
	path := filepath.Join(e.Dir, name+".pprof")
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("writing the profile: %w", err)
	}
	if _, err := io.Copy(f, profile); err != nil {
		_ = f.Close()
		return fmt.Errorf("writing the profile: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing the profile: %w", err)
	}
	top, err := exec.CommandContext(ctx, "go", "tool", "pprof", "-top", "-nodecount=25", binary, path).CombinedOutput()
	if err != nil {
		return fmt.Errorf("summarising the profile: %w: %s", err, top)
	}
	return os.WriteFile(filepath.Join(e.Dir, name+".txt"), top, 0o644)
}
