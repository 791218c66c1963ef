package reports

// Flagged cases: every case with a flag or a warning, then the knob notes.

type flaggedView struct {
	Precision string
	Cases     []flaggedCase
	Notes     []flaggedCase
}

type flaggedCase struct {
	Name    string
	Status  string
	Flags   []string // shown first, marked
	Reasons []string
}

func buildFlagged(a *analysis) (any, error) {
	var v flaggedView
	if c, ok := a.Caveats.find(caveatPrecision); ok {
		v.Precision = caveatText(c)
	}
	for i := range a.Caveats.Cases {
		cc := &a.Caveats.Cases[i]
		c := cc.Case
		if fs := flagTexts(cc); len(fs)+len(cc.Warnings) > 0 {
			v.Cases = append(v.Cases, flaggedCase{Name: c.Name, Status: c.Status, Flags: fs, Reasons: cc.Warnings})
		}
		if ns := noteTexts(cc); len(ns) > 0 {
			v.Notes = append(v.Notes, flaggedCase{Name: c.Name, Status: c.Status, Reasons: ns})
		}
	}
	return v, nil
}
