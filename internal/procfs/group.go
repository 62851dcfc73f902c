package procfs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"
)

// Group names one process group that a greenlight process started (a build's
// shell, started with Setpgid, leads it), so that another greenlight process can
// kill what is left of it after the first one crashed, and only that.
//
// A group id is its leader's pid, and Linux does not reuse a pid while a group
// of that id has members. So while the leader runs (same pid, same StartTime)
// the group is the one recorded. Once the leader is gone, a process with the
// pid that started at another time means the recorded group ended before the
// pid was reused: nothing is left of it. With no process of that pid, the
// members left in the group are the recorded group's only if they carry Env in
// their environment (a group could end, and a new one take its id, whose leader
// then ended too): a member without it is never killed.
type Group struct {
	PGID  int    `json:"pgid"`
	Start uint64 `json:"start"`         // the leader's start time (clock ticks after boot)
	Env   string `json:"env,omitempty"` // KEY=VALUE every process of the group inherits
}

// GroupOf returns the group led by pid, which must run; env is the variable its
// processes inherit (see Group).
func GroupOf(pid int, env string) (Group, error) {
	st, err := ReadStat(pid)
	if err != nil {
		return Group{}, fmt.Errorf("process group of %d: %w", pid, err)
	}
	if st.PGID != pid {
		return Group{}, fmt.Errorf("process %d leads no group (its group is %d)", pid, st.PGID)
	}
	return Group{PGID: pid, Start: st.StartTime, Env: env}, nil
}

// ErrGroupLingers is returned when processes of a killed group are still there
// when the context ends.
var ErrGroupLingers = errors.New("processes of the group are still running")

// KillGroup SIGKILLs every process left of g and waits until none runs (zombies
// count as gone), or ctx ends. It returns how many processes it signalled; 0
// with no error when nothing was left.
func KillGroup(ctx context.Context, g Group) (int, error) {
	if g.PGID <= 1 {
		return 0, fmt.Errorf("kill process group %d: not a group a build leads", g.PGID)
	}
	members := g.members()
	if len(members) == 0 {
		return 0, nil
	}
	if g.leader() == leaderSame {
		if err := syscall.Kill(-g.PGID, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			return 0, fmt.Errorf("kill process group %d: %w", g.PGID, err)
		}
	} else {
		for _, m := range members {
			if err := m.kill(); err != nil {
				return 0, fmt.Errorf("kill process %d of group %d: %w", m.pid, g.PGID, err)
			}
		}
	}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		// The signalled processes themselves, not the group's members again: an
		// exiting process has no environment left to tell it by before it is a
		// zombie.
		left := running(members)
		if len(left) == 0 {
			return len(members), nil
		}
		select {
		case <-ctx.Done():
			return len(members), fmt.Errorf("kill process group %d: %w: %d (pid %d first): %w", g.PGID, ErrGroupLingers, len(left), left[0].pid, ctx.Err())
		case <-tick.C:
		}
	}
}

// member is one running process of a group.
type member struct {
	pid   int
	start uint64
}

// running returns the members still running.
func running(members []member) []member {
	var out []member
	for _, m := range members {
		if Alive(m.pid, m.start) {
			out = append(out, m)
		}
	}
	return out
}

// kill SIGKILLs the member unless its pid now names another process.
func (m member) kill() error {
	if !Alive(m.pid, m.start) {
		return nil
	}
	if err := syscall.Kill(m.pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return err
	}
	return nil
}

// leaderState is what the pid of a recorded group's leader names now.
type leaderState int

const (
	leaderSame   leaderState = iota // the recorded leader, running or a zombie: the group is the recorded one
	leaderAbsent                    // no process: members must carry the group's Env
	leaderReused                    // a later process: the recorded group ended
)

func (g Group) leader() leaderState {
	st, err := ReadStat(g.PGID)
	switch {
	case err != nil:
		return leaderAbsent
	case st.StartTime == g.Start:
		return leaderSame
	}
	return leaderReused
}

// members lists the running processes that belong to the recorded group (see
// Group for how they are told from another group of the same id).
func (g Group) members() []member {
	state := g.leader()
	if state == leaderReused {
		return nil
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []member
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := ReadStat(pid)
		if err != nil || st.PGID != g.PGID || st.Gone() {
			continue
		}
		if state == leaderSame || g.Env != "" && hasEnv(pid, g.Env) {
			out = append(out, member{pid: pid, start: st.StartTime})
		}
	}
	return out
}

// hasEnv reports whether process pid started with kv in its environment.
func hasEnv(pid int, kv string) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		return false
	}
	for _, v := range bytes.Split(data, []byte{0}) {
		if string(v) == kv {
			return true
		}
	}
	return false
}
