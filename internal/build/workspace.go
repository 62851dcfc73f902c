package build

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/greenlight-ci/greenlight/internal/atomicfile"
)

// Workspaces is the builds/ folder of a state directory, shared by every
// greenlight process on it:
//
//	<project>-<id>/            a build's work directory (CODEBUILD_SRC_DIR)
//	<project>-<id>-artifacts/  the artifacts of a build without an output artifact
//	<project>-<id>-secondary/  secondary artifacts before they move to their outputs
//	<project>.number           the project's last build number
//	.numbers.lock              flock serializing build numbers across processes
//
// A running build holds a shared flock on its work directory; pruning takes the
// exclusive one without waiting and skips a build it cannot get.
type Workspaces struct{ Dir string }

// Workspace is the directories of one build, locked until Release.
type Workspace struct {
	ID           string // CODEBUILD_BUILD_ID, "<project>:<id>"
	Project      string
	Number       int // CODEBUILD_BUILD_NUMBER
	WorkDir      string
	ArtifactsDir string
	SecondaryDir string
	lock         *os.File
}

// Release lets pruning remove the workspace.
func (w *Workspace) Release() {
	if w.lock != nil {
		w.lock.Close() // closing drops the flock
		w.lock = nil
	}
}

// idLength is the length of the random part of a build id: base32, lower case.
const idLength = 16

var buildDirName = regexp.MustCompile(`^(.+)-([a-z2-7]{16})(-artifacts|-secondary)?$`)

// Create numbers a new build of project and makes its work directory, locked
// before any other process can see it.
func (ws Workspaces) Create(project string) (*Workspace, error) {
	number, err := ws.NextNumber(project)
	if err != nil {
		return nil, err
	}
	id := strings.ToLower(rand.Text()[:idLength])
	name := project + "-" + id
	w := &Workspace{ID: project + ":" + id, Project: project, Number: number, WorkDir: filepath.Join(ws.Dir, name)}
	w.ArtifactsDir, w.SecondaryDir = w.WorkDir+"-artifacts", w.WorkDir+"-secondary"
	// Made under a name pruning ignores, locked, then renamed into place: the lock
	// stays with the directory.
	tmp := filepath.Join(ws.Dir, ".new-"+name)
	if err := os.Mkdir(tmp, 0o755); err != nil {
		return nil, fmt.Errorf("create build directory: %w", err)
	}
	if w.lock, err = lockDir(tmp, syscall.LOCK_SH); err == nil {
		err = os.Rename(tmp, w.WorkDir)
	}
	if err != nil {
		w.Release()
		os.Remove(tmp)
		return nil, fmt.Errorf("create build directory: %w", err)
	}
	return w, nil
}

// NextNumber returns the project's next build number: 1, 2, 3... Processes
// building at once take turns under a flock, so each gets its own.
func (ws Workspaces) NextNumber(project string) (int, error) {
	if err := os.MkdirAll(ws.Dir, 0o755); err != nil {
		return 0, fmt.Errorf("build number: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(ws.Dir, ".numbers.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return 0, fmt.Errorf("build number: %w", err)
	}
	defer lock.Close()
	if err := flock(lock, syscall.LOCK_EX); err != nil {
		return 0, fmt.Errorf("build number: lock: %w", err)
	}
	path := filepath.Join(ws.Dir, project+".number")
	n := 0
	if b, err := os.ReadFile(path); err == nil {
		if n, err = strconv.Atoi(strings.TrimSpace(string(b))); err != nil {
			return 0, fmt.Errorf("build number: %s holds %q, not a number", path, b)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Errorf("build number: %w", err)
	}
	n++
	if err := atomicfile.Write(path, []byte(strconv.Itoa(n)+"\n"), 0o644); err != nil {
		return 0, fmt.Errorf("build number: %w", err)
	}
	return n, nil
}

// Folders is one build's folders found in builds/.
type Folders struct {
	Name    string   // "<project>-<id>"
	Project string   // exactly the build project's name
	Paths   []string // the work directory and its -artifacts and -secondary folders that exist
	ModTime time.Time
}

// List returns the builds found in the folder, newest first; project "" lists
// every project's.
func (ws Workspaces) List(project string) ([]Folders, error) {
	entries, err := os.ReadDir(ws.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list builds: %w", err)
	}
	byName := map[string]*Folders{}
	for _, e := range entries {
		m := buildDirName.FindStringSubmatch(e.Name())
		if !e.IsDir() || m == nil || strings.HasPrefix(e.Name(), ".") || project != "" && m[1] != project {
			continue
		}
		name := m[1] + "-" + m[2]
		b := byName[name]
		if b == nil {
			b = &Folders{Name: name, Project: m[1]}
			byName[name] = b
		}
		b.Paths = append(b.Paths, filepath.Join(ws.Dir, e.Name()))
		if info, err := e.Info(); err == nil && info.ModTime().After(b.ModTime) {
			b.ModTime = info.ModTime()
		}
	}
	out := make([]Folders, 0, len(byName))
	for _, b := range byName {
		out = append(out, *b)
	}
	slices.SortFunc(out, func(a, b Folders) int { return b.ModTime.Compare(a.ModTime) })
	return out, nil
}

// Prune removes the builds of project beyond the newest keep, with their
// -artifacts and -secondary folders, and returns those it removed (with dryRun,
// those it would remove). A build that is running is kept.
func (ws Workspaces) Prune(project string, keep int, dryRun bool) ([]Folders, error) {
	builds, err := ws.List(project)
	if err != nil {
		return nil, err
	}
	var removed []Folders
	var errs []error
	for _, b := range builds[min(keep, len(builds)):] {
		ok, err := ws.remove(b, dryRun)
		if err != nil {
			errs = append(errs, err)
		}
		if ok {
			removed = append(removed, b)
		}
	}
	return removed, errors.Join(errs...)
}

// remove removes one build's folders unless it is running.
func (ws Workspaces) remove(b Folders, dryRun bool) (bool, error) {
	work := filepath.Join(ws.Dir, b.Name)
	lock, err := lockDir(work, syscall.LOCK_EX|syscall.LOCK_NB)
	switch {
	case errors.Is(err, syscall.EWOULDBLOCK):
		return false, nil // running
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return false, fmt.Errorf("prune build %s: %w", b.Name, err)
	}
	if lock != nil {
		defer lock.Close()
	}
	if dryRun {
		return true, nil
	}
	var errs []error
	for _, p := range b.Paths {
		errs = append(errs, RemoveTree(p))
	}
	if err := errors.Join(errs...); err != nil {
		return false, fmt.Errorf("prune build %s: %w", b.Name, err)
	}
	return true, nil
}

// lockDir opens a directory and flocks it.
func lockDir(dir string, how int) (*os.File, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	if err := flock(f, how); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func flock(f *os.File, how int) error {
	for {
		err := syscall.Flock(int(f.Fd()), how)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}

// RemoveTree removes a folder, write-protected files and folders included (the
// pipeline seals artifacts read-only).
func RemoveTree(dir string) error {
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			err = os.Chmod(path, 0o755)
		}
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return os.RemoveAll(dir)
}
