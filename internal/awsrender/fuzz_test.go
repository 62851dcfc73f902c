package awsrender

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/greenlight-ci/greenlight/internal/manifest"
)

// FuzzRender: every definition manifest accepts renders or fails with an error,
// never a panic, and every finding has a position.
func FuzzRender(f *testing.F) {
	for _, seed := range []string{example, "../manifest/testdata/greenlight.yaml"} {
		data, err := os.ReadFile(seed)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(minimal))
	src, err := filepath.Abs("../../examples/orders-service")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		def, err := manifest.ParseDefinition(filepath.Join(src, "greenlight.yaml"), data)
		if err != nil {
			return
		}
		res, err := Render(def, src)
		if err != nil {
			return
		}
		for _, fd := range res.Findings {
			if fd.Pos.File == "" {
				t.Fatalf("finding without a file: %s", fd)
			}
		}
	})
}
