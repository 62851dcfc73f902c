// Command proxy runs the router in-process for the benchmark: router.New, one
// service whose production listener (HTTPS with -cert and -key) forwards to
// one target, until SIGINT or SIGTERM. It prints the listener's address on
// stdout once the target is healthy.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/greenlight-ci/greenlight/internal/router"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "production listener address")
	target := flag.String("target", "", "backend address host:port")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	certFile := flag.String("cert", "", "PEM certificate: the listener speaks HTTPS")
	keyFile := flag.String("key", "", "PEM private key of -cert")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if *cpuProfile != "" {
		stopProfile, err := startCPUProfile(*cpuProfile)
		if err != nil {
			log.Error("proxy", "err", err)
			os.Exit(1)
		}
		defer stopProfile()
	}
	listener := router.ListenerSpec{}
	if *certFile != "" {
		listener = router.ListenerSpec{Protocol: router.ProtocolHTTPS, Certificates: []router.CertificateSpec{{CertFile: *certFile, KeyFile: *keyFile}}}
	}
	if err := run(*listen, *target, listener, log); err != nil {
		log.Error("proxy", "err", err)
		os.Exit(1)
	}
}

func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("create cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("start cpu profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

func run(listen, target string, listener router.ListenerSpec, log *slog.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	r := router.New(router.Options{Logger: log})
	st, err := r.Apply(router.ServiceSpec{
		Name:               "bench",
		ProductionListener: listen,
		Listeners:          router.ListenerSpecs{Production: listener},
		HealthCheck: router.HealthCheck{
			Path:               "/",
			Interval:           router.Duration(time.Second),
			Timeout:            router.Duration(500 * time.Millisecond),
			HealthyThreshold:   1,
			UnhealthyThreshold: 3,
		},
		DeregistrationDelay: router.Duration(5 * time.Second),
		TargetGroups: []router.TargetGroupSpec{{
			Name:    "bench-1",
			Targets: []router.TargetSpec{{ID: "backend", Address: target}},
		}},
		ProductionWeights: map[string]int{"bench-1": 100},
	})
	if err != nil {
		return fmt.Errorf("apply bench service: %w", err)
	}
	if err := waitHealthy(ctx, r); err != nil {
		return err
	}
	fmt.Println(st.ProductionAddress)
	<-ctx.Done()
	closeCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.Close(closeCtx); err != nil {
		return fmt.Errorf("close router: %w", err)
	}
	return nil
}

func waitHealthy(ctx context.Context, r *router.Router) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		st, _ := r.Status("bench")
		if st.TargetGroups[0].Targets[0].State == router.TargetHealthy {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return fmt.Errorf("target never became healthy")
}
