package cli

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/spf13/cobra"

	"github.com/greenlight-ci/greenlight/internal/treecopy"
)

func (a *app) demoCommand() *cobra.Command {
	var example, workdir, failRate, latency string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the whole pipeline on the example service, from a fresh git repository",
		Long: `Copy examples/orders-service into a git repository of its own (in --workdir,
created on the first run), commit it, and run its pipeline with approvals given:
source, build, unit and integration tests, staging, approval, blue-green
production. Run it again after changing the example: the new commit replaces the
old one in production without a failed request. --fail-rate 0.5 commits a bad
release (half the order requests fail), which the deployment's smoke-test hooks
or its error-rate alarm roll back; --latency-ms 800 commits a slow one, which
only the p99 latency alarm catches, on the replacement's traffic (the hooks'
test traffic already). The ports are the example's listeners (production
127.0.0.1:7080, test 7081, staging 7180): for others, copy the example, change
them and pass --example and --workdir.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			repo, err := prepareDemoRepo(ctx, example, workdir, failRate, latency)
			if err != nil {
				return err
			}
			a.file = filepath.Join(repo, "greenlight.yaml")
			if !a.json {
				fmt.Fprintf(a.stdout, "demo repository: %s\n", repo)
			}
			err = a.run(ctx, runOptions{autoApprove: true})
			if !a.json {
				fmt.Fprintf(a.stdout, "\nproduction keeps serving after this command; `greenlight -f %s down` stops everything\n", a.file)
			}
			return err
		},
	}
	cmd.Flags().StringVar(&example, "example", "", "example directory (default: examples/orders-service of this checkout)")
	cmd.Flags().StringVar(&workdir, "workdir", filepath.Join(os.TempDir(), "greenlight-demo"), "where the demo repository lives between runs")
	cmd.Flags().StringVar(&failRate, "fail-rate", "", "commit a release whose requests fail at this rate (0..1)")
	cmd.Flags().StringVar(&latency, "latency-ms", "", "commit a release that adds this latency to every order request")
	return cmd
}

// prepareDemoRepo makes workdir/orders-service a git repository holding the
// example as its latest commit, and returns its path.
func prepareDemoRepo(ctx context.Context, example, workdir, failRate, latency string) (string, error) {
	if example == "" {
		var err error
		if example, err = findExample(); err != nil {
			return "", err
		}
	}
	repo := filepath.Join(workdir, "orders-service")
	if err := os.MkdirAll(repo, 0o755); err != nil {
		return "", err
	}
	if _, err := os.Stat(filepath.Join(repo, ".git")); os.IsNotExist(err) {
		if err := git(ctx, repo, "init", "-q", "-b", "main"); err != nil {
			return "", err
		}
	}
	if err := treecopy.Copy(example, repo, treecopy.BuildOutputs...); err != nil {
		return "", fmt.Errorf("copy example: %w", err)
	}
	message := "orders-service from " + example
	if failRate != "" || latency != "" {
		if err := setTaskEnv(filepath.Join(repo, "taskdef-template.json"), map[string]string{"FAIL_RATE": failRate, "LATENCY_MS": latency}); err != nil {
			return "", err
		}
		message = fmt.Sprintf("Release with FAIL_RATE=%s LATENCY_MS=%s", orDash(failRate), orDash(latency))
	}
	if err := git(ctx, repo, "add", "-A"); err != nil {
		return "", err
	}
	if err := git(ctx, repo, "diff", "--cached", "--quiet"); err != nil {
		if err := git(ctx, repo, "-c", "user.name=greenlight demo", "-c", "user.email=demo@greenlight.local", "commit", "-q", "-m", message); err != nil {
			return "", err
		}
	}
	return repo, nil
}

// findExample looks for examples/orders-service from the working directory up.
func findExample() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		candidate := filepath.Join(dir, "examples", "orders-service")
		if _, err := os.Stat(filepath.Join(candidate, "greenlight.yaml")); err == nil {
			return candidate, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("examples/orders-service not found from the working directory: run from a greenlight checkout or pass --example")
		}
		dir = parent
	}
}

// setTaskEnv sets container environment values in a task definition template,
// keeping the file as written (a bad release is a one-line change).
func setTaskEnv(path string, values map[string]string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	out := string(data)
	for name, value := range values {
		if value == "" {
			continue
		}
		re := regexp.MustCompile(`("name"\s*:\s*"` + regexp.QuoteMeta(name) + `"\s*,\s*"value"\s*:\s*")[^"]*(")`)
		if !re.MatchString(out) {
			return fmt.Errorf("%s: no environment entry %s to set", path, name)
		}
		out = re.ReplaceAllString(out, "${1}"+value+"${2}")
	}
	return os.WriteFile(path, []byte(out), 0o644)
}

func git(ctx context.Context, dir string, args ...string) error {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
