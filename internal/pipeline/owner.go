package pipeline

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/greenlight-ci/greenlight/internal/store"
)

// owner is the identity one Engine records on the executions it drives: a random id
// per instance, plus the process (pid and start time, so a reused pid does not look
// alive) and the host.
type owner struct {
	id    string
	pid   int
	start uint64
	host  string
}

func currentOwner() owner {
	host, _ := os.Hostname()
	pid := os.Getpid()
	start, _, _ := procStat(pid) // zero when /proc is unreadable: heartbeats decide then
	return owner{id: uuid.NewString(), pid: pid, start: start, host: host}
}

func (o owner) record(now time.Time) store.ExecutionOwner {
	return store.ExecutionOwner{ID: o.id, PID: o.pid, Start: o.start, Host: o.host, Heartbeat: now}
}

// staleHeartbeats is how many missed heartbeats make an owner on another host (or
// without /proc) count as gone.
const staleHeartbeats = 15

// ownerAlive reports whether the process recorded in o may still drive its
// execution.
func (e *Engine) ownerAlive(o store.ExecutionOwner) bool {
	if o.ID == "" {
		return false
	}
	if o.ID == e.self.id {
		return true
	}
	if o.Host == e.self.host && o.PID > 0 && o.Start > 0 {
		start, state, err := procStat(o.PID)
		if err != nil {
			return false
		}
		return start == o.Start && state != 'Z' && state != 'X'
	}
	return e.now().Sub(o.Heartbeat) < staleHeartbeats*e.opts.HeartbeatInterval
}

// procStat reads the start time (field 22) and state (field 3) of process pid.
func procStat(pid int) (start uint64, state byte, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, err
	}
	return parseProcStat(b)
}

// parseProcStat parses /proc/<pid>/stat. The command name (field 2) is in
// parentheses and may itself contain spaces and parentheses, so fields are counted
// from the last ')'.
func parseProcStat(b []byte) (start uint64, state byte, err error) {
	end := bytes.LastIndexByte(b, ')')
	if end < 0 {
		return 0, 0, errors.New("proc stat: no command name")
	}
	fields := bytes.Fields(b[end+1:])
	// fields[0] is field 3 (state); field 22 (starttime) is fields[19].
	if len(fields) < 20 || len(fields[0]) != 1 {
		return 0, 0, fmt.Errorf("proc stat: %d fields after the command name, want at least 20", len(fields))
	}
	start, err = strconv.ParseUint(string(fields[19]), 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("proc stat: start time: %w", err)
	}
	return start, fields[0][0], nil
}
