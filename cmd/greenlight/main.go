// Command greenlight takes a commit to production: see `greenlight --help`.
package main

import (
	"os"

	"github.com/greenlight-ci/greenlight/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:]))
}
