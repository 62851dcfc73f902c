package supervisor

import (
	"os"
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
		{"7 server S 1", 0, 0, "no command name"},
		{"7 (server) S 1 7", 0, 0, "fields after the command name"},
		{"7 (server) SS 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 99", 0, 0, "not one character"},
		{"7 (server) S 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 -9", 0, 0, "start time"},
	}
	for _, c := range cases {
		st, err := parseStat([]byte(c.line))
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("parseStat(%q) = %+v, %v; want error containing %q", c.line, st, err, c.wantErr)
			}
			continue
		}
		if err != nil || st.State != c.wantState || st.StartTime != c.wantStart {
			t.Errorf("parseStat(%q) = %+v, %v; want state %c start %d", c.line, st, err, c.wantState, c.wantStart)
		}
	}
}

func TestAliveTellsReusedPIDs(t *testing.T) {
	st, err := readStat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if st.State == 'Z' || st.StartTime == 0 {
		t.Fatalf("own stat = %+v", st)
	}
	if !alive(os.Getpid(), st.StartTime) {
		t.Error("alive(self) = false")
	}
	if alive(os.Getpid(), st.StartTime+1) {
		t.Error("alive with another start time = true, want false: the pid was reused")
	}
}

func FuzzParseStat(f *testing.F) {
	f.Add([]byte("42 (server) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 3 0 123456 1000 10"))
	f.Add([]byte("7 (a) (b c) Z 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 99 0 0"))
	f.Add([]byte("()"))
	f.Add([]byte(")("))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := parseStat(data)
		if err != nil {
			return
		}
		// Whatever parsed must be what the fields after the last ')' say.
		rest := string(data[strings.LastIndexByte(string(data), ')')+1:])
		fields := strings.Fields(rest)
		if fields[0] != string([]byte{st.State}) {
			t.Errorf("state %c, but field 3 is %q", st.State, fields[0])
		}
	})
}
