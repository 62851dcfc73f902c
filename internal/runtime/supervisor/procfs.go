package supervisor

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
)

// procStat is what the supervisor needs from /proc/<pid>/stat.
type procStat struct {
	State     byte   // R, S, D, Z (zombie), X (dead), ...
	StartTime uint64 // clock ticks after boot: with the pid, names one process for good
}

// alive reports whether pid still runs and is the process that started at
// startTime, not a zombie nor a later process that reused the pid.
func alive(pid int, startTime uint64) bool {
	st, err := readStat(pid)
	if err != nil {
		return false
	}
	return st.StartTime == startTime && st.State != 'Z' && st.State != 'X'
}

func readStat(pid int) (procStat, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, err
	}
	st, err := parseStat(data)
	if err != nil {
		return procStat{}, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	return st, nil
}

// parseStat reads the state (field 3) and start time (field 22) of a
// /proc/<pid>/stat line (proc(5)). The command name (field 2) is in parentheses
// and may itself hold spaces and parentheses, so fields are counted from the last
// closing parenthesis.
func parseStat(data []byte) (procStat, error) {
	end := bytes.LastIndexByte(data, ')')
	if end < 0 || bytes.IndexByte(data, '(') < 0 {
		return procStat{}, errors.New("no command name in parentheses")
	}
	fields := bytes.Fields(data[end+1:])
	const stateField, startField = 3, 22 // 1-based, as in proc(5)
	const firstAfterName = 3
	if len(fields) <= startField-firstAfterName {
		return procStat{}, fmt.Errorf("%d fields after the command name, want at least %d",
			len(fields), startField-firstAfterName+1)
	}
	state := fields[stateField-firstAfterName]
	if len(state) != 1 {
		return procStat{}, fmt.Errorf("state field %q is not one character", state)
	}
	start, err := strconv.ParseUint(string(fields[startField-firstAfterName]), 10, 64)
	if err != nil {
		return procStat{}, fmt.Errorf("start time: %w", err)
	}
	return procStat{State: state[0], StartTime: start}, nil
}
