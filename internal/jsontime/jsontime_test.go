package jsontime

import (
	"encoding/json"
	"testing"
	"time"
)

func TestDurationRoundTripsAsAString(t *testing.T) {
	b, err := json.Marshal(struct {
		D Duration `json:"d"`
	}{Duration(1500 * time.Millisecond)})
	if err != nil || string(b) != `{"d":"1.5s"}` {
		t.Fatalf("marshal: %s, %v", b, err)
	}
	var got struct {
		D Duration `json:"d"`
	}
	if err := json.Unmarshal(b, &got); err != nil || got.D.D() != 1500*time.Millisecond {
		t.Fatalf("unmarshal: %v, %v", got.D, err)
	}
}

func TestDurationReadsNanosecondsWrittenBefore(t *testing.T) {
	var d Duration
	if err := json.Unmarshal([]byte("5000000000"), &d); err != nil || d.D() != 5*time.Second {
		t.Fatalf("got %v, %v", d, err)
	}
}

func TestDurationRejectsWhatIsNoDuration(t *testing.T) {
	for _, in := range []string{`"5 parsecs"`, `true`, `{}`, `1.5`} {
		var d Duration
		if err := json.Unmarshal([]byte(in), &d); err == nil {
			t.Errorf("%s: accepted as %v", in, d)
		}
	}
}

func FuzzDuration(f *testing.F) {
	for _, seed := range []string{`"1.5s"`, `"-3m"`, `12`, `"1h2m3.5s"`, `null`, `"x"`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		var d Duration
		if json.Unmarshal([]byte(in), &d) != nil {
			return
		}
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatalf("marshal %v: %v", d, err)
		}
		var again Duration
		if err := json.Unmarshal(b, &again); err != nil || again != d {
			t.Fatalf("%s -> %s -> %v, %v", in, b, again, err)
		}
	})
}
