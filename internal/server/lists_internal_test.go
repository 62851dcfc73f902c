package server

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/control"
)

type listsInner struct {
	Names []string `json:"names"`
}

type listsOuter struct {
	Top      []int                 `json:"top"`
	Inner    listsInner            `json:"inner"`
	Ptr      *listsInner           `json:"ptr"`
	NilPtr   *listsInner           `json:"nil_ptr"`
	Many     []listsInner          `json:"many"`
	ByName   map[string]listsInner `json:"by_name"`
	NilMap   map[string]int        `json:"nil_map"`
	Any      any                   `json:"any"`
	Pair     [2]listsInner         `json:"pair"`
	Raw      json.RawMessage       `json:"raw"`
	Bytes    []byte                `json:"bytes"`
	When     time.Time             `json:"when"`
	Omitted  []string              `json:"omitted,omitempty"`
	unlisted []string
}

// Every nil list at any depth — field, pointer, slice element, map value,
// interface, array — is answered []; what encodes itself, byte strings, nil
// pointers and maps stay as they were, and the value given is not changed.
func TestEmptyListsAtEveryDepth(t *testing.T) {
	when := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	in := listsOuter{Ptr: &listsInner{}, Many: []listsInner{{}}, ByName: map[string]listsInner{"a": {}},
		Any: listsInner{}, When: when, unlisted: nil}
	got, err := json.Marshal(emptyLists(in))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"top":[],"inner":{"names":[]},"ptr":{"names":[]},"nil_ptr":null,"many":[{"names":[]}],` +
		`"by_name":{"a":{"names":[]}},"nil_map":null,"any":{"names":[]},"pair":[{"names":[]},{"names":[]}],` +
		`"raw":null,"bytes":null,"when":"2025-01-02T03:04:05Z"}`
	if string(got) != want {
		t.Errorf("encoded\n%s\nwant\n%s", got, want)
	}
	if in.Top != nil || in.Ptr.Names != nil || in.Many[0].Names != nil || in.ByName["a"].Names != nil {
		t.Errorf("the value given was changed: %+v", in)
	}
	if emptyLists(nil) != nil {
		t.Error("nil is not nil any more")
	}
}

// The API's own answer types: an empty page is {"executions":[]}.
func TestEmptyPageOfExecutions(t *testing.T) {
	got, err := json.Marshal(emptyLists(control.ExecutionPage{}))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(got), `"executions":[]`) || strings.Contains(string(got), "null") {
		t.Errorf("empty page encoded %s", got)
	}
}
