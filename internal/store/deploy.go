package store

// deploySchema holds deployments, their lifecycle events, service revisions and
// controller commands (continue, stop, rollback requests from other processes).
const deploySchema = `
CREATE TABLE placeholder_deploy (id INTEGER PRIMARY KEY);
`
