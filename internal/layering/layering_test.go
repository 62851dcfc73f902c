package layering

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/greenlight-ci/greenlight/"

// adapters are the packages no domain package may depend on, even indirectly.
var adapters = []string{
	module + "internal/cli",
	module + "internal/control",
	module + "internal/daemon",
	module + "internal/store",
	module + "internal/agent",
	module + "internal/hookrun",
	module + "internal/provider",
	module + "internal/runtime/docker",
	module + "internal/runtime/supervisor",
	module + "internal/runtime/process",
	"database/sql",
	"github.com/docker/",
	"modernc.org/sqlite",
}

func TestDomainPackagesDependOnNoAdapter(t *testing.T) {
	for pkg, alsoForbidden := range map[string][]string{
		// The engine and the controller: no SQL, no processes, no HTTP, no router.
		"internal/pipeline": {"os/exec", "net/http", module + "internal/router"},
		"internal/deploy":   {"os/exec", "net/http", module + "internal/router"},
		"internal/alarm":    {"os/exec", "net/http", module + "internal/router"},
		"internal/manifest": {"os/exec", "net/http"},
		"internal/build":    {"net/http"}, // the buildspec runner runs its shell itself
		"internal/router":   {"os/exec"},  // the data plane serves HTTP itself
	} {
		deps := goListDeps(t, "./"+pkg)
		for _, dep := range deps {
			for _, bad := range append(slices.Clone(adapters), alsoForbidden...) {
				if forbids(bad, dep) {
					t.Errorf("%s depends on %s", pkg, dep)
				}
			}
		}
	}
}

// goListDeps returns the import paths pkg depends on. It also reads the directory
// and the files of each of greenlight's packages among them, so that go test's
// result cache knows this test's inputs: an import added anywhere runs it again.
func goListDeps(t *testing.T, pkg string) []string {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}\t{{.Dir}}", pkg)
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	var deps []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		path, dir, _ := strings.Cut(line, "\t")
		deps = append(deps, path)
		if strings.HasPrefix(path, module) {
			touch(t, dir)
		}
	}
	return deps
}

func touch(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".go") {
			if _, err := os.ReadFile(filepath.Join(dir, e.Name())); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// forbids reports whether the rule bad matches dep: a standard package exactly
// (database/sql, not database/sql/driver's interfaces), a prefix ending in "/", or
// one of greenlight's packages with its subpackages.
func forbids(bad, dep string) bool {
	switch {
	case strings.HasSuffix(bad, "/"):
		return strings.HasPrefix(dep, bad)
	case strings.HasPrefix(bad, module):
		return dep == bad || strings.HasPrefix(dep, bad+"/")
	}
	return dep == bad
}
