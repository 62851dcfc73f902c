package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/greenlight-ci/greenlight/internal/access"
	"github.com/greenlight-ci/greenlight/internal/daemon"
	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/provider"
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
		Long: `Run one or several pipelines as a long-running service, on 127.0.0.1:8080 unless
--listen says otherwise. Executions start on a GitHub push (POST /webhooks/github,
signed with GREENLIGHT_WEBHOOK_SECRET or webhook.secret of greenlight.yaml) or,
for a pipeline without a webhook secret, when polling finds a new commit on the
source branch. The same address serves the API (/api/v1, with a token from
greenlight tokens create), the web console (/), Prometheus metrics (/metrics)
and /healthz; at start, serve prints these URLs and what starts each pipeline.
Executions left in progress resume at start; SIGTERM or Ctrl-C stops taking
work, leaves what runs to be resumed at the next start, and exits 0 (production
keeps serving through the agent). The state directory is the first definition's.`,
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
	log := slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if err := createStateDir(dir, log); err != nil {
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
	srv := serve.New(serve.Options{Definitions: defs, StateDir: dir, DB: db, Site: daemon.NewSite(dir, log),
		PollInterval: opts.pollInterval, BaseURL: "http://" + ln.Addr().String(), Logger: log})
	tokens, err := activeTokens(ctx, db)
	if err != nil {
		return err
	}
	printServing(ctx, a.stdout, ln.Addr().String(), dir, defs, opts.pollInterval, tokens)
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

// activeTokens counts the tokens the API and the console accept now.
func activeTokens(ctx context.Context, db *store.DB) (int, error) {
	ts, err := store.Access{DB: db}.Tokens(ctx)
	if err != nil {
		return 0, fmt.Errorf("read tokens: %w", err)
	}
	n, now := 0, time.Now()
	for _, t := range ts {
		if t.Status(now) == access.TokenActive {
			n++
		}
	}
	return n, nil
}

// printServing says where serve listens, where GitHub delivers, and what
// starts each pipeline: signed pushes, polling, or only a request. Beyond
// loopback it says that it speaks plain HTTP; without an active token, that
// nobody gets in yet.
func printServing(ctx context.Context, w io.Writer, addr, stateDir string, defs []*manifest.Definition, poll time.Duration, tokens int) {
	base := "http://" + addr
	fmt.Fprintf(w, "greenlight serving %s on %s (state %s)\n", plural(len(defs), "pipeline"), base, stateDir)
	fmt.Fprintf(w, "  GitHub webhook  POST %s/webhooks/github (content type application/json, signed with the webhook secret)\n", base)
	fmt.Fprintf(w, "  API             %s/api/v1 (a token: greenlight tokens create NAME --role viewer|approver|operator|admin)\n", base)
	fmt.Fprintf(w, "  web console     %s/    metrics %s/metrics    health %s/healthz\n", base, base, base)
	if host, _, err := net.SplitHostPort(addr); err == nil && !net.ParseIP(host).IsLoopback() {
		fmt.Fprintf(w, "  listening beyond loopback on %s over plain HTTP: API tokens, console session cookies and webhook payloads cross the network unencrypted; "+
			"other machines should reach it through a TLS proxy (greenlight router with an HTTPS listener, or one that sets X-Forwarded-Proto: https)\n", addr)
	}
	if tokens == 0 {
		fmt.Fprintln(w, "  no active API token: the API and the console refuse everyone until one is created (greenlight tokens create NAME --role viewer|approver|operator|admin)")
	}
	fmt.Fprintln(w, "pipelines:")
	for _, def := range defs {
		fmt.Fprintf(w, "  %s  %s  %s\n", def.Pipeline.Name, def.Path, startedBy(ctx, def, poll))
	}
}

// startedBy says what starts a pipeline under serve, as serve decides it: a
// webhook secret takes GitHub's deliveries; without one, its Git sources are
// polled unless DetectChanges is false.
func startedBy(ctx context.Context, def *manifest.Definition, poll time.Duration) string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second) // a secrets-manager source answers over the network
	defer cancel()
	_, err := provider.Secrets{Def: def}.WebhookSecret(ctx)
	switch {
	case err == nil && def.Webhook != nil:
		return "starts on signed GitHub deliveries (secret: " + def.Webhook.Secret.String() + ")"
	case err == nil:
		return "starts on signed GitHub deliveries (secret: $" + provider.WebhookSecretEnv + ")"
	case !errors.Is(err, provider.ErrNoWebhookSecret):
		return "takes no deliveries and is not polled: " + err.Error()
	}
	var polled []string
	for _, a := range serve.PolledSources(def.Pipeline) {
		polled = append(polled, a.Name)
	}
	if len(polled) == 0 {
		return "starts only when asked (no webhook secret, and no source to poll)"
	}
	return fmt.Sprintf("polls source %s every %s (no webhook secret: $%s or webhook.secret)", strings.Join(polled, ", "), poll, provider.WebhookSecretEnv)
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
