// Package integration holds the service's integration tests, built only with
// `-tags integration`: they run the real binary (or reach $ORDERS_URL) over real
// HTTP, and build and run the Docker image when an engine answers.
//
//	go test -tags integration ./integration/...
//
// Environment: ORDERS_URL tests a running deployment (e.g. staging) instead of a
// local process for the API checks; ORDERS_BIN tests that binary instead of
// building one; EXPECT_VERSION is the version /version must report.
package integration
