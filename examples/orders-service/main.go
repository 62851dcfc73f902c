// Command orders-service is the example service greenlight deploys: a small JSON
// API for orders, and its own smoke test (`orders-service smoke`).
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"example.com/orders-service/internal/cli"
)

// version is the commit the binary was built from, set by the buildspec with
// -ldflags "-X main.version=$IMAGE_TAG".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	code := cli.Run(ctx, os.Args[1:], cli.Env{
		Version: version,
		Getenv:  os.Getenv,
		Stdout:  os.Stdout,
		Stderr:  os.Stderr,
	})
	stop()
	os.Exit(code)
}
