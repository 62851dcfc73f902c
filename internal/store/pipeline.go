package store

// pipelineSchema holds executions, stage and action runs, artifacts and approvals.
// The pipeline engine owns the meaning of every status; the store only keeps rows
// (see pipeline_*.go). Stage locks are not a table of their own: a stage is locked
// by the stage run that is InProgress or Stopping in it, so a lock can never outlive
// the state it protects.
const pipelineSchema = `
CREATE TABLE pipeline_executions (
	seq                INTEGER PRIMARY KEY AUTOINCREMENT,
	id                 TEXT NOT NULL UNIQUE,
	pipeline           TEXT NOT NULL,
	mode               TEXT NOT NULL,
	status             TEXT NOT NULL,
	status_summary     TEXT NOT NULL DEFAULT '',
	trigger_type       TEXT NOT NULL DEFAULT '',
	trigger_detail     TEXT NOT NULL DEFAULT '',
	requested_revision TEXT NOT NULL DEFAULT '',
	source_revision    TEXT NOT NULL DEFAULT '',
	variables          TEXT NOT NULL DEFAULT '',
	stage_index        INTEGER NOT NULL DEFAULT 0,
	waiting            INTEGER NOT NULL DEFAULT 0,
	waiting_since      TEXT NOT NULL DEFAULT '',
	stop_mode          TEXT NOT NULL DEFAULT '',
	stop_reason        TEXT NOT NULL DEFAULT '',
	owner_id           TEXT NOT NULL DEFAULT '',
	owner_pid          INTEGER NOT NULL DEFAULT 0,
	owner_start        INTEGER NOT NULL DEFAULT 0,
	owner_host         TEXT NOT NULL DEFAULT '',
	heartbeat_at       TEXT NOT NULL DEFAULT '',
	started_at         TEXT NOT NULL,
	updated_at         TEXT NOT NULL,
	ended_at           TEXT NOT NULL DEFAULT ''
);
CREATE INDEX pipeline_executions_status ON pipeline_executions(pipeline, status, seq);

CREATE TABLE pipeline_stage_runs (
	execution_id TEXT NOT NULL REFERENCES pipeline_executions(id),
	stage        TEXT NOT NULL,
	pipeline     TEXT NOT NULL,
	idx          INTEGER NOT NULL,
	attempt      INTEGER NOT NULL DEFAULT 1,
	status       TEXT NOT NULL,
	message      TEXT NOT NULL DEFAULT '',
	retry_mode   TEXT NOT NULL DEFAULT '',
	started_at   TEXT NOT NULL,
	ended_at     TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (execution_id, stage)
);
CREATE INDEX pipeline_stage_runs_lock ON pipeline_stage_runs(pipeline, stage, status);

CREATE TABLE pipeline_action_runs (
	execution_id     TEXT NOT NULL REFERENCES pipeline_executions(id),
	stage            TEXT NOT NULL,
	action           TEXT NOT NULL,
	attempt          INTEGER NOT NULL,
	run_order        INTEGER NOT NULL DEFAULT 1,
	provider         TEXT NOT NULL DEFAULT '',
	status           TEXT NOT NULL,
	summary          TEXT NOT NULL DEFAULT '',
	error_message    TEXT NOT NULL DEFAULT '',
	external_id      TEXT NOT NULL DEFAULT '',
	external_url     TEXT NOT NULL DEFAULT '',
	output_variables TEXT NOT NULL DEFAULT '',
	data             TEXT NOT NULL DEFAULT '',
	log_path         TEXT NOT NULL DEFAULT '',
	started_at       TEXT NOT NULL DEFAULT '',
	ended_at         TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (execution_id, stage, action, attempt)
);

CREATE TABLE pipeline_artifacts (
	execution_id TEXT NOT NULL REFERENCES pipeline_executions(id),
	name         TEXT NOT NULL,
	stage        TEXT NOT NULL,
	action       TEXT NOT NULL,
	attempt      INTEGER NOT NULL,
	dir          TEXT NOT NULL,
	sealed_at    TEXT NOT NULL,
	PRIMARY KEY (execution_id, name)
);

CREATE TABLE pipeline_approvals (
	execution_id         TEXT NOT NULL REFERENCES pipeline_executions(id),
	stage                TEXT NOT NULL,
	action               TEXT NOT NULL,
	attempt              INTEGER NOT NULL,
	status               TEXT NOT NULL,
	custom_data          TEXT NOT NULL DEFAULT '',
	external_entity_link TEXT NOT NULL DEFAULT '',
	notification_arn     TEXT NOT NULL DEFAULT '',
	requested_at         TEXT NOT NULL,
	expires_at           TEXT NOT NULL DEFAULT '',
	decided_by           TEXT NOT NULL DEFAULT '',
	decided_at           TEXT NOT NULL DEFAULT '',
	summary              TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (execution_id, stage, action, attempt)
);
`

// actionProcessesSchema records the process groups an action attempt started
// (a build's shell), so that the process resuming it after a crash kills them.
const actionProcessesSchema = `ALTER TABLE pipeline_action_runs ADD COLUMN processes TEXT NOT NULL DEFAULT ''`

// executionRefSchema records the ref whose push started an execution (a tag).
const executionRefSchema = `ALTER TABLE pipeline_executions ADD COLUMN requested_ref TEXT NOT NULL DEFAULT ''`
