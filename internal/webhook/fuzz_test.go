package webhook

import (
	"os"
	"path/filepath"
	"testing"
)

// The payload parsers accept any bytes: a parsed event or a malformed-payload
// refusal, never a panic, and a push always has its ref and repository.
func FuzzParsePayload(f *testing.F) {
	for _, name := range []string{"push.json", "pull_request.json", "ping.json"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add("push", data)
		f.Add("pull_request", data)
		f.Add("ping", data)
	}
	f.Add("push", []byte(`{"ref":"refs/tags/v1","deleted":true,"repository":{"full_name":"a/b"},"head_commit":null}`))
	f.Add("pull_request", []byte(`{"action":"labeled","pull_request":{},"repository":{"full_name":"a/b"}}`))
	f.Fuzz(func(t *testing.T, event string, data []byte) {
		d := &Delivery{ID: "x", Event: event}
		err := d.parse(data)
		if err != nil {
			if CodeOf(err) != CodeMalformed {
				t.Fatalf("error %v is not a malformed-payload refusal", err)
			}
			return
		}
		if ev := d.Trigger; ev != nil && (ev.Repository.FullName == "" || ev.Kind == "push" && ev.Ref == "") {
			t.Fatalf("accepted %+v", ev)
		}
		_ = d.Summary()
	})
}
