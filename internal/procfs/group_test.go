package procfs

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startGroup starts script in sh as the leader of its own group, with env
// added, and returns it with the pids the script wrote, one per line, to the
// file $PIDS (want of them).
func startGroup(t *testing.T, script string, env string, want int) (*exec.Cmd, []int) {
	t.Helper()
	pids := filepath.Join(t.TempDir(), "pids")
	cmd := exec.Command("sh", "-c", script)
	cmd.Env = append(os.Environ(), "PIDS="+pids, env)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	var got []int
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		data, _ := os.ReadFile(pids)
		lines := strings.Fields(string(data))
		if len(lines) >= want {
			for _, l := range lines {
				n, err := strconv.Atoi(l)
				if err != nil {
					t.Fatalf("pid file: %q", data)
				}
				got = append(got, n)
			}
			return cmd, got
		}
		if time.Now().After(deadline) {
			t.Fatalf("the script wrote %q to its pid file, want %d pids", data, want)
		}
	}
}

// waitForCommand waits until process pid runs name (it may still be the
// program that will exec it).
func waitForCommand(t *testing.T, pid int, name string) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		cmdline, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
		if strings.HasPrefix(string(cmdline), name+"\x00") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d runs %q, want %s", pid, cmdline, name)
		}
	}
}

func mustStat(t *testing.T, pid int) Stat {
	t.Helper()
	st, err := ReadStat(pid)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestKillGroupKillsTheLeaderAndEveryMember(t *testing.T) {
	cmd, pids := startGroup(t, `sleep 300 & echo $! >> "$PIDS"; sh -c 'echo $$ >> "$PIDS"; exec sleep 301'`, "GL_GROUP=a", 2)
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	g, err := GroupOf(cmd.Process.Pid, "GL_GROUP=a")
	if err != nil {
		t.Fatal(err)
	}
	starts := map[int]uint64{}
	for _, pid := range pids {
		starts[pid] = mustStat(t, pid).StartTime
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	n, err := KillGroup(ctx, g)
	if err != nil || n != 3 {
		t.Fatalf("KillGroup = %d, %v; want the shell and both sleeps (3)", n, err)
	}
	for pid, start := range starts {
		if Alive(pid, start) {
			t.Errorf("process %d of the group still runs", pid)
		}
	}
	<-exited
	if n, err := KillGroup(ctx, g); n != 0 || err != nil {
		t.Errorf("KillGroup again = %d, %v; want 0, nil", n, err)
	}
}

// A group whose leader is gone is killed by the variable its processes
// inherited: a member without it might be of another group that took the id,
// and is left alone.
func TestKillGroupWithoutItsLeaderKillsOnlyMarkedMembers(t *testing.T) {
	script := `sleep 300 & echo $! >> "$PIDS"; env -u GL_GROUP sleep 302 & echo $! >> "$PIDS"`
	cmd, pids := startGroup(t, script, "GL_GROUP=b", 2)
	g, err := GroupOf(cmd.Process.Pid, "GL_GROUP=b")
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil { // the leader ends, its background sleeps stay
		t.Fatal(err)
	}
	// Until env has run sleep, the unmarked pid still has env's environment,
	// which carries the variable.
	waitForCommand(t, pids[1], "sleep")
	marked, unmarked := mustStat(t, pids[0]), mustStat(t, pids[1])
	if marked.PGID != g.PGID || unmarked.PGID != g.PGID {
		t.Fatalf("sleeps in groups %d and %d, want %d", marked.PGID, unmarked.PGID, g.PGID)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if n, err := KillGroup(ctx, g); err != nil || n != 1 {
		t.Fatalf("KillGroup = %d, %v; want the marked sleep (1)", n, err)
	}
	if Alive(pids[0], marked.StartTime) {
		t.Error("the marked sleep still runs")
	}
	if !Alive(pids[1], unmarked.StartTime) {
		t.Error("the sleep without the group's variable was killed")
	}
}

// A recorded leader whose pid now names another process (its start time
// differs) means the group ended: nothing is killed.
func TestKillGroupLeavesAReusedPIDAlone(t *testing.T) {
	cmd, _ := startGroup(t, `echo $$ >> "$PIDS"; exec sleep 303`, "GL_GROUP=c", 1)
	g, err := GroupOf(cmd.Process.Pid, "GL_GROUP=c")
	if err != nil {
		t.Fatal(err)
	}
	g.Start-- // as if the recorded leader had started earlier: the pid was reused since
	if n, err := KillGroup(context.Background(), g); n != 0 || err != nil {
		t.Fatalf("KillGroup of a reused pid = %d, %v; want 0, nil", n, err)
	}
	if !Alive(cmd.Process.Pid, g.Start+1) {
		t.Fatal("the process that reused the pid was killed")
	}
	if _, err := KillGroup(context.Background(), Group{PGID: 1}); err == nil {
		t.Error("KillGroup of group 1: no error")
	}
}
