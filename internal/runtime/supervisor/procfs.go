package supervisor

import "github.com/greenlight-ci/greenlight/internal/procfs"

// alive reports whether pid still runs and is the process that started at
// startTime, not a zombie nor a later process that reused the pid.
func alive(pid int, startTime uint64) bool { return procfs.Alive(pid, startTime) }
