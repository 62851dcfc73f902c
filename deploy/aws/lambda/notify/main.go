// Command notify is the Slack notifier Lambda function of deploy/aws
// (provided.al2023, arm64): subscribed to the notification rules' SNS topic, it
// posts each notification to Slack as greenlight serve does (see
// internal/awsnotify). Build it with `go run ./deploy/aws/lambda/build`.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/greenlight-ci/greenlight/internal/awsnotify"
)

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(logger); err != nil {
		logger.Error("notifier cannot start", "err", err)
		os.Exit(1)
	}
}

func run(logger *slog.Logger) error {
	routes, console, err := awsnotify.FromEnvironment(os.Getenv)
	if err != nil {
		return err
	}
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		return err
	}
	h := &awsnotify.Handler{Routes: routes, ConsoleURL: console, Logger: logger,
		Secrets: secretsmanager.NewFromConfig(cfg), Parameters: ssm.NewFromConfig(cfg)}
	lambda.Start(h.Handle)
	return nil
}
