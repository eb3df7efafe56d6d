package localcluster

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Process is a program run beside the cluster's tests or bench, or one
// component of the cluster, with its output in a log file.
type Process struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error
}

// StartProcess runs bin with args and env added to this process's, writing
// its output to <dir>/<name>.log. It dies with its parent.
func StartProcess(dir, name, bin string, args, env []string) (*Process, error) {
	logPath := filepath.Join(dir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("creating log for %s: %w", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = append(os.Environ(), env...)
	// Die with the parent, so an interrupted test run leaves nothing behind.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &Process{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		_ = f.Close()
		close(p.done)
	}()
	return p, nil
}

// Stop sends SIGTERM, then SIGKILL after the grace period.
func (p *Process) Stop(grace time.Duration) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// exited returns an error describing the exit, with the log's tail, if the
// process is no longer running.
func (p *Process) exited() error {
	select {
	case <-p.done:
		return fmt.Errorf("%s exited (%v); last log lines:\n%s", p.name, p.err, tail(p.log, 20))
	default:
		return nil
	}
}

// waitForLog waits until the process logs a line containing want.
func (p *Process) waitForLog(ctx context.Context, want string) error {
	return poll(ctx, func() (bool, error) {
		if err := p.exited(); err != nil {
			return false, err
		}
		b, err := os.ReadFile(p.log)
		return err == nil && strings.Contains(string(b), want), nil
	})
}

// poll calls cond every 100ms until it is true, returns an error, or ctx
// ends. Transient failures belong inside cond, reported as false.
func poll(ctx context.Context, cond func() (bool, error)) error {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

func tail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	var lines []string
	s := bufio.NewScanner(f)
	s.Buffer(make([]byte, 1<<20), 1<<20)
	for s.Scan() {
		lines = append(lines, s.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}

// freePort returns a port on 127.0.0.1 that nothing listens on, for a
// process to bind. It is chosen below the kernel's ephemeral range, never
// from it as Listen(":0") would: a port from that range can become the
// source port of one of the cluster's outgoing connections between this
// check and the process binding it, and under the bench's load one did
// ("bind: address already in use"). Ports are never handed out twice.
func freePort() (string, error) {
	port, err := freePortNumber()
	return strconv.Itoa(port), err
}

func freePortNumber() (int, error) {
	high := ephemeralPortsFrom()
	handedOut.Lock()
	defer handedOut.Unlock()
	for range 200 {
		port := lowestPort + rand.IntN(high-lowestPort)
		if handedOut.ports[port] {
			continue
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue
		}
		_ = l.Close()
		handedOut.ports[port] = true
		return port, nil
	}
	return 0, fmt.Errorf("finding a free port between %d and %d: none of 200 tried was free", lowestPort, high)
}

// lowestPort keeps freePort above the ports services commonly use.
const lowestPort = 10000

var handedOut = struct {
	sync.Mutex
	ports map[int]bool
}{ports: map[int]bool{}}

// ephemeralPortsFrom returns the first port of the kernel's ephemeral
// range, or Linux's default when it cannot be read.
func ephemeralPortsFrom() int {
	const linuxDefault = 32768
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return linuxDefault
	}
	fields := strings.Fields(string(b))
	if len(fields) != 2 {
		return linuxDefault
	}
	if low, err := strconv.Atoi(fields[0]); err == nil && low > lowestPort+1000 {
		return low
	}
	return linuxDefault
}

// tryLockMachine takes the machine-wide lock if no cluster holds it. The
// file is returned either way; closing it releases the lock if held.
func tryLockMachine() (*os.File, bool, error) {
	path := filepath.Join(os.TempDir(), "taskgate-localcluster.lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return nil, false, fmt.Errorf("opening %s: %w", path, err)
	}
	return f, syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil, nil
}

// lockMachine takes a machine-wide lock, waiting for it: Tekton's probe
// server listens on the fixed port 8080, so two local clusters cannot run
// at once. Runs queue behind each other instead of failing half-started.
// Closing the file releases the lock, as does the process ending.
func lockMachine(ctx context.Context, logf func(string, ...any)) (*os.File, error) {
	f, ok, err := tryLockMachine()
	if err != nil {
		return nil, err
	}
	if ok {
		return f, nil
	}
	path := f.Name()
	logf("another local cluster runs on this machine; waiting for it to stop (%s)", path)
	for {
		select {
		case <-ctx.Done():
			_ = f.Close()
			return nil, fmt.Errorf("waiting for the machine's other local cluster to stop: %w", ctx.Err())
		case <-time.After(time.Second):
		}
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil {
			return f, nil
		}
	}
}
