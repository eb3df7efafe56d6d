package bench

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTick is Linux's USER_HZ, the unit of /proc/<pid>/stat's CPU times;
// it is 100 on every architecture Go supports.
const clockTick = 10 * time.Millisecond

// cpuByCommand returns the CPU time, user and system, that each command
// running on the machine has used so far, summed by its name in
// /proc/<pid>/comm. The local cluster holds a machine-wide lock, so the
// names are its components and the manager.
func cpuByCommand() (map[string]time.Duration, error) {
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		return nil, err
	}
	used := map[string]time.Duration{}
	for _, path := range stats {
		b, err := os.ReadFile(path)
		if err != nil {
			continue // the process ended
		}
		comm, cpu, err := parseProcStat(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		used[comm] += cpu
	}
	return used, nil
}

// parseProcStat reads a process's name and its user plus system CPU time
// from the contents of /proc/<pid>/stat: "pid (comm) state ppid ...",
// where utime and stime are the 14th and 15th fields. comm may hold
// spaces and parentheses, so it ends at the last ')'.
func parseProcStat(stat []byte) (string, time.Duration, error) {
	open, end := bytes.IndexByte(stat, '('), bytes.LastIndexByte(stat, ')')
	if open < 0 || end < open {
		return "", 0, fmt.Errorf("no command name in %q", stat)
	}
	fields := strings.Fields(string(stat[end+1:]))
	// fields[0] is the 3rd field, state; utime is the 14th.
	const utime = 14 - 3
	if len(fields) <= utime+1 {
		return "", 0, fmt.Errorf("%d fields after the command name, want more than %d", len(fields), utime+1)
	}
	var ticks int64
	for _, f := range fields[utime : utime+2] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return "", 0, fmt.Errorf("parsing CPU time %q: %w", f, err)
		}
		ticks += n
	}
	return string(stat[open+1 : end]), time.Duration(ticks) * clockTick, nil
}

// cpuSeconds returns the CPU seconds each command used since before was
// read, leaving out those that used none.
func cpuSeconds(before map[string]time.Duration) (map[string]float64, error) {
	after, err := cpuByCommand()
	if err != nil {
		return nil, err
	}
	used := map[string]float64{}
	for comm, cpu := range after {
		if d := cpu - before[comm]; d > 0 {
			used[comm] = d.Seconds()
		}
	}
	return used, nil
}
