// Package cli owns the command line of the orders-service binary: serving (the
// default) and the smoke test that deployment hooks run.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"example.com/orders-service/internal/app"
	"example.com/orders-service/internal/config"
	"example.com/orders-service/internal/smoke"
)

// Exit statuses.
const (
	ExitOK    = 0
	ExitFail  = 1 // the service stopped on an error, or the smoke test failed
	ExitUsage = 2 // bad arguments or a bad environment variable
)

// Env is what the binary receives from its environment.
type Env struct {
	Version string // set at build time with -ldflags "-X main.version=..."
	Getenv  func(string) string
	Stdout  io.Writer
	Stderr  io.Writer
}

// Run runs the command in args (without the program name) until ctx ends and
// returns the exit status.
func Run(ctx context.Context, args []string, env Env) int {
	if len(args) == 0 || args[0] == "serve" {
		return serve(ctx, env)
	}
	switch args[0] {
	case "smoke":
		return runSmoke(ctx, args[1:], env)
	case "version", "-version", "--version":
		fmt.Fprintln(env.Stdout, env.Version)
		return ExitOK
	default:
		fmt.Fprintf(env.Stderr, "orders-service: unknown command %q (allowed: serve, smoke, version)\n", args[0])
		return ExitUsage
	}
}

func serve(ctx context.Context, env Env) int {
	logger := slog.New(slog.NewJSONHandler(env.Stdout, nil))
	cfg, err := config.FromEnv(env.Getenv)
	if err != nil {
		fmt.Fprintf(env.Stderr, "orders-service: refusing to start, bad environment:\n%v\n", err)
		return ExitUsage
	}
	srv, err := app.Listen(cfg, env.Version, logger)
	if err != nil {
		logger.Error("cannot start", "err", err)
		return ExitFail
	}
	logger.Info("listening", "addr", srv.Addr().String(), "version", env.Version,
		"fail_rate", cfg.FailRate, "latency_ms", cfg.Latency.Milliseconds())
	if err := srv.Serve(ctx); err != nil {
		logger.Error("stopped on error", "err", err)
		return ExitFail
	}
	return ExitOK
}

// revisionVersion is the version a hook's smoke test demands. On one machine a
// hook runs the very build it validates, so it is this binary's own; greenlight's
// hook function on AWS runs a package built once and names the replacement's image
// in GREENLIGHT_IMAGE_TAG, whose tag buildspec.yml sets to the version. A -self
// test checks the service it started, which is this binary.
func revisionVersion(env Env, self bool) string {
	if tag := env.Getenv("GREENLIGHT_IMAGE_TAG"); tag != "" && !self {
		return tag
	}
	return env.Version
}

const smokeUsage = `usage: orders-service smoke [flags] [base-url]

Smoke-tests a running orders-service: waits for /health, checks /version, then
creates, reads and lists orders. The base URL defaults to the variable named by
-url-env (GREENLIGHT_TEST_URL, set by greenlight for deployment hooks).

flags:
`

func runSmoke(ctx context.Context, args []string, env Env) int {
	fs := flag.NewFlagSet("smoke", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() { fmt.Fprint(env.Stderr, smokeUsage); fs.PrintDefaults() }
	urlEnv := fs.String("url-env", "GREENLIGHT_TEST_URL", "environment variable holding the base URL when no argument is given")
	expect := fs.String("expect-version", "", `version /version must report ("self": the version under test, see revisionVersion)`)
	rounds := fs.Int("rounds", 3, "rounds of create, get and list")
	timeout := fs.Duration("timeout", 20*time.Second, "deadline for the whole test, health wait included")
	self := fs.Bool("self", false, "start this binary's service on a free loopback port and smoke-test it")
	if err := fs.Parse(args); err != nil {
		return ExitUsage
	}
	if fs.NArg() > 1 || *rounds < 1 || *timeout <= 0 {
		fs.Usage()
		return ExitUsage
	}
	opts := smoke.Options{
		ExpectVersion: *expect,
		Rounds:        *rounds,
		Timeout:       *timeout,
		PollInterval:  200 * time.Millisecond,
		Client:        &http.Client{Timeout: 10 * time.Second},
		Out:           env.Stdout,
	}
	if opts.ExpectVersion == "self" {
		opts.ExpectVersion = revisionVersion(env, *self)
	}
	if *self {
		return smokeSelf(ctx, opts, env)
	}
	opts.BaseURL = fs.Arg(0)
	if opts.BaseURL == "" {
		opts.BaseURL = env.Getenv(*urlEnv)
	}
	if opts.BaseURL == "" {
		fmt.Fprintf(env.Stderr, "smoke: no base URL: give one as an argument or set %s\n", *urlEnv)
		return ExitUsage
	}
	return reportSmoke(smoke.Run(ctx, opts), opts.BaseURL, env)
}

// smokeSelf checks that this build boots and serves correctly before anything is
// installed: the BeforeInstall hook, when no revision of it runs anywhere yet.
func smokeSelf(ctx context.Context, opts smoke.Options, env Env) int {
	srv, err := app.Listen(config.Config{Host: "127.0.0.1"}, env.Version, slog.New(slog.DiscardHandler))
	if err != nil {
		fmt.Fprintf(env.Stderr, "smoke: start the service in-process: %v\n", err)
		return ExitFail
	}
	serveCtx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(serveCtx) }()

	opts.BaseURL = "http://" + srv.Addr().String()
	smokeErr := smoke.Run(ctx, opts)
	stop()
	if err := <-served; err != nil {
		smokeErr = errors.Join(smokeErr, fmt.Errorf("shut down the in-process service: %w", err))
	}
	return reportSmoke(smokeErr, opts.BaseURL+" (in-process)", env)
}

func reportSmoke(err error, target string, env Env) int {
	if err != nil {
		fmt.Fprintf(env.Stderr, "smoke: FAIL against %s: %v\n", target, err)
		return ExitFail
	}
	fmt.Fprintf(env.Stdout, "smoke: PASS against %s\n", target)
	return ExitOK
}
