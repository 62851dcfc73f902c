package stack_test

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/lambdapkg"
)

// terraform runs the Terraform CLI offline: providers only from the plugin
// mirror, no CLI configuration of the machine's.
type terraform struct {
	bin       string
	pluginDir string
	env       []string
}

// needTerraform finds the CLI and the AWS provider's plugin mirror; without them
// the test skips, or fails when CI=true (the project's machines have both).
func needTerraform(t *testing.T) *terraform {
	t.Helper()
	bin, err := exec.LookPath("terraform")
	pluginDir := cmp.Or(os.Getenv("GREENLIGHT_TF_PLUGIN_DIR"), "/opt/tf-plugins")
	_, statErr := os.Stat(filepath.Join(pluginDir, "registry.terraform.io", "hashicorp", "aws"))
	if err != nil || statErr != nil {
		reason := "needs the terraform CLI and the hashicorp/aws provider in the plugin mirror " + pluginDir + " (GREENLIGHT_TF_PLUGIN_DIR)"
		if os.Getenv("CI") == "true" {
			t.Fatal(reason)
		}
		t.Skip(reason)
	}
	cfg := filepath.Join(t.TempDir(), "terraformrc")
	if err := os.WriteFile(cfg, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "TF_CLI_CONFIG_FILE="+cfg, "TF_IN_AUTOMATION=1", "CHECKPOINT_DISABLE=1", "TF_INPUT=0")
	return &terraform{bin: bin, pluginDir: pluginDir, env: env}
}

// run runs terraform in dir and returns its standard output; a failure fails the test.
func (tf *terraform) run(t *testing.T, dir string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, tf.bin, args...)
	cmd.Dir, cmd.Env = dir, tf.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("terraform %s in %s: %v\n%s%s", strings.Join(args, " "), dir, err, stdout.String(), stderr.String())
	}
	return stdout.Bytes()
}

func (tf *terraform) init(t *testing.T, dir string) {
	t.Helper()
	tf.run(t, dir, "init", "-backend=false", "-plugin-dir="+tf.pluginDir, "-no-color")
}

// workspace copies deploy/aws (without Terraform's working files) into a
// temporary directory, with a function package to point hook_package and
// notify_package at: the tests never write into the source tree.
func workspace(t *testing.T) (dir, functionPackage string) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "aws")
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".terraform" || d.Name() == "build") {
			return filepath.SkipDir
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dir, path), 0o755)
		}
		if strings.HasSuffix(path, "_test.go") || d.Name() == ".terraform.lock.hcl" {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, path), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir, placeholderPackage(t)
}

// placeholderPackage is a zip in a function package's shape; plans only hash it.
func placeholderPackage(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	bootstrap := filepath.Join(dir, "bootstrap")
	if err := os.WriteFile(bootstrap, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "hook.zip")
	if err := lambdapkg.Zip(out, []lambdapkg.File{{Name: "bootstrap", Path: bootstrap, Executable: true}}); err != nil {
		t.Fatal(err)
	}
	return out
}

// offlineProvider overrides the example's provider block: placeholder
// credentials, and none of the calls a provider makes before planning.
const offlineProvider = `provider "aws" {
  access_key                  = "placeholder"
  secret_key                  = "placeholder"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
}
`

type validation struct {
	Valid       bool `json:"valid"`
	Diagnostics []struct {
		Severity string `json:"severity"`
		Summary  string `json:"summary"`
		Detail   string `json:"detail"`
	} `json:"diagnostics"`
}

func (tf *terraform) validate(t *testing.T, dir string) {
	t.Helper()
	var v validation
	if err := json.Unmarshal(tf.run(t, dir, "validate", "-json", "-no-color"), &v); err != nil {
		t.Fatal(err)
	}
	if !v.Valid {
		t.Fatalf("terraform validate %s: %+v", dir, v.Diagnostics)
	}
	for _, d := range v.Diagnostics {
		t.Errorf("terraform validate %s: %s: %s: %s", dir, d.Severity, d.Summary, d.Detail)
	}
}

// TestTerraform: validate the module and the example root, run the module's
// terraform test files (mock AWS provider), and plan the example root with
// placeholder credentials; the plan must carry greenlight.yaml (parity_test.go).
func TestTerraform(t *testing.T) {
	tf := needTerraform(t)
	dir, pkg := workspace(t)
	example := filepath.Join(dir, exampleRoot)

	t.Run("module validates", func(t *testing.T) {
		tf.init(t, dir)
		tf.validate(t, dir)
	})
	t.Run("terraform test with a mock provider", func(t *testing.T) {
		out := tf.run(t, dir, "test", "-no-color", "-var", "hook_package="+pkg, "-var", "notify_package="+pkg)
		if !bytes.Contains(out, []byte("Success! 5 passed, 0 failed.")) {
			t.Fatalf("terraform test:\n%s", out)
		}
	})
	t.Run("example validates", func(t *testing.T) {
		tf.init(t, example)
		tf.validate(t, example)
	})
	t.Run("example plans offline and carries greenlight.yaml", func(t *testing.T) {
		if err := os.WriteFile(filepath.Join(example, "offline_override.tf"), []byte(offlineProvider), 0o644); err != nil {
			t.Fatal(err)
		}
		tf.run(t, example, "plan", "-refresh=false", "-no-color", "-out=plan.bin",
			"-var", "repository=myorg/orders-service",
			"-var", "certificate_arn=arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-0000-0000-000000000000",
			"-var", "hook_package="+pkg, "-var", "notify_package="+pkg,
			// docs/aws.md: set initial_image_tag to have the first tasks healthy.
			"-var", "initial_image_tag=first-image")
		shown := tf.run(t, example, "show", "-json", "plan.bin")
		var plan planJSON
		if err := json.Unmarshal(shown, &plan); err != nil {
			t.Fatal(err)
		}
		checkParity(t, exampleDefinition(t), plan.module("module.greenlight"))
		checkPassedToModule(t, shown, "initial_image_tag", "first-image")
	})
}

// checkPassedToModule checks that the example root takes the variable name
// (planned with value) and hands it to the greenlight module as is.
func checkPassedToModule(t *testing.T, shown []byte, name, value string) {
	t.Helper()
	var plan struct {
		Variables map[string]struct {
			Value any `json:"value"`
		} `json:"variables"`
		Configuration struct {
			RootModule struct {
				ModuleCalls map[string]struct {
					Expressions map[string]struct {
						References []string `json:"references"`
					} `json:"expressions"`
				} `json:"module_calls"`
			} `json:"root_module"`
		} `json:"configuration"`
	}
	if err := json.Unmarshal(shown, &plan); err != nil {
		t.Fatal(err)
	}
	if got := plan.Variables[name].Value; got != value {
		t.Errorf("plan: variable %s = %v, want %q", name, got, value)
	}
	refs := plan.Configuration.RootModule.ModuleCalls["greenlight"].Expressions[name].References
	if !slices.Contains(refs, "var."+name) {
		t.Errorf("module greenlight: %s references %v, want var.%s", name, refs, name)
	}
}
