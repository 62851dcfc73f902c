package expr

import (
	"math"
	"testing"
)

// FuzzParse checks that the parser never panics, that every expression it accepts
// prints to a form that parses back to the same tree, and that evaluation yields a
// finite number or no datapoint.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"100 * errors / requests", "IF(requests > 0, 100 * e / requests, 0)",
		"MAX([a, b]) - MIN(a, b, 3)", "NOT a > 1 AND b <= 2 || c != 3", "-2^-3^2",
		"ABS(CEIL(x) - FLOOR(y))", "1e3 + .5", "((a))", "a == b", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		n, err := Parse(src)
		if err != nil {
			if _, ok := err.(*SyntaxError); !ok {
				t.Fatalf("Parse(%q) returned %T, want *SyntaxError", src, err)
			}
			return
		}
		printed := n.String()
		again, err := Parse(printed)
		if err != nil {
			t.Fatalf("Parse(%q) printed %q, which does not parse: %v", src, printed, err)
		}
		if again.String() != printed {
			t.Fatalf("round trip changed %q to %q", printed, again.String())
		}
		env := func(id string) (float64, bool) { return float64(len(id)%4) - 1, len(id)%5 != 0 }
		v1, ok1 := n.Eval(env)
		v2, ok2 := again.Eval(env)
		if ok1 != ok2 || (ok1 && v1 != v2) {
			t.Fatalf("%q evaluates to %v,%v but its printed form to %v,%v", src, v1, ok1, v2, ok2)
		}
		if ok1 && (math.IsNaN(v1) || math.IsInf(v1, 0)) {
			t.Fatalf("%q evaluated to non-finite %v with ok", src, v1)
		}
	})
}
