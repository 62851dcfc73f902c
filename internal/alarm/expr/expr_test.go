package expr

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

func vars(m map[string]float64) func(string) (float64, bool) {
	return func(id string) (float64, bool) {
		v, ok := m[id]
		return v, ok
	}
}

func TestEval(t *testing.T) {
	env := map[string]float64{"errors": 3, "requests": 60, "zero": 0, "m1": 2, "m_2": -4.5, "lat": 0.25}
	tests := []struct {
		src  string
		want float64
		ok   bool
	}{
		{"100 * errors / requests", 5, true},
		{"errors / requests * 100", 5, true},
		{"100*(errors/requests)", 5, true},
		{"1 + 2 * 3", 7, true},
		{"(1 + 2) * 3", 9, true},
		{"10 - 4 - 3", 3, true},
		{"24 / 4 / 3", 2, true},
		{"-m1", -2, true},
		{"--m1", 2, true},
		{"-2^2", -4, true},
		{"2^3^2", 512, true},
		{"2^-1", 0.5, true},
		{"(-2)^2", 4, true},
		{"1e3 + .5 + 2.", 1002.5, true},
		{"1.5E-1", 0.15, true},
		{"ABS(m_2)", 4.5, true},
		{"CEIL(lat)", 1, true},
		{"FLOOR(m_2)", -5, true},
		{"MIN(m1, m_2, 7)", -4.5, true},
		{"MAX(m1, m_2, 7)", 7, true},
		{"MAX([m1, m_2])", 2, true},
		{"MIN([m1, absent])", 2, true},
		{"MAX(absent, other)", 0, false},
		{"IF(requests > 0, 100 * errors / requests, 0)", 5, true},
		{"IF(zero > 0, 100 * errors / zero, 0)", 0, true},
		{"IF(zero, 1, 2)", 2, true},
		{"IF(m_2, 1, 2)", 1, true},
		{"IF(absent, 1, 2)", 0, false},
		{"IF(1, 5, absent)", 5, true},
		{"errors == 3", 1, true},
		{"errors != 3", 0, true},
		{"errors < 3", 0, true},
		{"errors <= 3", 1, true},
		{"errors > 2.5", 1, true},
		{"errors >= 4", 0, true},
		{"errors > 1 AND requests > 100", 0, true},
		{"errors > 1 && requests > 10", 1, true},
		{"errors > 5 OR requests > 10", 1, true},
		{"errors > 5 || requests > 100", 0, true},
		{"NOT errors > 5", 1, true},
		{"NOT NOT zero", 0, true},
		{"1 OR 0 AND 0", 1, true}, // AND binds tighter than OR
		{"errors / zero", 0, false},
		{"0 / zero", 0, false},
		{"absent + 1", 0, false},
		{"ABS(absent)", 0, false},
		{"10^400", 0, false},
		{"(0-1)^0.5", 0, false},
		{"1e308 * 10", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.src, func(t *testing.T) {
			n, err := Parse(tc.src)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			got, ok := n.Eval(vars(env))
			if ok != tc.ok || (ok && math.Abs(got-tc.want) > 1e-12) {
				t.Fatalf("Eval = %v, %v; want %v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestEvalNonFiniteInputIsMissing(t *testing.T) {
	n, err := Parse("x * 0")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if got, ok := n.Eval(vars(map[string]float64{"x": v})); ok {
			t.Errorf("x=%v: Eval = %v, true; want no datapoint", v, got)
		}
	}
}

func TestRefs(t *testing.T) {
	n, err := Parse("IF(requests > 0, 100 * (errors + e2) / requests, errors)")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"requests", "errors", "e2"}
	if got := n.Refs(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Refs = %v, want %v", got, want)
	}
	n, _ = Parse("1 + 2")
	if got := n.Refs(); len(got) != 0 {
		t.Fatalf("Refs of a constant = %v, want none", got)
	}
}

func TestString(t *testing.T) {
	tests := map[string]string{
		"100*errors/requests":             "100 * errors / requests",
		"100*(errors/requests)":           "100 * (errors / requests)",
		"(a+b)*c":                         "(a + b) * c",
		"a-(b-c)":                         "a - (b - c)",
		"(a-b)-c":                         "a - b - c",
		"-(a+b)":                          "-(a + b)",
		"(-a)^2":                          "(-a)^2",
		"a^(b^c)":                         "a^b^c",
		"(a^b)^c":                         "(a^b)^c",
		"a^-b":                            "a^-b",
		"(a > b) == c":                    "(a > b) == c",
		"a && b || c":                     "a AND b OR c",
		"a AND (b OR c)":                  "a AND (b OR c)",
		"NOT (a AND b)":                   "NOT (a AND b)",
		"a > (NOT b)":                     "a > (NOT b)",
		"max([a,b])":                      "", // error, checked elsewhere
		"MAX([a,b])":                      "MAX(a, b)",
		"IF(a>0,b/a,0)":                   "IF(a > 0, b / a, 0)",
		"1000000000000000000000000 + 0.5": "1e+24 + 0.5",
	}
	for src, want := range tests {
		if want == "" {
			continue
		}
		n, err := Parse(src)
		if err != nil {
			t.Errorf("Parse(%q): %v", src, err)
			continue
		}
		if got := n.String(); got != want {
			t.Errorf("Parse(%q).String() = %q, want %q", src, got, want)
		}
		again, err := Parse(n.String())
		if err != nil || again.String() != want {
			t.Errorf("round trip of %q: %v, %v", want, again, err)
		}
	}
}

func TestSyntaxErrors(t *testing.T) {
	tests := []struct {
		src    string
		offset int
		msg    string
	}{
		{"", 0, "empty expression"},
		{"   ", 0, "empty expression"},
		{"100 * ", 6, "expected a number, a metric id"},
		{"(a + b", 6, `expected ")" to close the parenthesis`},
		{"a + b)", 5, `unexpected ")"`},
		{"a b", 2, "unexpected metric id b"},
		{"Errors / requests", 0, `"Errors" is not a metric id`},
		{"_x + 1", 0, "must start with a lowercase letter"},
		{"a = b", 2, `compare with "=="`},
		{"!a", 0, `use "!=" or NOT`},
		{"a & b", 2, "use AND (&&) or OR (||)"},
		{"a % b", 2, `unexpected character '%'`},
		{"a < b < c", 6, "comparisons do not chain"},
		{"abs(a)", 0, "function names are uppercase: ABS"},
		{"RATE(a)", 0, "unknown function RATE; functions are ABS, CEIL, FLOOR, IF, MAX, MIN"},
		{"foo(a)", 0, "unknown function foo"},
		{"ABS(a, b)", 0, "ABS takes 1 argument, got 2"},
		{"MIN(a)", 0, "MIN takes 2 or more arguments, got 1"},
		{"IF(a, b)", 0, "IF takes 3 arguments, got 2"},
		{"ABS a", 4, `expected "(" after ABS`},
		{"MIN([a, b)", 9, `expected "]" to close the array`},
		{"IF(a, b, c", 10, `expected ")" to close IF`},
		{"1.2.3", 3, "malformed number"},
		{"2x", 1, "malformed number"},
		{"1e999", 0, "out of range"},
		{"a AND", 5, "expected a number"},
		{"AND a", 0, "unexpected AND"},
		{"a > NOT b", 4, "put it in parentheses"},
		{"a\u00e9", 1, "unexpected character 'é'"},
		{strings.Repeat("1+", 1100) + "1", 2048, "longer than 2048"},
	}
	for _, tc := range tests {
		t.Run(tc.src, func(t *testing.T) {
			_, err := Parse(tc.src)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) error = %v, want a *SyntaxError", tc.src, err)
			}
			if se.Offset != tc.offset || !strings.Contains(se.Msg, tc.msg) {
				t.Fatalf("Parse(%q) = offset %d %q; want offset %d containing %q", tc.src, se.Offset, se.Msg, tc.offset, tc.msg)
			}
			if !strings.HasPrefix(err.Error(), "column ") {
				t.Fatalf("Error() = %q, want a column prefix", err.Error())
			}
		})
	}
}
