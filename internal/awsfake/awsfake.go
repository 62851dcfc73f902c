// Package awsfake stands in for AWS service endpoints on loopback, for tests that
// drive AWS through the real SDK clients: it speaks the two wire protocols those
// clients use here — JSON 1.1 (POST /, the operation in X-Amz-Target: CodePipeline,
// CodeDeploy, ECS, CodeBuild, CloudWatch Logs, Secrets Manager, SSM) and Smithy
// RPC v2 CBOR (POST /service/S/operation/O: CloudWatch) — checks that every
// request is shaped and SigV4-signed as the SDK's serializers write it, records
// it, and answers with what the test registered for the operation. An operation
// nothing is registered for is refused with UnknownOperationException, as AWS
// refuses a target it does not have.
//
// Handlers see requests and write answers as plain JSON-shaped values (maps,
// slices, strings, numbers), whatever the protocol; Time marks a timestamp.
package awsfake

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// The credentials and region every client of a Server signs with.
const (
	AccessKey = "AKIDTEST"
	SecretKey = "test-secret"
	Region    = "eu-west-1"
	Account   = "123456789012"
)

// Handler answers one call: the output (a JSON-shaped value; nil for {}), or an
// *Error.
type Handler func(in map[string]any) (any, error)

// Error is an AWS error answer: the HTTP status and the error's type (the shape
// name the SDK turns into a typed error, e.g. ThrottlingException).
type Error struct {
	Status  int
	Type    string
	Message string
}

func (e *Error) Error() string { return e.Type + ": " + e.Message }

// Call is one request the server received.
type Call struct {
	Op    string // "<service target prefix>.<operation>", e.g. CodePipeline_20150709.GetPipelineState
	Input map[string]any
	At    time.Time
}

// Server is a fake AWS endpoint on loopback, closed when the test ends.
type Server struct {
	URL string

	t        testing.TB
	srv      *httptest.Server
	mu       sync.Mutex
	handlers map[string]Handler
	calls    []Call
}

// New starts a server for t.
func New(t testing.TB) *Server {
	s := &Server{t: t, handlers: map[string]Handler{}}
	s.srv = httptest.NewServer(s)
	t.Cleanup(s.srv.Close)
	s.URL = s.srv.URL
	return s
}

// Handle registers h for op (replacing what was there).
func (s *Server) Handle(op string, h Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handlers[op] = h
}

// Answer makes op always answer out.
func (s *Server) Answer(op string, out any) {
	s.Handle(op, func(map[string]any) (any, error) { return out, nil })
}

// Fail makes op always fail with e.
func (s *Server) Fail(op string, e *Error) {
	s.Handle(op, func(map[string]any) (any, error) { return nil, e })
}

// Calls returns the calls of op so far, in order.
func (s *Server) Calls(op string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if c.Op == op {
			out = append(out, c)
		}
	}
	return out
}

// Config is an SDK configuration whose clients reach this server: static
// credentials, the region, the endpoint, and the SDK's standard retryer with
// backoffs short enough for tests (how many attempts stays the SDK's).
func (s *Server) Config() aws.Config {
	return aws.Config{
		Region:       Region,
		Credentials:  credentials.NewStaticCredentialsProvider(AccessKey, SecretKey, ""),
		BaseEndpoint: aws.String(s.URL),
		HTTPClient:   s.srv.Client(),
		Retryer: func() aws.Retryer {
			return retry.AddWithMaxBackoffDelay(retry.NewStandard(), 20*time.Millisecond)
		},
	}
}

// Env is the environment that points a program's default SDK configuration at
// this server (for functions run as their real binary).
func (s *Server) Env(services ...string) []string {
	env := []string{"AWS_REGION=" + Region, "AWS_ACCESS_KEY_ID=" + AccessKey, "AWS_SECRET_ACCESS_KEY=" + SecretKey,
		"AWS_EC2_METADATA_DISABLED=true"}
	for _, svc := range services {
		env = append(env, "AWS_ENDPOINT_URL_"+strings.ToUpper(svc)+"="+s.URL)
	}
	return env
}

// ServeHTTP checks, records and answers one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p, op, err := protocolOf(r)
	if err != nil {
		s.t.Errorf("%s %s: %v", r.Method, r.URL.Path, err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.checkSignature(r, op)
	data, _ := io.ReadAll(r.Body)
	in, err := p.decode(data)
	if err != nil {
		s.t.Errorf("%s: body: %v", op, err)
	}
	s.mu.Lock()
	s.calls = append(s.calls, Call{Op: op, Input: in, At: time.Now()})
	h, ok := s.handlers[op]
	s.mu.Unlock()
	if !ok {
		p.write(w, nil, &Error{Status: http.StatusBadRequest, Type: "UnknownOperationException", Message: "not faked: " + op})
		return
	}
	out, err := h(in)
	var ae *Error
	if err != nil && !errors.As(err, &ae) {
		ae = &Error{Status: http.StatusInternalServerError, Type: "InternalFailure", Message: err.Error()}
	}
	p.write(w, out, ae)
}

// signingNames are the SigV4 service names of the target prefixes.
var signingNames = map[string]string{
	"CodePipeline_20150709":              "codepipeline",
	"CodeDeploy_20141006":                "codedeploy",
	"AmazonEC2ContainerServiceV20141113": "ecs",
	"CodeBuild_20161006":                 "codebuild",
	"Logs_20140328":                      "logs",
	"GraniteServiceVersion20100801":      "monitoring",
	"secretsmanager":                     "secretsmanager",
	"AmazonSSM":                          "ssm",
}

func (s *Server) checkSignature(r *http.Request, op string) {
	prefix, _, _ := strings.Cut(op, ".")
	scope := "/" + Region + "/"
	if name, ok := signingNames[prefix]; ok {
		scope += name + "/aws4_request"
	}
	auth := r.Header.Get("Authorization")
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential="+AccessKey+"/") || !strings.Contains(auth, scope) {
		s.t.Errorf("%s: not signed with SigV4 for %s: %q", op, scope, auth)
	}
}

// Time is a timestamp in an answer: epoch seconds in JSON, tag 1 in CBOR, as
// the SDK's deserializers read them.
type Time time.Time

// MarshalJSON writes epoch seconds with milliseconds.
func (t Time) MarshalJSON() ([]byte, error) {
	return json.Marshal(float64(time.Time(t).UnixMilli()) / 1000)
}
