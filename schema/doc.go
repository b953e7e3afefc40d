// Package schema holds callplane's SQL migrations, embedded in the binary and applied with
// goose at start (and by `callplane migrate`). It is the only place DDL lives: packages own
// their queries, never their tables' definitions.
//
// Subpackages: localpg starts a throw-away PostgreSQL cluster from the machine's binaries
// (make run, tests); schematest gives each test package a fresh migrated database.
package schema
