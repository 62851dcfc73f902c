package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// signaturePrefix starts X-Hub-Signature-256 values: "sha256=" and the hex HMAC
// of the raw body ("Validating webhook deliveries", docs.github.com).
const signaturePrefix = "sha256="

// Sign returns the X-Hub-Signature-256 value GitHub sends for body.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return signaturePrefix + hex.EncodeToString(m.Sum(nil))
}

// Verify checks header (X-Hub-Signature-256) against body with each secret and
// returns the index of the one that signed it. The comparison is constant-time:
// hmac.Equal on the decoded MACs, whatever the header holds.
func Verify(header string, body []byte, secrets ...[]byte) (int, error) {
	if len(secrets) == 0 {
		return -1, refuse(CodeNoSecret, "no webhook secret is configured, so no delivery can be verified; set GREENLIGHT_WEBHOOK_SECRET or webhook.secret in greenlight.yaml")
	}
	if header == "" {
		return -1, refuse(CodeUnsigned, "the delivery is not signed: no X-Hub-Signature-256 header (set a secret on the GitHub webhook)")
	}
	hexMAC, ok := strings.CutPrefix(header, signaturePrefix)
	got, err := hex.DecodeString(hexMAC)
	if !ok || err != nil || len(got) != sha256.Size {
		return -1, refuse(CodeBadSignature, "X-Hub-Signature-256 is not sha256= followed by 64 hex digits")
	}
	match := -1
	for i, s := range secrets {
		m := hmac.New(sha256.New, s)
		m.Write(body)
		if hmac.Equal(m.Sum(nil), got) && match < 0 {
			match = i // keep going: the time taken does not depend on which secret matched
		}
	}
	if match < 0 {
		return -1, refuse(CodeBadSignature, "X-Hub-Signature-256 does not match the payload: the webhook's secret differs from greenlight's, or the payload was altered")
	}
	return match, nil
}
