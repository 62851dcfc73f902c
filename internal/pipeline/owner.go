package pipeline

import (
	"os"
	"time"

	"github.com/google/uuid"
)

// owner is the identity one Engine records on the executions it drives: a random id
// per instance, plus the process (pid and start time, so a reused pid does not look
// alive) and the host.
type owner struct {
	id        string
	pid       int
	start     uint64
	host      string
	processes ProcessTable // nil: heartbeats alone tell whether an owner lives
}

func currentOwner(processes ProcessTable) owner {
	host, _ := os.Hostname()
	o := owner{id: uuid.NewString(), pid: os.Getpid(), host: host, processes: processes}
	if processes != nil {
		// Zero when the table cannot tell: heartbeats decide then.
		o.start, _ = processes.StartTime(o.pid)
	}
	return o
}

func (o owner) record(now time.Time) Owner {
	return Owner{ID: o.id, PID: o.pid, Start: o.start, Host: o.host, Heartbeat: now}
}

// staleHeartbeats is how many missed heartbeats make an owner on another host (or
// without a process table) count as gone.
const staleHeartbeats = 15

// ownerAlive reports whether the process recorded in o may still drive its
// execution.
func (e *Engine) ownerAlive(o Owner) bool {
	switch {
	case o.ID == "":
		return false
	case o.ID == e.self.id:
		return true
	case o.Host == e.self.host && o.PID > 0 && o.Start > 0 && e.self.processes != nil:
		return e.self.processes.Alive(o.PID, o.Start)
	}
	return e.now().Sub(o.Heartbeat) < staleHeartbeats*e.opts.HeartbeatInterval
}
