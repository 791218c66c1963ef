package trend

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"
)

// The JUnit XML written here follows Apache Ant's schema (the strictest
// of those CI systems read: testdata/junit/JUnit.xsd, which the tests
// validate against): <testsuites> has no attributes, a <testsuite> in it
// needs name, timestamp (no zone), hostname, tests, failures, errors,
// time, id and package, and holds <properties>, its <testcase>s,
// <system-out> and <system-err>, in that order; a <testcase> holds at most
// one of <skipped>, <error>, <failure>, and nothing else. So a passing
// series' detail, which has no place in its test case, goes to its suite's
// <system-out>, one line per series.
//
// Case names, questions and paths come from users: encoding/xml escapes
// <, &, quotes (and newlines in attributes), and writes U+FFFD for what
// XML 1.0 cannot hold even escaped (most control characters, U+FFFE,
// invalid UTF-8); TestJUnitEscaping holds it to that.

type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name      string `xml:"name,attr"`
	Timestamp string `xml:"timestamp,attr"`
	Hostname  string `xml:"hostname,attr"`
	Tests     int    `xml:"tests,attr"`
	Failures  int    `xml:"failures,attr"`
	Errors    int    `xml:"errors,attr"`
	Skipped   int    `xml:"skipped,attr"`
	Time      string `xml:"time,attr"`
	ID        int    `xml:"id,attr"`
	Package   string `xml:"package,attr"`

	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
	SystemOut  junitText       `xml:"system-out"`
	SystemErr  junitText       `xml:"system-err"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Classname string        `xml:"classname,attr"`
	Name      string        `xml:"name,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure"`
	Skipped   *junitSkipped `xml:"skipped"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",innerxml"` // from newJUnitText
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}

// junitTime is the schema's timestamp: ISO 8601 without a zone (the
// schema's pattern allows none), so always UTC.
const junitTime = "2006-01-02T15:04:05"

// junitPackage is every suite's package attribute (required in the
// <testsuites> form).
const junitPackage = "vethbench.trend"

// WriteJUnit writes r as JUnit XML for CI systems (GitLab's junit report,
// Jenkins): one test suite per group, one test case per series, named by
// its case (classname) and metric (name). A series whose newest run fails
// the job (Verdict.Failing) is a failed test; too few runs or no figure in
// the newest run is a skipped one; the rest pass.
func WriteJUnit(w io.Writer, r *Report) error {
	doc := junitSuites{Suites: make([]junitSuite, 0, len(r.Groups))}
	for i, g := range r.Groups {
		doc.Suites = append(doc.Suites, junitGroup(r, i, g))
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("encode junit: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("encode junit: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	if err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	return nil
}

func junitGroup(r *Report, id int, g Group) junitSuite {
	s := junitSuite{
		Name:      "vethbench trend " + g.Key,
		Timestamp: junitTimestamp(r, g),
		Hostname:  junitHost(g),
		Time:      "0",
		ID:        id,
		Package:   junitPackage,
		// Never empty: encoding/xml would leave out <properties>, which
		// the schema requires.
		Properties: []junitProperty{
			{"threshold", fmt.Sprint(r.Threshold)},
			{"p_value", fmt.Sprint(r.PValue)},
			{"level", fmt.Sprint(r.Level)},
			{"window", fmt.Sprint(r.Window)},
			{"runs", fmt.Sprint(len(g.Runs))},
		},
		Cases: make([]junitCase, 0, len(g.Series)),
	}
	if n := len(g.Runs); n > 0 {
		last := g.Runs[n-1]
		s.Properties = append(s.Properties,
			junitProperty{"newest_run", last.Path},
			junitProperty{"newest_started_at", RunTime(last)},
			junitProperty{"kernel", last.Kernel},
			junitProperty{"tool_version", last.Tool})
	}
	if r.AckFile != "" {
		s.Properties = append(s.Properties, junitProperty{"acknowledgements", r.AckFile})
	}

	var out, errs strings.Builder
	if len(g.Runs) > 0 {
		fmt.Fprintf(&out, "%s\n", span(g))
	}
	for _, e := range g.Events {
		fmt.Fprintf(&out, "event at run %d: %s\n", e.Run+1, e.What)
	}
	for _, se := range g.Series {
		c := junitCase{Classname: junitClass(se), Name: se.Metric.Name, Time: "0"}
		v := se.Verdict
		switch {
		case v.Failing():
			s.Failures++
			c.Failure = &junitFailure{
				Message: v.Detail,
				Type:    v.Status,
				Text:    newJUnitText(junitFailureText(se, g)).XML,
			}
		case v.Status == StatusShort || v.Status == StatusAbsent:
			s.Skipped++
			c.Skipped = &junitSkipped{Message: v.Detail}
		}
		s.Tests++
		s.Cases = append(s.Cases, c)
		fmt.Fprintf(&out, "%s %s %s: %s\n", strings.ToUpper(v.Status), junitClass(se), se.Metric.Name, v.Detail)
	}
	for _, sk := range r.Skipped {
		fmt.Fprintf(&errs, "skipped %s: %s\n", sk.Path, sk.Reason)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&errs, "note: %s\n", n)
	}
	s.SystemOut = newJUnitText(out.String())
	s.SystemErr = newJUnitText(errs.String())
	return s
}

// junitClass is a test case's classname: the case, and for an in-run
// ratio the baseline it is over.
func junitClass(s Series) string {
	if s.Baseline != "" {
		return s.Case + " vs " + s.Baseline
	}
	return s.Case
}

// junitFailureText says why a series fails: the verdict, and the change
// the newest run continues (its step with the interval, where it starts).
func junitFailureText(s Series, g Group) string {
	var b strings.Builder
	b.WriteString(s.Verdict.Detail)
	b.WriteString("\n")
	if c := s.Verdict.Change; c != nil {
		fmt.Fprintf(&b, "%s %s: step %s, p %.2g", s.Metric.Name, c.Direction, StepText(*c), c.P)
		if c.Run >= 0 && c.Run < len(g.Runs) {
			run := g.Runs[c.Run]
			fmt.Fprintf(&b, ", from run %d of %d (%s, %s)", c.Run+1, len(g.Runs), RunTime(run), run.Path)
		}
		fmt.Fprintf(&b, "; %s before, %s after\n", FormatValue(s.Metric, c.Before), FormatValue(s.Metric, c.After))
		for _, e := range c.Events {
			fmt.Fprintf(&b, "near: %s\n", e)
		}
	}
	if n := len(s.Points); n > 0 {
		p := s.Points[n-1]
		if p.Run == len(g.Runs)-1 {
			fmt.Fprintf(&b, "newest run: %s\n", FormatValue(s.Metric, p.Value))
		} else {
			fmt.Fprintf(&b, "last figure: %s, run %d of %d\n", FormatValue(s.Metric, p.Value), p.Run+1, len(g.Runs))
		}
	}
	return b.String()
}

// junitTimestamp is the start of the group's newest run; for a group with
// no runs (the schema requires a timestamp), the newest run of the report,
// or the Unix epoch when there is none.
func junitTimestamp(r *Report, g Group) string {
	var t time.Time
	if n := len(g.Runs); n > 0 {
		t = g.Runs[n-1].Started
	} else {
		t = time.Unix(0, 0)
		for _, og := range r.Groups {
			for _, run := range og.Runs {
				if run.Started.After(t) {
					t = run.Started
				}
			}
		}
	}
	return t.UTC().Format(junitTime)
}

// junitHost is the host of the group's newest run, or "localhost" as the
// schema asks when it is not known.
func junitHost(g Group) string {
	if n := len(g.Runs); n > 0 {
		if h := strings.TrimSpace(g.Runs[n-1].Host); h != "" {
			return h
		}
	}
	return "localhost"
}

// junitText is an element's text, escaped as encoding/xml does, except
// that newlines and tabs stay as they are (EscapeText writes them as
// character references): readable in the file, the same to a parser.
type junitText struct {
	XML string `xml:",innerxml"`
}

func newJUnitText(s string) junitText {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s)) // a strings.Builder does not fail
	return junitText{strings.NewReplacer("&#xA;", "\n", "&#x9;", "\t").Replace(b.String())}
}
