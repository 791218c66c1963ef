package peers

import (
	"os"
	"testing"

	"github.com/vethbench/vethbench/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }
