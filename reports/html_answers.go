package reports

// The answers: each question answered in one sentence, then the caveats.

import "fmt"

type answersView struct {
	Answers []answerView
	Rule    string // how the answers' verdicts are reached
	// PairedRule is how those of interleaved questions are.
	PairedRule string
	Caveats    []caveatView
}

type answerView struct {
	N        int
	Question string
	Answer   sentence
	Anchor   string
}

type caveatView struct {
	Text string
	// Linked caveats point at the flagged cases, which list the cases
	// concerned; the precision caveat is about the whole sweep.
	Linked bool
}

func buildAnswers(a *analysis) (any, error) {
	var v answersView
	for i, g := range a.Groups {
		v.Answers = append(v.Answers, answerView{N: i + 1, Question: questionText(g), Answer: answer(g), Anchor: groupAnchor(i, g)})
	}
	for _, g := range a.Groups {
		switch {
		case g.Compare == "":
		case g.Paired != nil:
			v.PairedRule = pairedRuleText(a.pairedRule())
		default:
			v.Rule = ruleText(a.rule())
		}
	}
	for _, c := range a.Caveats.Result {
		v.Caveats = append(v.Caveats, caveatView{Text: caveatText(c), Linked: c.Kind != caveatPrecision})
	}
	return v, nil
}

// groupAnchor is where the figures of group i are; groups that compare
// nothing have none, and point at the table of every case.
func groupAnchor(i int, g *group) string {
	if g.Compare == "" {
		return "cases"
	}
	return fmt.Sprintf("q%d", i+1)
}
