package build_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/build"
)

// numberHelperEnv makes the test binary a process that takes build numbers and
// prints them, one per line.
const numberHelperEnv = "GREENLIGHT_TEST_NUMBER_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(numberHelperEnv); dir != "" {
		os.Exit(takeNumbers(dir))
	}
	os.Exit(m.Run())
}

func takeNumbers(dir string) int {
	ws := build.Workspaces{Dir: dir}
	for range 25 {
		n, err := ws.NextNumber("api")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Println(n)
	}
	return 0
}

func TestBuildNumbersAreUniqueAcrossProcesses(t *testing.T) {
	dir := t.TempDir()
	const processes, each = 4, 25
	var cmds []*exec.Cmd
	var outs []*strings.Builder
	for range processes {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), numberHelperEnv+"="+dir)
		out := &strings.Builder{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds, outs = append(cmds, cmd), append(outs, out)
	}
	var numbers []int
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("process %d: %v\n%s", i, err, outs[i])
		}
		for _, line := range strings.Fields(outs[i].String()) {
			n, err := strconv.Atoi(line)
			if err != nil {
				t.Fatalf("process %d printed %q", i, line)
			}
			numbers = append(numbers, n)
		}
	}
	slices.Sort(numbers)
	for i, n := range numbers {
		if n != i+1 {
			t.Fatalf("numbers taken by %d processes at once are not 1..%d, each once: %v", processes, processes*each, numbers)
		}
	}
	if len(numbers) != processes*each {
		t.Fatalf("got %d numbers, want %d", len(numbers), processes*each)
	}
	// Another project counts on its own.
	if n, err := (build.Workspaces{Dir: dir}).NextNumber("api-v2"); err != nil || n != 1 {
		t.Fatalf("first number of api-v2 = %d, %v", n, err)
	}
}

func TestCreateNumbersAndLocksTheWorkspace(t *testing.T) {
	ws := build.Workspaces{Dir: t.TempDir()}
	a, err := ws.Create("api")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Release()
	b, err := ws.Create("api")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Release()
	if a.Number != 1 || b.Number != 2 || a.ID == b.ID || !strings.HasPrefix(a.ID, "api:") {
		t.Fatalf("builds %+v and %+v", a, b)
	}
	if info, err := os.Stat(a.WorkDir); err != nil || !info.IsDir() {
		t.Fatalf("work directory %s: %v", a.WorkDir, err)
	}
	// Both run: pruning to none keeps them.
	if removed, err := ws.Prune("api", 0, false); err != nil || len(removed) != 0 {
		t.Fatalf("pruned running builds: %v, %v", removed, err)
	}
	b.Release()
	removed, err := ws.Prune("api", 0, false)
	if err != nil || len(removed) != 1 || removed[0].Name != filepath.Base(b.WorkDir) {
		t.Fatalf("after b ended, pruned %v, %v; want b only", removed, err)
	}
}

func TestPruneMatchesTheExactProjectAndTakesArtifactFolders(t *testing.T) {
	dir := t.TempDir()
	base := time.Now().Add(-time.Hour)
	// Oldest first; ids are 16 base32 characters as Create makes them.
	names := []string{
		"api-aaaaaaaaaaaaaaaa", "api-aaaaaaaaaaaaaaaa-artifacts", // old api build with its artifacts
		"api-bbbbbbbbbbbbbbbb-artifacts", // artifacts of a build whose work folder is gone
		"api-v2-cccccccccccccccc", "api-v2-cccccccccccccccc-artifacts",
		"api-v2-dddddddddddddddd",
		"api-eeeeeeeeeeeeeeee",
		"api-ffffffffffffffff", "api-ffffffffffffffff-secondary",
	}
	for i, name := range names {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Join(path, "sealed"), 0o755); err != nil {
			t.Fatal(err)
		}
		at := base.Add(time.Duration(i) * time.Minute)
		err := errors.Join(os.WriteFile(filepath.Join(path, "sealed", "f"), []byte("x"), 0o444),
			os.Chmod(filepath.Join(path, "sealed"), 0o555), // as the pipeline seals artifacts
			os.Chtimes(path, at, at))
		if err != nil {
			t.Fatal(err)
		}
	}
	removed, err := build.Workspaces{Dir: dir}.Prune("api", 2, false)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, b := range removed {
		got = append(got, b.Name)
	}
	slices.Sort(got)
	if want := []string{"api-aaaaaaaaaaaaaaaa", "api-bbbbbbbbbbbbbbbb"}; !slices.Equal(got, want) {
		t.Errorf("removed %v, want %v", got, want)
	}
	left, _ := os.ReadDir(dir)
	var leftNames []string
	for _, e := range left {
		leftNames = append(leftNames, e.Name())
	}
	want := []string{"api-eeeeeeeeeeeeeeee", "api-ffffffffffffffff", "api-ffffffffffffffff-secondary",
		"api-v2-cccccccccccccccc", "api-v2-cccccccccccccccc-artifacts", "api-v2-dddddddddddddddd"}
	if !slices.Equal(leftNames, want) {
		t.Errorf("left %v\nwant %v", leftNames, want)
	}
}
