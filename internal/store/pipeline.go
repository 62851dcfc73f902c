package store

// pipelineSchema holds executions, stage and action runs, artifacts, variables and
// approvals. Owned by the pipeline engine's store (see pipeline_*.go).
const pipelineSchema = `
CREATE TABLE placeholder_pipeline (id INTEGER PRIMARY KEY);
`
