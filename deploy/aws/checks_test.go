// Package stack_test checks the Terraform under deploy/aws: formatting,
// references and IAM wildcards (internal/tfcheck); that the example's rendered
// inputs are current; and, where the Terraform CLI and the AWS provider's plugin
// mirror are at hand, terraform validate, plan and test against the real
// provider schema, offline.
package stack_test

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/greenlight-ci/greenlight/internal/awsrender"
	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/tfcheck"
)

const exampleRoot = "examples/orders-service"

// moduleDirs are the Terraform roots and modules of deploy/aws.
var moduleDirs = []string{".", exampleRoot}

func TestTerraformFilesAreFormatted(t *testing.T) {
	n := 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() && (d.Name() == ".terraform" || d.Name() == "build") {
			return skipDir(d, err)
		}
		if !strings.HasSuffix(path, ".tf") && !strings.HasSuffix(path, ".tftest.hcl") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		n++
		if p := tfcheck.Format(path, src); p != nil {
			t.Errorf("%s (run terraform fmt -recursive deploy/aws)", p)
		}
		return nil
	})
	if err != nil || n < 15 {
		t.Fatalf("walked %d Terraform files: %v", n, err)
	}
}

func skipDir(d fs.DirEntry, err error) error {
	if err != nil {
		return err
	}
	return filepath.SkipDir
}

func TestEveryReferenceResolves(t *testing.T) {
	for _, dir := range moduleDirs {
		m, err := tfcheck.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		problems, err := m.UnresolvedReferences()
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range problems {
			t.Error(p)
		}
	}
}

func TestIAMGrantsNoWildcardWithoutTheReason(t *testing.T) {
	for _, dir := range moduleDirs {
		m, err := tfcheck.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range m.IAMWildcards() {
			t.Error(p)
		}
	}
}

// exampleDefinition is examples/orders-service/greenlight.yaml, loaded and checked.
func exampleDefinition(t *testing.T) *manifest.Definition {
	t.Helper()
	def, err := manifest.Load("../../examples/orders-service/greenlight.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := manifest.ValidateFiles(def, def.Dir); err != nil {
		t.Fatal(err)
	}
	return def
}

// TestRenderedExampleIsCurrent: the example root's inputs are what render writes
// from greenlight.yaml today, so the stack cannot drift from the definition.
func TestRenderedExampleIsCurrent(t *testing.T) {
	def := exampleDefinition(t)
	res, err := awsrender.Render(def, def.Dir)
	if err != nil {
		t.Fatal(err)
	}
	want, err := res.Stack.TFVars()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(exampleRoot, awsrender.TFVarsName))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s/%s is stale; run: go run ./cmd/greenlight -f examples/orders-service/greenlight.yaml render terraform -o deploy/aws/%s", exampleRoot, awsrender.TFVarsName, exampleRoot)
	}
}
