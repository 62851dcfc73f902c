package router

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// TestGRPCPassesThroughHTTPS: a real gRPC client talks to a real gRPC server
// through an HTTPS listener: unary calls, an error status (carried in
// trailers) and a server stream.
func TestGRPCPassesThroughHTTPS(t *testing.T) {
	hs := health.NewServer()
	target := startGRPCBackend(t, hs)
	r := newTestRouter(t)
	ca, st := httpsService(t, r, "grpc", "grpc.test", TargetSpec{ID: "g", Address: target})

	conn, err := grpc.NewClient("passthrough:///"+st.ProductionAddress,
		grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: ca.pool, ServerName: "grpc.test"})))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := healthpb.NewHealthClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	resp, err := client.Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("Check: %v %v", resp, err)
	}
	_, err = client.Check(ctx, &healthpb.HealthCheckRequest{Service: "nope"})
	if status.Code(err) != codes.NotFound {
		t.Fatalf("Check of an unknown service: %v, want NotFound from the trailers", err)
	}
	stream, err := client.Watch(ctx, &healthpb.HealthCheckRequest{Service: "orders"})
	if err != nil {
		t.Fatal(err)
	}
	hs.SetServingStatus("orders", healthpb.HealthCheckResponse_SERVING)
	for _, want := range []healthpb.HealthCheckResponse_ServingStatus{healthpb.HealthCheckResponse_SERVING, healthpb.HealthCheckResponse_NOT_SERVING} {
		// The first update may be SERVICE_UNKNOWN, sent before SetServingStatus.
		for {
			msg, err := stream.Recv()
			if err != nil {
				t.Fatalf("Watch: %v", err)
			}
			if msg.GetStatus() == want {
				break
			}
		}
		hs.SetServingStatus("orders", healthpb.HealthCheckResponse_NOT_SERVING)
	}
	eventually(t, 10*time.Second, "gRPC calls counted", func() bool {
		return sumSeries(t, r, "grpc", "blue").Target2XX >= 2
	})
}

// startGRPCBackend serves hs over HTTP/2 cleartext (gRPC) and answers the
// router's HTTP/1.1 health checks, on one loopback port.
func startGRPCBackend(t *testing.T, hs *health.Server) string {
	t.Helper()
	gs := grpc.NewServer()
	healthpb.RegisterHealthServer(gs, hs)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ProtoMajor == 2 && strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc") {
				gs.ServeHTTP(w, r)
				return
			}
			w.WriteHeader(http.StatusOK)
		}),
		Protocols: &http.Protocols{},
	}
	srv.Protocols.SetHTTP1(true)
	srv.Protocols.SetUnencryptedHTTP2(true)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		gs.Stop()
		_ = srv.Close()
	})
	return ln.Addr().String()
}
