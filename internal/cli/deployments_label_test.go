package cli

import (
	"testing"

	"github.com/greenlight-ci/greenlight/internal/control"
)

// A deployment made by `greenlight deploy` has no commit: the list shows its
// image's tag instead of an empty column.
func TestRevisionLabel(t *testing.T) {
	for _, tc := range []struct {
		commit, image, want string
	}{
		{"0123456789abcdef", "orders:0123456", "0123456"},
		{"", "orders:v2", ":v2"},
		{"", "registry.local:5000/orders:v2", ":v2"},
		{"", "registry.local:5000/orders", "-"},
		{"", "orders", "-"},
		{"", "", "-"},
	} {
		d := &control.Deployment{}
		d.Revision.CommitID, d.Revision.Image = tc.commit, tc.image
		if got := revisionLabel(d); got != tc.want {
			t.Errorf("commit %q image %q: %q, want %q", tc.commit, tc.image, got, tc.want)
		}
	}
}
