// Command build writes the Lambda packages of deploy/aws, cross-compiled for
// provided.al2023 on arm64: the lifecycle-hook function (bootstrap) with the
// programs its commands run, and the Slack notifier. From the repository's root:
//
//	go run ./deploy/aws/lambda/build -program dist/orders-service=./examples/orders-service
//
// writes deploy/aws/build/hook.zip and deploy/aws/build/notify.zip, which the
// stack's hook_package and notify_package name.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/greenlight-ci/greenlight/internal/lambdapkg"
)

// programFlags collects -program NAME=DIR: the Go main package in DIR (its own
// module or this one), built into the package as NAME.
type programFlags []lambdapkg.Program

func (p *programFlags) String() string { return fmt.Sprint(*p) }

func (p *programFlags) Set(v string) error {
	name, dir, ok := strings.Cut(v, "=")
	if !ok || name == "" || dir == "" || strings.HasPrefix(name, "/") || name == "bootstrap" {
		return fmt.Errorf("want NAME=DIR, NAME a relative path in the package other than bootstrap, like dist/orders-service=./examples/orders-service")
	}
	*p = append(*p, lambdapkg.Program{Name: name, Pkg: ".", Dir: dir})
	return nil
}

func main() {
	out := flag.String("o", "deploy/aws/build/hook.zip", "the hook package to write")
	notifyOut := flag.String("notify-o", "deploy/aws/build/notify.zip", "the Slack notifier's package to write")
	arch := flag.String("arch", "arm64", "the functions' architecture (arm64 or amd64)")
	var programs programFlags
	flag.Var(&programs, "program", "NAME=DIR: also build the main package in DIR into the package as NAME (repeatable); the hook commands of greenlight.yaml run these")
	flag.Parse()
	if flag.NArg() > 0 || (*arch != "arm64" && *arch != "amd64") {
		flag.Usage()
		os.Exit(2)
	}
	hook := lambdapkg.Program{Name: "bootstrap", Pkg: "./deploy/aws/lambda/hook", Tags: []string{"lambda.norpc"}}
	notifier := lambdapkg.Program{Name: "bootstrap", Pkg: "./deploy/aws/lambda/notify", Tags: []string{"lambda.norpc"}}
	for _, pkg := range []struct {
		out      string
		programs []lambdapkg.Program
	}{{*out, append([]lambdapkg.Program{hook}, programs...)}, {*notifyOut, []lambdapkg.Program{notifier}}} {
		if err := lambdapkg.Build(context.Background(), pkg.out, *arch, pkg.programs); err != nil {
			fmt.Fprintln(os.Stderr, "build:", err)
			os.Exit(1)
		}
		fmt.Println("wrote", pkg.out)
	}
}
