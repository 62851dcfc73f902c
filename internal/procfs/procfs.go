// Package procfs reads what greenlight needs from Linux's /proc: whether a process
// recorded earlier (a supervised task, the owner of a pipeline execution) still runs.
// A pid alone can be reused; the pid with its start time names one process for good.
package procfs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
)

// Stat is what greenlight reads from /proc/<pid>/stat.
type Stat struct {
	State     byte   // R, S, D, Z (zombie), X (dead), ...
	PGID      int    // process group
	StartTime uint64 // clock ticks after boot: with the pid, names one process for good
}

// Gone reports whether the process has ended (a zombie or dead).
func (s Stat) Gone() bool { return s.State == 'Z' || s.State == 'X' }

// ReadStat reads /proc/<pid>/stat.
func ReadStat(pid int) (Stat, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return Stat{}, err
	}
	st, err := ParseStat(data)
	if err != nil {
		return Stat{}, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	return st, nil
}

// Alive reports whether pid still runs and is the process that started at
// startTime: not a zombie, nor a later process that reused the pid.
func Alive(pid int, startTime uint64) bool {
	st, err := ReadStat(pid)
	if err != nil {
		return false
	}
	return st.StartTime == startTime && !st.Gone()
}

// ParseStat reads the state (field 3), process group (field 5) and start time (field 22) of a
// /proc/<pid>/stat line (proc(5)). The command name (field 2) is in parentheses
// and may itself hold spaces and parentheses, so fields are counted from the last
// closing parenthesis.
func ParseStat(data []byte) (Stat, error) {
	end := bytes.LastIndexByte(data, ')')
	if end < 0 || bytes.IndexByte(data, '(') < 0 {
		return Stat{}, errors.New("no command name in parentheses")
	}
	fields := bytes.Fields(data[end+1:])
	const stateField, pgrpField, startField = 3, 5, 22 // 1-based, as in proc(5)
	const firstAfterName = 3
	if len(fields) <= startField-firstAfterName {
		return Stat{}, fmt.Errorf("%d fields after the command name, want at least %d",
			len(fields), startField-firstAfterName+1)
	}
	state := fields[stateField-firstAfterName]
	if len(state) != 1 {
		return Stat{}, fmt.Errorf("state field %q is not one character", state)
	}
	start, err := strconv.ParseUint(string(fields[startField-firstAfterName]), 10, 64)
	if err != nil {
		return Stat{}, fmt.Errorf("start time: %w", err)
	}
	pgid, err := strconv.Atoi(string(fields[pgrpField-firstAfterName]))
	if err != nil {
		return Stat{}, fmt.Errorf("process group: %w", err)
	}
	return Stat{State: state[0], PGID: pgid, StartTime: start}, nil
}

// Table answers for the processes of this host from /proc. Its zero value is ready
// to use.
type Table struct{}

// StartTime returns when process pid started (clock ticks after boot); an error
// when it does not run.
func (Table) StartTime(pid int) (uint64, error) {
	st, err := ReadStat(pid)
	if err != nil {
		return 0, err
	}
	if st.Gone() {
		return 0, fmt.Errorf("process %d has ended", pid)
	}
	return st.StartTime, nil
}

// Alive reports whether pid runs and is the process that started at startTime.
func (Table) Alive(pid int, startTime uint64) bool { return Alive(pid, startTime) }

// KillGroup kills what is left of the process group (see Group and KillGroup).
func (Table) KillGroup(ctx context.Context, pgid int, start uint64, env string) (int, error) {
	return KillGroup(ctx, Group{PGID: pgid, Start: start, Env: env})
}
