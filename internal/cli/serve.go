package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/greenlight-ci/greenlight/internal/daemon"
	"github.com/greenlight-ci/greenlight/internal/serve"
	"github.com/greenlight-ci/greenlight/internal/store"
)

type serveOptions struct {
	files        []string
	dir          string
	listen       string
	pollInterval time.Duration
}

func (a *app) serveCommand() *cobra.Command {
	var opts serveOptions
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the pipelines as a service: GitHub webhooks, polling, notifications, metrics",
		Long: `Run one or several pipelines as a long-running service. Executions start on a
GitHub push (POST /webhooks/github, signed with GREENLIGHT_WEBHOOK_SECRET or
webhook.secret of greenlight.yaml) or, for a pipeline without a webhook secret,
when polling finds a new commit on the source branch. Executions left in progress
resume at start; SIGTERM or Ctrl-C stops taking work, leaves what runs to be
resumed at the next start, and exits 0 (production keeps serving through the
agent). The state directory is the first definition's.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.serve(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&opts.files, "file", "f", nil, "pipeline definition (repeatable; default greenlight.yaml unless --dir is given)")
	f.StringVar(&opts.dir, "dir", "", "a directory of repositories, each with its greenlight.yaml")
	f.StringVar(&opts.listen, "listen", "127.0.0.1:8080", "address to serve HTTP on (loopback unless you say otherwise)")
	f.DurationVar(&opts.pollInterval, "poll-interval", time.Minute, "how often sources without a webhook secret are polled")
	return cmd
}

func (a *app) serve(ctx context.Context, opts serveOptions) error {
	if len(opts.files) == 0 && opts.dir == "" {
		opts.files = []string{a.file}
	}
	defs, err := serve.Load(opts.files, opts.dir)
	if err != nil {
		return err
	}
	if opts.pollInterval <= 0 {
		return fmt.Errorf("--poll-interval %s: want a positive duration", opts.pollInterval)
	}
	a.file = defs[0].Path // the state directory is the first definition's
	dir, err := a.stateDirectory()
	if err != nil {
		return err
	}
	if err := createStateDir(dir); err != nil {
		return err
	}
	db, err := store.Open(ctx, filepath.Join(dir, "state.db"))
	if err != nil {
		return err
	}
	defer db.Close()
	ln, err := net.Listen("tcp", opts.listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	log := slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	srv := serve.New(serve.Options{Definitions: defs, StateDir: dir, DB: db, Site: daemon.NewSite(dir, log),
		PollInterval: opts.pollInterval, BaseURL: "http://" + ln.Addr().String(), Logger: log})
	fmt.Fprintf(a.stdout, "greenlight serving %d pipeline(s) on http://%s (state %s)\n", len(defs), ln.Addr(), dir)
	for _, def := range defs {
		fmt.Fprintf(a.stdout, "  %s  %s\n", def.Pipeline.Name, def.Path)
	}
	api, err := srv.API()
	if err != nil {
		return err
	}
	if err := srv.Run(ctx, ln, api, api.Close); err != nil {
		return err
	}
	fmt.Fprintln(a.stdout, "greenlight serve stopped; executions in progress resume at the next start")
	return nil
}
