package awsrender

import (
	"fmt"
	"testing"

	"github.com/greenlight-ci/greenlight/internal/manifest"
)

func TestScratch(t *testing.T) {
	def, err := manifest.Load("../../examples/orders-service/greenlight.yaml")
	if err != nil {
		t.Fatal(err)
	}
	res, err := Render(def, def.Dir)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := res.Stack.TFVars()
	fmt.Println(string(b))
	for _, f := range res.Findings {
		fmt.Println(f)
	}
}
