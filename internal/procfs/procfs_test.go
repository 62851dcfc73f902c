package procfs

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestParseStat(t *testing.T) {
	cases := []struct {
		line      string
		wantState byte
		wantStart uint64
		wantErr   string
	}{
		{"42 (server) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 3 0 123456 1000 10", 'S', 123456, ""},
		// The command name may hold spaces and parentheses.
		{"7 (a) (b c) Z 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 99 0 0", 'Z', 99, ""},
		{"4242 (my (odd) cmd) S 1 4242 4242 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 987654 1000 100 18446744073709551615", 'S', 987654, ""},
		{"", 0, 0, "no command name"},
		{"7 server S 1", 0, 0, "no command name"},
		{"7 (server) S 1 7", 0, 0, "fields after the command name"},
		{"7 (server) SS 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 99", 0, 0, "not one character"},
		{"7 (server) S 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 -9", 0, 0, "start time"},
	}
	for _, c := range cases {
		st, err := ParseStat([]byte(c.line))
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("ParseStat(%q) = %+v, %v; want error containing %q", c.line, st, err, c.wantErr)
			}
			continue
		}
		if err != nil || st.State != c.wantState || st.StartTime != c.wantStart {
			t.Errorf("ParseStat(%q) = %+v, %v; want state %c start %d", c.line, st, err, c.wantState, c.wantStart)
		}
	}
}

func TestAliveTellsReusedPIDsAndEndedProcesses(t *testing.T) {
	st, err := ReadStat(os.Getpid())
	if err != nil || st.Gone() || st.StartTime == 0 {
		t.Fatalf("own stat = %+v, %v", st, err)
	}
	if !Alive(os.Getpid(), st.StartTime) {
		t.Error("Alive(self) = false")
	}
	if Alive(os.Getpid(), st.StartTime+1) {
		t.Error("Alive with another start time = true, want false: the pid was reused")
	}
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	if _, err := (Table{}).StartTime(cmd.Process.Pid); err == nil {
		t.Errorf("StartTime of an ended process %d: no error", cmd.Process.Pid)
	}
	if start, err := (Table{}).StartTime(os.Getpid()); err != nil || start != st.StartTime {
		t.Errorf("Table.StartTime(self) = %d, %v; want %d", start, err, st.StartTime)
	}
}

func FuzzParseStat(f *testing.F) {
	f.Add([]byte("42 (server) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 3 0 123456 1000 10"))
	f.Add([]byte("7 (a) (b c) Z 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 99 0 0"))
	f.Add([]byte("()"))
	f.Add([]byte(")("))
	if b, err := os.ReadFile("/proc/self/stat"); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := ParseStat(data)
		if err != nil {
			return
		}
		// What parsed must be what the fields after the last ')' say, and must
		// parse the same once the command name is replaced.
		end := strings.LastIndexByte(string(data), ')')
		fields := strings.Fields(string(data[end+1:]))
		if fields[0] != string([]byte{st.State}) {
			t.Errorf("state %c, but field 3 is %q", st.State, fields[0])
		}
		again, err := ParseStat(append([]byte("1 (x)"), data[end+1:]...))
		if err != nil || again != st {
			t.Errorf("reparse: %+v, %v; first %+v", again, err, st)
		}
	})
}
