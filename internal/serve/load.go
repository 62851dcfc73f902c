package serve

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/greenlight-ci/greenlight/internal/manifest"
)

// Load reads the definitions a server runs: each file, then the greenlight.yaml
// of each repository directly under dir (when dir is not ""). It refuses, with
// both positions, two pipelines of one name, two services of one name and two
// listeners on one address: one agent serves every service of the server.
func Load(files []string, dir string) ([]*manifest.Definition, error) {
	paths := slices.Clone(files)
	if dir != "" {
		found, err := repositories(dir)
		if err != nil {
			return nil, err
		}
		paths = append(paths, found...)
	}
	if len(paths) == 0 {
		return nil, errors.New("no definition: give -f greenlight.yaml (repeatable) or --dir with repositories holding one")
	}
	var defs []*manifest.Definition
	var errs []error
	for _, p := range paths {
		def, err := manifest.Load(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		defs = append(defs, def)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if err := CheckConflicts(defs); err != nil {
		return nil, err
	}
	return defs, nil
}

// repositories lists dir/*/greenlight.yaml, sorted.
func repositories(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read --dir: %w", err)
	}
	var out []string
	for _, e := range entries {
		p := filepath.Join(dir, e.Name(), "greenlight.yaml")
		if _, err := os.Stat(p); e.IsDir() && err == nil {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--dir %s: no directory in it holds a greenlight.yaml", dir)
	}
	return out, nil
}

// claim is one name or address a definition takes, and where.
type claim struct {
	what, key, host, port string
	pos                   manifest.Pos
}

// CheckConflicts refuses what two definitions cannot share on one server. The
// conflicts inside one definition were refused when it was loaded.
func CheckConflicts(defs []*manifest.Definition) error {
	var errs manifest.ErrorList
	var pipelines, services, listeners, rules []claim
	for _, def := range defs {
		p := def.Pipeline
		errs = conflict(errs, &pipelines, claim{what: "pipeline " + p.Name, key: p.Name, pos: p.Pos})
		// Rule names are unique in an account on AWS, and a delivery is queued
		// once per event, rule name and target.
		for _, r := range def.Notifications {
			errs = conflict(errs, &rules, claim{what: "notification rule " + r.Name, key: r.Name, pos: r.Pos})
		}
		for _, name := range sortedKeys(def.Services) {
			s := def.Services[name]
			errs = conflict(errs, &services, claim{what: "service " + name, key: name, pos: s.Pos})
			for _, c := range listenerClaims(name, s) {
				errs = conflict(errs, &listeners, c)
			}
		}
	}
	return errs.Err()
}

// conflict adds c to seen, or an error at c's position naming the earlier claim.
func conflict(errs manifest.ErrorList, seen *[]claim, c claim) manifest.ErrorList {
	i := slices.IndexFunc(*seen, func(o claim) bool { return o.clashes(c) })
	if i < 0 {
		*seen = append(*seen, c)
		return errs
	}
	prev := (*seen)[i]
	return append(errs, &manifest.Error{Pos: c.pos, Msg: fmt.Sprintf("%s: %s is already claimed by %s at %s", c.what, c.key, prev.what, prev.pos)})
}

func (c claim) clashes(o claim) bool {
	if c.port == "" {
		return c.key == o.key
	}
	return c.port == o.port && (c.host == o.host || isWildcard(c.host) || isWildcard(o.host))
}

func isWildcard(host string) bool { return host == "" || host == "0.0.0.0" || host == "::" }

// listenerClaims are the addresses a service's listeners bind.
func listenerClaims(name string, s *manifest.Service) []claim {
	l := s.Listeners
	var out []claim
	add := func(kind, addr string, pos manifest.Pos) {
		host, port, err := net.SplitHostPort(addr)
		if addr == "" || err != nil {
			return
		}
		if pos.Line == 0 {
			pos = s.Pos
		}
		out = append(out, claim{what: fmt.Sprintf("service %s %s listener", name, kind), key: addr, host: strings.ToLower(host), port: port, pos: pos})
	}
	add("production", l.Production, l.ProductionOptions.Pos)
	add("test", l.Test, l.TestOptions.Pos)
	add("production redirect_http", l.ProductionOptions.RedirectHTTP, l.ProductionOptions.Pos)
	add("test redirect_http", l.TestOptions.RedirectHTTP, l.TestOptions.Pos)
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
