// Package layering holds the test that keeps greenlight's layers apart: the domain
// packages (pipeline, deploy, alarm, build, router, manifest) depend on no adapter
// (the store, the agent, the CLI, Docker, SQL, process execution or HTTP clients
// where the domain has no business with them). It has no code of its own; the
// lint's depguard rules say the same for direct imports, this test for every
// dependency, direct or not.
package layering
