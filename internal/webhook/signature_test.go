package webhook

import (
	"testing"
)

// GitHub's published test vector ("Validating webhook deliveries", "Testing the
// webhook payload validation").
func TestGitHubTestVector(t *testing.T) {
	secret, body := []byte("It's a Secret to Everybody"), []byte("Hello, World!")
	const want = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
	if got := Sign(secret, body); got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
	if i, err := Verify(want, body, []byte("another secret"), secret); err != nil || i != 1 {
		t.Fatalf("Verify = %d, %v; want the second secret", i, err)
	}
	for _, c := range []struct {
		header string
		body   []byte
		code   Code
	}{
		{"", body, CodeUnsigned},
		{"sha1=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17", body, CodeBadSignature},
		{"sha256=757107ea", body, CodeBadSignature},
		{"sha256=zz7107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17", body, CodeBadSignature},
		{want, []byte("Hello, World?"), CodeBadSignature},
		{"sha256=857107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17", body, CodeBadSignature},
	} {
		if _, err := Verify(c.header, c.body, secret); CodeOf(err) != c.code {
			t.Errorf("Verify(%q, %q) = %v, want %s", c.header, c.body, err, c.code)
		}
	}
	if _, err := Verify(want, body); CodeOf(err) != CodeNoSecret {
		t.Errorf("no secrets: %v", err)
	}
}
