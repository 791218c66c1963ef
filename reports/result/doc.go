// Package result is vethbench's result file: the versioned JSON schema
// (documented in SCHEMA.md beside this file) that runs and sweeps write and
// that reports, comparisons and other machines read. It is a leaf package of
// plain data so every stage can use it without pulling in the others.
//
// Privileges: none. Errors: ErrSchema for a file that is not a vethbench
// result or is newer than this build understands.
package result
