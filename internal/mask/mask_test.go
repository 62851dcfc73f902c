package mask

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestMaskingWriterMasksSecretsSplitAcrossWrites(t *testing.T) {
	var out bytes.Buffer
	w := NewMaskingWriter(&out, []string{"hunter2", "-----BEGIN KEY-----\nAAAAsecretline\n-----END KEY-----\n"})
	for _, chunk := range []string{"pass=hun", "ter2 ok\n", "key:\n-----BEGIN KEY-----\nAAAAsec", "retline\n", "-----END KEY-----\n", "tail hunter", "2"} {
		if _, err := w.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	want := "pass=*** ok\nkey:\n***\n***\n***\ntail ***"
	if got != want {
		t.Fatalf("masked output:\n%q\nwant\n%q", got, want)
	}
}

func TestMaskingWriterPassesLinesOnAtOnce(t *testing.T) {
	var out bytes.Buffer
	w := NewMaskingWriter(&out, []string{"s3cr3t"})
	_, _ = w.Write([]byte("line one\npartial s3c"))
	// Complete lines go out at once; of the rest, all but what could be the
	// start of the secret.
	if got := out.String(); !strings.HasPrefix(got, "line one\npartia") || strings.Contains(got, "s3c") {
		t.Fatalf("after a write: %q", got)
	}
	_, _ = w.Write([]byte("r3t!\n"))
	if out.String() != "line one\npartial ***!\n" {
		t.Fatalf("got %q", out.String())
	}
}

func TestMaskerIgnoresBlankSecrets(t *testing.T) {
	m := NewMasker([]string{"", "  ", "\n\n", "x\n\ny"})
	if got := m.Mask("a x b y  c"); got != "a *** b ***  c" {
		t.Fatalf("Mask = %q", got)
	}
}

// FuzzMaskingWriter: however the output is cut into writes, no secret line
// survives in what comes out.
func FuzzMaskingWriter(f *testing.F) {
	f.Add("token=abc123xyz\nmore abc123xyz", "abc123xyz", uint8(3))
	f.Add("ab\naab\nabab", "ab", uint8(1))
	f.Add("multi\nline-one\nline-two\n", "line-one\nline-two", uint8(5))
	f.Fuzz(func(t *testing.T, text, secret string, step uint8) {
		var out bytes.Buffer
		w := NewMaskingWriter(&out, []string{secret})
		n := int(step%16) + 1
		for i := 0; i < len(text); i += n {
			_, _ = w.Write([]byte(text[i:min(i+n, len(text))]))
		}
		w.Close()
		for _, line := range strings.Split(secret, "\n") {
			line = strings.TrimRight(line, "\r")
			if strings.TrimSpace(line) == "" || strings.Contains(line, "*") {
				continue
			}
			if strings.Contains(out.String(), line) {
				t.Fatalf("secret line %q in output %q of input %q", line, out.String(), text)
			}
		}
	})
}

func TestErrHidesSecretsAndKeepsTheChain(t *testing.T) {
	cause := errors.New("open /run/s3cr3t-value: permission denied")
	err := fmt.Errorf("copy source: %w", cause)
	masked := Err(err, NewMasker([]string{"s3cr3t-value"}))
	if masked.Error() != "copy source: open /run/***: permission denied" {
		t.Errorf("masked error %q", masked)
	}
	if !errors.Is(masked, cause) {
		t.Error("the masked error no longer wraps its cause")
	}
	if Err(nil, NewMasker(nil)) != nil {
		t.Error("Err(nil) is not nil")
	}
}
