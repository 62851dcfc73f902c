package tfcheck

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeModule(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func messages(ps []Problem) string {
	var out []string
	for _, p := range ps {
		out = append(out, filepath.Base(p.File)+":"+p.String()[len(p.File)+1:])
	}
	return strings.Join(out, "\n")
}

const goodModule = `
variable "names" {
  type = list(string)
}

locals {
  upper = [for n in var.names : upper(n)]
}

data "aws_iam_policy_document" "doc" {
  statement {
    actions   = ["s3:GetObject"]
    resources = [for b in aws_s3_bucket.b : "${b.arn}/*"]
  }
}

resource "aws_s3_bucket" "b" {
  for_each = toset(local.upper)
  bucket   = each.key
  lifecycle {
    ignore_changes = [tags]
  }
  dynamic "cors_rule" {
    for_each = var.names
    content {
      allowed_methods = [cors_rule.value]
    }
  }
  dynamic "website" {
    for_each = var.names
    iterator = site
    content {
      index_document = site.value
    }
  }
  depends_on = [module.child]
}

module "child" {
  source = "./child"
}

output "child_id" {
  value = module.child.id
}
`

func TestReferencesOfAGoodModuleResolve(t *testing.T) {
	dir := writeModule(t, map[string]string{"main.tf": goodModule, "child/outputs.tf": "output \"id\" {\n  value = 1\n}\n"})
	m, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	ps, err := m.UnresolvedReferences()
	if err != nil || len(ps) != 0 {
		t.Fatalf("UnresolvedReferences = %v, %v", messages(ps), err)
	}
}

func TestUnresolvedReferencesAreReportedWithPositions(t *testing.T) {
	dir := writeModule(t, map[string]string{
		"main.tf": `resource "aws_s3_bucket" "b" {
  bucket = var.missing
  tags   = { a = local.nothing, b = data.aws_region.here.name, c = aws_s3_bucket.other.id }
  policy = aws_iam_policy.p.json
}

module "child" {
  source = "./child"
}

output "x" {
  value = module.child.nope
}
`,
		"child/outputs.tf": "output \"id\" {\n  value = 1\n}\n",
	})
	m, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	ps, err := m.UnresolvedReferences()
	if err != nil {
		t.Fatal(err)
	}
	got := messages(ps)
	for _, want := range []string{
		"main.tf:2:12: var.missing is not declared",
		"main.tf:3:18: local.nothing is not declared",
		"main.tf:3:37: data.aws_region.here is not declared",
		"main.tf:3:68: resource aws_s3_bucket.other is not declared",
		"main.tf:4:12: aws_iam_policy.p: no resource of type aws_iam_policy is declared",
		`main.tf:12:11: module.child has no output "nope" (outputs: id)`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
}

func TestIAMWildcardsNeedTheReason(t *testing.T) {
	dir := writeModule(t, map[string]string{"iam.tf": `data "aws_iam_policy_document" "p" {
  statement {
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }
  # ecr:GetAuthorizationToken is account-wide: AWS requires "*" for it.
  statement {
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }
  statement {
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.b.arn]
  }
  statement {
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = ["*"]
  }
  dynamic "statement" {
    for_each = [1]
    content {
      actions   = ["*"]
      resources = [aws_s3_bucket.b.arn]
    }
  }
}
`})
	m, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := messages(m.IAMWildcards())
	want := []string{
		`iam.tf:2:3: statement grants resources * without a comment above it saying why ("AWS requires")`,
		`iam.tf:11:3: statement grants actions s3:* without a comment above it saying why ("AWS requires")`,
		`iam.tf:20:3: statement grants actions * without a comment above it saying why ("AWS requires")`,
	}
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("missing %q in:\n%s", w, got)
		}
	}
	if n := len(strings.Split(got, "\n")); n != len(want) {
		t.Errorf("%d problems, want %d:\n%s", n, len(want), got)
	}
}

func TestFormatFindsTheFirstUnformattedLine(t *testing.T) {
	src := []byte("resource \"a\" \"b\" {\n  x = 1\n  long_name = 2\n}\n")
	p := Format("main.tf", src)
	if p == nil || p.String() != `main.tf:2:1: not formatted as terraform fmt writes it; this line would be "  x         = 1"` {
		t.Fatalf("Format = %v", p)
	}
	if p := Format("main.tf", []byte("resource \"a\" \"b\" {\n  x         = 1\n  long_name = 2\n}\n")); p != nil {
		t.Fatalf("Format of a formatted file = %v", p)
	}
}

// FuzzChecks: any HCL the parser takes goes through every check without a panic.
func FuzzChecks(f *testing.F) {
	f.Add(goodModule)
	f.Add("data \"aws_iam_policy_document\" \"p\" {\n  statement {\n    actions = [\"*\"]\n  }\n}\n")
	f.Add("resource \"a\" \"b\" {\n  x = var.y[0].z\n  dynamic \"d\" {\n    for_each = []\n    iterator = it\n    content {}\n  }\n}\n")
	f.Fuzz(func(t *testing.T, src string) {
		Format("main.tf", []byte(src))
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		m, err := Load(dir)
		if err != nil {
			return
		}
		m.IAMWildcards()
		_, _ = m.UnresolvedReferences()
	})
}
