// Package manifest owns every file a greenlight user writes: greenlight.yaml (the
// pipeline definition), CodeBuild buildspecs, CodeDeploy ECS appspecs, ECS task
// definitions and imagedefinitions.json. It parses them strictly into the types the
// rest of greenlight codes against, applies defaults, and reports every problem it
// finds at once, each as "file:line:column: what is wrong (allowed: ...)".
//
// Parsing goes through one positioned tree (node) built from YAML (goccy/go-yaml's
// AST) or JSON (encoding/json's token stream), so that every format reports
// positions the same way. Nothing here runs anything or touches the network; the
// only I/O is reading the files Load and ValidateFiles are pointed at.
package manifest
