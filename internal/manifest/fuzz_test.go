package manifest

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every parser must return, for any input, either a value or errors that each
// carry the file name and, when the input has content, a line and column inside it.

func addTestdata(f *testing.F, pattern string) {
	paths, err := filepath.Glob(filepath.Join("testdata", pattern))
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
}

func checkPositions(t *testing.T, file string, data []byte, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var list ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("error is %T, not an ErrorList: %v", err, err)
	}
	// YAML breaks lines at \n, \r\n and a lone \r.
	lines := bytes.Count(bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n")), []byte("\n")) + bytes.Count(data, []byte("\r")) - bytes.Count(data, []byte("\r\n")) + 1
	for _, e := range list {
		if e.Pos.File != file || e.Msg == "" {
			t.Fatalf("error without file or message: %q", e.Error())
		}
		if e.Pos.Line < 1 || e.Pos.Line > lines || e.Pos.Column < 1 {
			t.Fatalf("position %v outside the %d-line input: %q", e.Pos, lines, e.Error())
		}
		if strings.Contains(e.Msg, "\n") {
			t.Fatalf("multi-line message: %q", e.Msg)
		}
	}
}

func FuzzParseDefinition(f *testing.F) {
	addTestdata(f, "greenlight.yaml")
	f.Add([]byte(minimal))
	f.Add([]byte(minimal + "retention: {builds: 3, artifacts: 7d, logs: 12h, events: forever, keep_executions: 0}\n"))
	f.Add([]byte(minimal + "services:\n  s:\n    listeners:\n      production: {address: \"0.0.0.0:7443\", protocol: HTTPS, certificates: [{cert_file: a, key_file: b}], redirect_http: \":7080\", hsts: {max_age: 1h, preload: true}, max_request_body: 1MiB}\n      test: {address: \"127.0.0.1:7081\", h2c: true, max_request_body: 5}\n"))
	f.Add([]byte(minimal + "services:\n  s:\n    listeners:\n      production: {address: \":443\", protocol: HTTPS, acme: {domains: [a.example.com], email: x, directory_url: \"https://ca/dir\", cache_dir: c, ca_file: f}}\n"))
	f.Add([]byte("version: 1\npipeline: {name: p, stages: [{name: a, actions: [{name: x, category: Source, provider: Git}]}]}\n"))
	f.Add([]byte("a: &x [*x]\n"))
	f.Add([]byte("version: 1\npipeline: {name: ., stages: [{name: .., actions: [{name: ., category: Source, provider: Git, output_artifacts: [s], configuration: {Repository: .}}]}, {name: ..., actions: [{name: .x, category: Approval, provider: Manual}]}]}\n"))
	f.Add([]byte(withTriggers("    - {provider_type: CodeStarSourceConnection, git_configuration: {source_action_name: Src, push: [{branches: {includes: [\"a[!b]{c,d}**\"]}}]}}\n")))
	f.Add([]byte(minimal + "notifications: [{name: n, event_type_ids: [greenlight-alarm-state-changed], detail_type: FULL, targets: [{webhook: {url: \"http://x\", secret: {env: S}}}]}]\nwebhook: {secret: {file: s}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		def, err := ParseDefinition("greenlight.yaml", data)
		checkPositions(t, "greenlight.yaml", data, err)
		if err == nil && (def == nil || def.Pipeline == nil) {
			t.Fatal("no error and no pipeline")
		}
		if err == nil {
			checkURLSegments(t, def.Pipeline)
		}
	})
}

// checkURLSegments fails when an accepted pipeline, stage or action name is one
// a URL's path cannot hold as a segment (the console's pages are named by them).
func checkURLSegments(t *testing.T, p *Pipeline) {
	t.Helper()
	names := []string{p.Name}
	for _, s := range p.Stages {
		names = append(names, s.Name)
		for _, a := range s.Actions {
			names = append(names, a.Name)
		}
	}
	for _, n := range names {
		if n == "." || n == ".." {
			t.Fatalf("accepted the name %q", n)
		}
	}
}

func FuzzParseBuildspec(f *testing.F) {
	addTestdata(f, "buildspec*.yml")
	f.Add([]byte("version: 0.2\nphases: {build: {commands: [\"a: b\", {x: y}]}}\n"))
	f.Add([]byte("version: 0.2\nphases: {install: {runtime-versions: {golang: 1.x, java: corretto17, nodejs: latest, ruby: [3]}}}\ncache: {key: k-$(codebuild-hash-files a b), fallback-keys: [k-], action: save, paths: [/root/.m2/**/*]}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		bs, err := ParseBuildspec("buildspec.yml", data)
		checkPositions(t, "buildspec.yml", data, err)
		if err == nil && bs.Version != "0.2" {
			t.Fatalf("accepted version %q", bs.Version)
		}
	})
}

func FuzzParseAppSpec(f *testing.F) {
	addTestdata(f, "appspec.*")
	f.Fuzz(func(t *testing.T, data []byte) {
		app, err := ParseAppSpec("appspec.yaml", data)
		checkPositions(t, "appspec.yaml", data, err)
		if err == nil && len(app.Resources) != 1 {
			t.Fatalf("accepted %d resources", len(app.Resources))
		}
	})
}

func FuzzParseTaskDefinition(f *testing.F) {
	addTestdata(f, "taskdef*.json")
	f.Add([]byte(`{"family": "x", "containerDefinitions": [{"name": "a", "image": "b"}], "tags": [{"key": "\u00e9"}]}`))
	f.Add([]byte(`{"family": "x", "containerDefinitions": [{"name": "a", "image": "b", "dependsOn": [{"containerName": "s", "condition": "HEALTHY"}]},
		{"name": "s", "image": "c", "essential": false, "startTimeout": 30, "healthCheck": {"command": ["CMD-SHELL", "exit 0"], "interval": 5}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		td, err := ParseTaskDefinition("taskdef.json", data)
		checkPositions(t, "taskdef.json", data, err)
		if err == nil && (td.Family == "" || len(td.ContainerDefinitions) == 0) {
			t.Fatalf("accepted %+v", td)
		}
	})
}

func FuzzParseImageDefinitions(f *testing.F) {
	f.Add([]byte(`[{"name":"api","imageUri":"orders:abc"}]`))
	f.Add([]byte(`[{"name":"api"},{"name":"api","imageUri":"y"}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		defs, err := ParseImageDefinitions("imagedefinitions.json", data)
		checkPositions(t, "imagedefinitions.json", data, err)
		if err == nil && len(defs) == 0 {
			t.Fatal("accepted no image definitions")
		}
	})
}

func FuzzVariableRefs(f *testing.F) {
	f.Add("#{a.b} #{c.d")
	f.Add("#{SourceVariables.CommitId}")
	f.Fuzz(func(t *testing.T, s string) {
		refs, err := VariableRefs(s)
		for _, r := range refs {
			if !strings.HasPrefix(s[r.Offset:], r.String()) {
				t.Fatalf("ref %v not at offset %d of %q", r, r.Offset, s)
			}
		}
		var serr *VariableSyntaxError
		if err != nil && (!errors.As(err, &serr) || serr.Offset < 0 || serr.Offset >= len(s)) {
			t.Fatalf("error %v outside %q", err, s)
		}
		// Expanding every reference to "" leaves exactly the text around them.
		out, err := ExpandVariables(s, func(ns, key string) (string, bool) { return "", true })
		if err == nil {
			want := s
			for i := len(refs) - 1; i >= 0; i-- {
				r := refs[i]
				want = want[:r.Offset] + want[r.Offset+len(r.String()):]
			}
			if out != want {
				t.Fatalf("ExpandVariables(%q) = %q, want %q", s, out, want)
			}
		}
	})
}
