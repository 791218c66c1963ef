package spec

import (
	"bytes"
	_ "embed"
)

//go:embed default.yaml
var defaultSpec []byte

// DefaultFile is the name errors and results give the embedded default spec.
const DefaultFile = "default.yaml"

// Default returns the embedded default spec, what `vethbench sweep` runs
// without -f: parse it with Parse(DefaultFile, Default(), catalog).
func Default() []byte { return bytes.Clone(defaultSpec) }
