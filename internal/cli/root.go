// Package cli is greenlight's command line: one file per command, each a thin layer
// that loads what the command needs, calls the domain packages and prints human or
// JSON (one object per line) output.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"
)

// Main runs the command line and returns the process exit status.
func Main(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	app := &app{stdout: os.Stdout, stderr: os.Stderr}
	root := app.rootCommand()
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var exit exitError
	if errors.As(err, &exit) {
		return exit.code
	}
	fmt.Fprintln(app.stderr, "greenlight:", err)
	return 1
}

// exitError ends a command with a status and nothing more to print (the command
// already said why).
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// app holds the global flags and output streams every command shares.
type app struct {
	file     string // greenlight.yaml
	stateDir string
	backend  string // local or aws
	server   string // a greenlight serve URL ("": $GREENLIGHT_SERVER)
	token    string // its API token ("": $GREENLIGHT_TOKEN)
	json     bool
	stdout   io.Writer
	stderr   io.Writer
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "greenlight",
		Short: "Commit to production with blue-green deployments, zero downtime and automatic rollback",
		Long: `greenlight runs a CodePipeline-shaped pipeline on this machine: source, build, test,
staging, approval and a blue-green production deployment with automatic rollback,
from the files AWS would take (buildspec.yml, appspec.yaml, taskdef.json) plus
greenlight.yaml.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	f := root.PersistentFlags()
	f.StringVarP(&a.file, "file", "f", "greenlight.yaml", "pipeline definition")
	f.StringVar(&a.stateDir, "state-dir", "", "state directory (default: .greenlight beside the definition, or $GREENLIGHT_STATE_DIR)")
	f.BoolVar(&a.json, "json", false, "print one JSON object per line")
	f.StringVar(&a.backend, "backend", "", "where the pipeline runs: local (this machine) or aws (CodePipeline and CodeDeploy, as deploy/aws creates them); default $GREENLIGHT_BACKEND, else local")
	f.StringVar(&a.server, "server", "", "talk to a running greenlight serve at this URL (default $GREENLIGHT_SERVER) instead of this machine's state directory")
	f.StringVar(&a.token, "token", "", "API token for --server (default $GREENLIGHT_TOKEN)")
	root.AddCommand(
		a.validateCommand(),
		a.renderCommand(),
		a.runCommand(),
		a.demoCommand(),
		a.deployCommand(),
		a.rollbackCommand(),
		a.deploymentsCommand(),
		a.approveCommand(true),
		a.approveCommand(false),
		a.statusCommand(),
		a.historyCommand(),
		a.logsCommand(),
		a.alarmsCommand(),
		a.resumeCommand(),
		a.stopCommand(),
		a.retryCommand(),
		a.agentCommand(),
		a.controllerCommand(),
		a.downCommand(),
		a.tokensCommand(),
		a.auditCommand(),
		a.notificationsCommand(),
		a.gcCommand(),
		a.serveCommand(),
	)
	return root
}

// stateDirectory resolves the state directory: the flag, the environment, or
// .greenlight beside the definition.
func (a *app) stateDirectory() (string, error) {
	dir := a.stateDir
	if dir == "" {
		dir = os.Getenv("GREENLIGHT_STATE_DIR")
	}
	if dir == "" {
		dir = filepath.Join(filepath.Dir(a.file), ".greenlight")
	}
	return filepath.Abs(dir)
}
