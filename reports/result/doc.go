// Package result is vethbench's result file: the versioned JSON schema
// (Result, documented field by field in SCHEMA.md beside this file) that
// runs and sweeps write and that reports, comparisons and other machines
// read, and the case-name grammar (name.go): FormatName writes a case's
// stable name, "veth/pkt=1400/ipv6/gro=on", from one table of dimensions
// and their defaults (NameDims), and ParseName reads it back from the same
// table, so writer and readers cannot disagree on a key or a default.
//
// It is a leaf of plain data: it imports nothing of vethbench and no
// kernel library, so every layer can fill it in or read it without pulling
// in the others. Within schema version 1 fields are only added; a reader
// refuses a newer version.
//
// Privileges: none. Errors: ErrSchema (wrapped) for a file that is not a
// vethbench result or is of a newer schema than this build reads; a
// *FileError (ErrInputFile) for an input path that is not a regular file of
// at most MaxFileSize (64 MiB): ReadInput, which ReadFile, compare and the
// CLI's spec reading use, refuses directories, FIFOs and devices before
// reading them; ParseName returns an error naming the segment it cannot
// read; other errors are the reader's or writer's I/O errors.
package result
