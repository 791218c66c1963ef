package spec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/vethbench/vethbench/bench/plan"
	"github.com/vethbench/vethbench/internal/field"
)

// Known keys of each mapping, in the order messages list them.
var (
	topKeys     = []string{"name", "measure", "defaults", "groups"}
	measureKeys = []string{"method", "slice", "trials", "max_trials", "target", "time_limit", "duration", "warmup", "confidence", "seed", "stages"}
	groupKeys   = []string{"question", "set", "vary", "one_of", "baseline"}
)

var nameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// maxAliasHops bounds how many aliases are followed to reach a value.
const maxAliasHops = 64

// Parse reads a sweep spec and validates it in full: its structure, every
// key, every value's type, every knob through cat, and every case of the
// grid (it runs Expand). It does not apply the grid-size limit: call Check.
// Every error is an *Error, "file:line: path: message", wrapping ErrInvalid.
// cat may be nil when the spec sets no knobs.
func Parse(filename string, data []byte, cat Catalog) (*Spec, error) {
	p := &parser{file: filename, cat: cat}
	s, err := p.spec(data)
	if err != nil {
		return nil, err
	}
	if _, err := s.Expand(); err != nil {
		return nil, err
	}
	return s, nil
}

type parser struct {
	file string
	cat  Catalog
}

func (p *parser) errAt(line int, path, format string, a ...any) *Error {
	return &Error{File: p.file, Line: line, Path: path, Msg: fmt.Sprintf(format, a...)}
}

func (p *parser) errf(n *yaml.Node, path, format string, a ...any) *Error {
	return p.errAt(n.Line, path, format, a...)
}

// decode returns the document's root node, or an error naming the line.
func (p *parser) decode(data []byte) (root *yaml.Node, err error) {
	if i := invalidUTF8(data); i >= 0 {
		return nil, p.errAt(lineOf(data, i), "", "not UTF-8 text")
	}
	if i := bytes.IndexFunc(data, func(r rune) bool {
		return r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0x7f
	}); i >= 0 {
		return nil, p.errAt(lineOf(data, i), "", "control character %q: a spec is YAML text", data[i])
	}
	defer func() {
		// yaml.v3 should never panic on input; if it does, that is still
		// a bad spec, not a crash.
		if r := recover(); r != nil {
			root, err = nil, p.errAt(0, "", "YAML parser failed: %v", r)
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	switch err := dec.Decode(&doc); {
	case errors.Is(err, io.EOF):
		return nil, p.errAt(1, "", "empty spec: want a mapping with %s", strings.Join(topKeys, ", "))
	case err != nil:
		return nil, p.yamlErr(err)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, p.yamlErr(err)
	default:
		return nil, p.errAt(extra.Line, "", "a second YAML document: a spec is one document (remove the ---)")
	}
	root = &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return nil, p.errAt(1, "", "empty spec: want a mapping with %s", strings.Join(topKeys, ", "))
		}
		root = root.Content[0]
	}
	return root, nil
}

var yamlLineRe = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlErr turns "yaml: line 3: did not find expected key" into
// "file:3: did not find expected key". The YAML library reports syntax
// errors only as text, so this is the one place that reads a position out
// of an error message; every error of vethbench's own is typed.
func (p *parser) yamlErr(err error) *Error {
	msg := err.Error()
	if m := yamlLineRe.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &Error{File: p.file, Line: line, Msg: "not valid YAML: " + oneLine(m[2]), Err: err}
	}
	return &Error{File: p.file, Msg: "not valid YAML: " + oneLine(strings.TrimPrefix(msg, "yaml: ")), Err: err}
}

func invalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return -1
}

func lineOf(b []byte, i int) int { return 1 + bytes.Count(b[:i], []byte("\n")) }

// resolve follows aliases to the node they name.
func (p *parser) resolve(n *yaml.Node, path string) (*yaml.Node, error) {
	for hops := 0; n.Kind == yaml.AliasNode; hops++ {
		if n.Alias == nil || hops == maxAliasHops {
			return nil, p.errf(n, path, "alias *%s leads nowhere", n.Value)
		}
		n = n.Alias
	}
	return n, nil
}

// describe names a node's value in a message: `"64"` for a quoted string,
// `64` for a number, "a list", "nothing".
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	}
	switch n.ShortTag() {
	case "!!null":
		return "nothing"
	case "!!str":
		return strconv.Quote(clip(n.Value))
	}
	return text(clip(n.Value))
}

// text shows a value as it is when it reads unambiguously on one line,
// quoted otherwise.
func text(v string) string {
	if v == "" || strings.ContainsFunc(v, func(r rune) bool { return !unicode.IsGraphic(r) || unicode.IsSpace(r) }) {
		return strconv.Quote(v)
	}
	return v
}

// clip shortens a long value for a message.
func clip(v string) string {
	const most = 40
	if utf8.RuneCountInString(v) <= most {
		return v
	}
	return string([]rune(v)[:most]) + "..."
}

// catalogMsg is the catalog's message without what the spec's position
// already says: the sentinel and the knob's name.
func catalogMsg(err error) string {
	if fe, ok := errors.AsType[*field.Error](err); ok {
		return oneLine(fe.Msg)
	}
	return oneLine(err.Error())
}

// oneLine keeps a message from another package on one line.
func oneLine(msg string) string {
	return strings.ReplaceAll(strings.ReplaceAll(msg, "\r", `\r`), "\n", `\n`)
}

type pair struct {
	key   string
	kn, v *yaml.Node
}

// mapping returns n's key/value pairs, refusing anything that is not a
// mapping of plain keys without duplicates.
func (p *parser) mapping(n *yaml.Node, path, want string) ([]pair, error) {
	if n.Kind != yaml.MappingNode {
		return nil, p.errf(n, path, "want %s, got %s", want, describe(n))
	}
	seen := map[string]int{}
	var out []pair
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, err := p.resolve(n.Content[i], path)
		if err != nil {
			return nil, err
		}
		if kn.Kind != yaml.ScalarNode {
			return nil, p.errf(kn, path, "keys must be plain names, got %s", describe(kn))
		}
		if kn.ShortTag() == "!!merge" {
			return nil, p.errf(kn, join(path, kn.Value), "merge keys (<<) are not supported: put shared values under defaults or set")
		}
		key := kn.Value
		kp := join(path, key)
		if line, dup := seen[key]; dup {
			return nil, p.errf(kn, kp, "duplicate key (first at line %d)", line)
		}
		seen[key] = kn.Line
		v, err := p.resolve(n.Content[i+1], kp)
		if err != nil {
			return nil, err
		}
		out = append(out, pair{key: key, kn: kn, v: v})
	}
	return out, nil
}

// join appends a key to a path, quoting a key that would not read as one.
func join(path, key string) string {
	if key == "" || strings.ContainsFunc(key, func(r rune) bool {
		return !unicode.IsGraphic(r) || unicode.IsSpace(r) || r == '"'
	}) {
		key = strconv.Quote(key)
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

func unknownKey(known []string) string {
	return "unknown key (known: " + strings.Join(known, ", ") + ")"
}

func (p *parser) spec(data []byte) (*Spec, error) {
	root, err := p.decode(data)
	if err != nil {
		return nil, err
	}
	if root, err = p.resolve(root, ""); err != nil {
		return nil, err
	}
	pairs, err := p.mapping(root, "", "a mapping with "+strings.Join(topKeys, ", "))
	if err != nil {
		return nil, err
	}
	s := &Spec{File: p.file, Measure: DefaultMeasure(), Lines: map[string]int{}}
	haveGroups := false
	for _, kv := range pairs {
		s.Lines[kv.key] = kv.kn.Line
		switch kv.key {
		case "name":
			if s.Name, err = p.name(kv.v); err != nil {
				return nil, err
			}
		case "measure":
			if err := p.measure(kv.v, s); err != nil {
				return nil, err
			}
		case "defaults":
			if s.Defaults, err = p.settings(kv.v, "defaults"); err != nil {
				return nil, err
			}
		case "groups":
			haveGroups = true
			if s.Groups, err = p.groups(kv.v); err != nil {
				return nil, err
			}
		default:
			if strings.HasPrefix(kv.key, "x-") {
				continue // ignored: a place for YAML anchors
			}
			return nil, p.errf(kv.kn, join("", kv.key), "%s", unknownKey(topKeys)+"; keys starting with x- are ignored")
		}
	}
	if !haveGroups {
		return nil, p.errf(root, "groups", "missing: a spec needs at least one group")
	}
	if s.Name == "" {
		s.Name = defaultName(p.file)
	}
	return s, nil
}

// defaultName is the file's base name without extension, if it makes a
// valid name.
func defaultName(file string) string {
	base := filepath.Base(file)
	base = strings.TrimSuffix(base, filepath.Ext(base))
	if nameRe.MatchString(base) {
		return base
	}
	return "sweep"
}

func (p *parser) name(n *yaml.Node) (string, error) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		return "", p.errf(n, "name", "want a name, got %s", describe(n))
	}
	if !nameRe.MatchString(n.Value) {
		return "", p.errf(n, "name", "%s: want 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit", describe(n))
	}
	return n.Value, nil
}

func (p *parser) measure(n *yaml.Node, s *Spec) error {
	pairs, err := p.mapping(n, "measure", "a mapping of "+strings.Join(measureKeys, ", "))
	if err != nil {
		return err
	}
	m := &s.Measure
	maxSet := false
	for _, kv := range pairs {
		path := join("measure", kv.key)
		s.Lines[path] = kv.v.Line
		var msg string
		switch kv.key {
		case "trials":
			var v int64
			if v, msg = intOf(kv.v); msg == "" {
				m.Trials, msg = clampInt(v)
			}
		case "max_trials":
			var v int64
			if v, msg = intOf(kv.v); msg == "" {
				m.MaxTrials, msg = clampInt(v)
				maxSet = true
			}
		case "method":
			if kv.v.Kind != yaml.ScalarNode || kv.v.ShortTag() != "!!str" {
				msg = fmt.Sprintf("want one of %s, got %s", strings.Join(plan.Methods, ", "), describe(kv.v))
			} else {
				m.Method = kv.v.Value
			}
		case "slice":
			m.Slice, msg = durationOf(kv.v)
		case "time_limit":
			m.TimeLimit, msg = durationOf(kv.v)
		case "stages":
			if kv.v.Kind != yaml.ScalarNode || kv.v.ShortTag() != "!!bool" {
				msg = "want true or false, got " + describe(kv.v)
			} else {
				m.Stages = kv.v.Value == "true"
			}
		case "duration":
			m.Duration, msg = durationOf(kv.v)
		case "warmup":
			m.Warmup, msg = durationOf(kv.v)
		case "confidence":
			m.Confidence, msg = floatOf(kv.v)
		case "target":
			m.Target, msg = floatOf(kv.v)
		case "seed":
			var v int64
			if v, msg = intOf(kv.v); msg == "" {
				// Any 64 bits make a seed; a negative one is taken as
				// its two's complement, as the runner always has.
				m.Seed = uint64(v)
			}
		default:
			return p.errf(kv.kn, path, "%s", unknownKey(measureKeys))
		}
		if msg != "" {
			return p.errf(kv.v, path, "%s", msg)
		}
	}
	if !maxSet {
		m.MaxTrials = m.Trials
	}
	return nil
}

func (p *parser) groups(n *yaml.Node) ([]Group, error) {
	if n.Kind != yaml.SequenceNode {
		return nil, p.errf(n, "groups", "want a list of groups, got %s", describe(n))
	}
	if len(n.Content) == 0 {
		return nil, p.errf(n, "groups", "empty: a spec needs at least one group")
	}
	var out []Group
	questions := map[string]string{}
	for i, gn := range n.Content {
		path := fmt.Sprintf("groups[%d]", i)
		gn, err := p.resolve(gn, path)
		if err != nil {
			return nil, err
		}
		g, qn, err := p.group(gn, path)
		if err != nil {
			return nil, err
		}
		if prev, dup := questions[g.Question]; dup {
			return nil, p.errf(qn, path+".question", "same question as %s: merge the two groups or reword one", prev)
		}
		questions[g.Question] = path
		out = append(out, g)
	}
	return out, nil
}

// group parses one group; it returns the question's node for messages.
func (p *parser) group(n *yaml.Node, path string) (Group, *yaml.Node, error) {
	g := Group{Path: path, Line: n.Line}
	pairs, err := p.mapping(n, path, "a group (a mapping of "+strings.Join(groupKeys, ", ")+")")
	if err != nil {
		return g, nil, err
	}
	var qn *yaml.Node
	setKeys := map[string]int{}  // key -> line
	varyKeys := map[string]int{} // key -> line
	var oneOfNode *yaml.Node
	for _, kv := range pairs {
		kp := join(path, kv.key)
		switch kv.key {
		case "question":
			if kv.v.Kind != yaml.ScalarNode || kv.v.ShortTag() != "!!str" {
				return g, nil, p.errf(kv.v, kp, "want the question as text, got %s", describe(kv.v))
			}
			if g.Question = strings.TrimSpace(kv.v.Value); g.Question == "" {
				return g, nil, p.errf(kv.v, kp, "empty: say which question the group answers")
			}
			qn = kv.v
		case "set":
			if g.Set, err = p.settings(kv.v, kp); err != nil {
				return g, nil, err
			}
			for _, v := range g.Set {
				setKeys[v.Key] = v.Line
			}
		case "vary":
			if g.Vary, err = p.vary(kv.v, kp); err != nil {
				return g, nil, err
			}
			for _, a := range g.Vary {
				varyKeys[a.Key] = a.Line
			}
		case "one_of":
			oneOfNode = kv.v
		case "baseline":
			if g.Baseline, err = p.settings(kv.v, kp); err != nil {
				return g, nil, err
			}
			if len(g.Baseline) == 0 {
				return g, nil, p.errf(kv.v, kp, "empty: name values of the case to compare with, like {gro: off}")
			}
			g.BaselineLine = kv.kn.Line
		default:
			return g, nil, p.errf(kv.kn, kp, "%s", unknownKey(groupKeys))
		}
	}
	if qn == nil {
		return g, nil, p.errf(n, path+".question", "missing: every group says which question it answers")
	}
	for _, a := range g.Vary {
		if line, ok := setKeys[a.Key]; ok {
			return g, nil, p.errAt(a.Line, a.Path, "also under set (line %d): a key is either set or varied in a group", line)
		}
	}
	if oneOfNode != nil {
		if g.OneOf, err = p.oneOf(oneOfNode, path+".one_of"); err != nil {
			return g, nil, err
		}
		for _, entry := range g.OneOf {
			for _, v := range entry {
				if line, ok := setKeys[v.Key]; ok {
					return g, nil, p.errAt(v.Line, v.Path, "also under set (line %d): a key is either set, varied or in one_of", line)
				}
				if line, ok := varyKeys[v.Key]; ok {
					return g, nil, p.errAt(v.Line, v.Path, "also under vary (line %d): a key is either set, varied or in one_of", line)
				}
			}
		}
	}
	return g, qn, nil
}

// settings parses a mapping of keys to single values (defaults, set, an
// entry of one_of).
func (p *parser) settings(n *yaml.Node, path string) ([]Value, error) {
	pairs, err := p.mapping(n, path, "a mapping of keys to values")
	if err != nil {
		return nil, err
	}
	var out []Value
	for _, kv := range pairs {
		kp := join(path, kv.key)
		if err := p.checkKey(kv.key, kv.kn, kp); err != nil {
			return nil, err
		}
		if kv.v.Kind == yaml.SequenceNode {
			return nil, p.errf(kv.v, kp, "one value here, got a list: to try several values, put the key under a group's vary")
		}
		v, err := p.value(kv.key, kv.v, kp)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func (p *parser) vary(n *yaml.Node, path string) ([]Axis, error) {
	pairs, err := p.mapping(n, path, "a mapping of keys to lists of values")
	if err != nil {
		return nil, err
	}
	var out []Axis
	for _, kv := range pairs {
		kp := join(path, kv.key)
		if err := p.checkKey(kv.key, kv.kn, kp); err != nil {
			return nil, err
		}
		a := Axis{Key: kv.key, Path: kp, Line: kv.kn.Line}
		elems := []*yaml.Node{kv.v}
		switch kv.v.Kind {
		case yaml.MappingNode:
			return nil, p.errf(kv.v, kp, "want a value or a list of values, got a mapping")
		case yaml.SequenceNode:
			elems = kv.v.Content
			if len(elems) == 0 {
				return nil, p.errf(kv.v, kp, "empty list: the grid would have no cases")
			}
		}
		seen := map[string]int{} // value -> times given so far
		for _, e := range elems {
			e, err := p.resolve(e, kp)
			if err != nil {
				return nil, err
			}
			if e.Kind != yaml.ScalarNode {
				return nil, p.errf(e, kp, "want a value or a list of values, got %s in the list", describe(e))
			}
			v, err := p.value(kv.key, e, kp)
			if err != nil {
				return nil, err
			}
			// A value given again is a replica of the first (Expand).
			if seen[v.Value]++; seen[v.Value] > 1 {
				v.Repeat = seen[v.Value]
			}
			a.Values = append(a.Values, v)
		}
		out = append(out, a)
	}
	return out, nil
}

func (p *parser) oneOf(n *yaml.Node, path string) ([][]Value, error) {
	if n.Kind != yaml.SequenceNode {
		return nil, p.errf(n, path, "want a list of mappings, got %s", describe(n))
	}
	if len(n.Content) == 0 {
		return nil, p.errf(n, path, "empty list: the grid would have no cases")
	}
	out := make([][]Value, 0, len(n.Content))
	for i, e := range n.Content {
		ep := fmt.Sprintf("%s[%d]", path, i)
		e, err := p.resolve(e, ep)
		if err != nil {
			return nil, err
		}
		vs, err := p.settings(e, ep)
		if err != nil {
			return nil, err
		}
		if vs == nil {
			vs = []Value{} // {}: the group's other values alone
		}
		out = append(out, vs)
	}
	return out, nil
}

// checkKey accepts a dimension, or anything that may be a knob when there
// is a catalog; a misspelt dimension gets a suggestion.
func (p *parser) checkKey(key string, kn *yaml.Node, path string) error {
	if _, ok := dimensions[key]; ok {
		return nil
	}
	if h := hint(key); h != "" {
		return p.errf(kn, path, "unknown key (did you mean %s?)", h)
	}
	if p.cat == nil {
		return p.errf(kn, path, "unknown key: not a dimension (%s), and there is no knob catalog", strings.Join(Dimensions, ", "))
	}
	return nil
}

// value parses one scalar of a dimension or knob into its canonical form.
func (p *parser) value(key string, n *yaml.Node, path string) (Value, error) {
	v := Value{Key: key, Path: path, Line: n.Line}
	if n.Kind != yaml.ScalarNode {
		return v, p.errf(n, path, "want a single value, got %s", describe(n))
	}
	d, ok := dimensions[key]
	if !ok {
		raw, msg := knobText(n)
		if msg != "" {
			return v, p.errf(n, path, "%s", msg)
		}
		canon, err := p.cat.Parse(key, raw)
		if err != nil {
			e := p.errf(n, path, "%s", catalogMsg(err))
			e.Err = err
			return v, e
		}
		v.Value = canon
		return v, nil
	}
	var msg string
	switch d.kind {
	case kindInt:
		var i int64
		if i, msg = intOf(n); msg == "" {
			var c int
			if c, msg = clampInt(i); msg == "" {
				v.Value = strconv.Itoa(c)
			}
		}
	case kindFloat:
		var f float64
		if f, msg = floatOf(n); msg == "" {
			v.Value = strconv.FormatFloat(f, 'g', -1, 64)
		}
	case kindBool:
		switch {
		case n.ShortTag() == "!!bool" && n.Value == "true", n.ShortTag() == "!!str" && n.Value == "on":
			v.Value = "on"
		case n.ShortTag() == "!!bool" && n.Value == "false", n.ShortTag() == "!!str" && n.Value == "off":
			v.Value = "off"
		default:
			msg = "want on or off (or true, false), got " + describe(n)
		}
	default:
		switch {
		case n.ShortTag() != "!!str":
			msg = "want a name, got " + describe(n)
		case n.Value == "":
			msg = "empty value"
		default:
			v.Value = n.Value
		}
	}
	if msg != "" {
		return v, p.errf(n, path, "%s", msg)
	}
	if d.check != nil {
		if err := d.check(v.Value); err != nil {
			_, m := splitField(err)
			e := p.errf(n, path, "%s", oneLine(m))
			e.Err = err
			return v, e
		}
	}
	return v, nil
}

// knobText is the text handed to the catalog for a knob's scalar: YAML's
// true and false become on and off, integers are written in decimal.
func knobText(n *yaml.Node) (string, string) {
	switch n.ShortTag() {
	case "!!null":
		return "", "missing value"
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			return "", "want on or off, got " + describe(n)
		}
		if b {
			return "on", ""
		}
		return "off", ""
	case "!!int":
		var i int64
		if err := n.Decode(&i); err == nil {
			return strconv.FormatInt(i, 10), ""
		}
	}
	return n.Value, "" // strings, and numbers and dates as written
}

func intOf(n *yaml.Node) (int64, string) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
		return 0, "want an integer, got " + describe(n)
	}
	var i int64
	if err := n.Decode(&i); err != nil {
		return 0, "want an integer that fits in 64 bits, got " + describe(n)
	}
	return i, ""
}

func clampInt(i int64) (int, string) {
	if i > maxInt || i < -maxInt {
		return 0, fmt.Sprintf("%d is far out of range", i)
	}
	return int(i), ""
}

func floatOf(n *yaml.Node) (float64, string) {
	if n.Kind != yaml.ScalarNode || (n.ShortTag() != "!!float" && n.ShortTag() != "!!int") {
		return 0, "want a number, got " + describe(n)
	}
	var f float64
	if err := n.Decode(&f); err != nil {
		return 0, "want a number, got " + describe(n)
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, "want a finite number, got " + describe(n)
	}
	return f, ""
}

func durationOf(n *yaml.Node) (time.Duration, string) {
	if n.Kind != yaml.ScalarNode {
		return 0, "want a duration like 2s or 500ms, got " + describe(n)
	}
	switch n.ShortTag() {
	case "!!str":
		d, err := time.ParseDuration(strings.TrimSpace(n.Value))
		if err != nil {
			return 0, "want a duration like 2s or 500ms, got " + describe(n)
		}
		return d, ""
	case "!!int", "!!float":
		return 0, "want a duration with a unit, like 2s or 500ms, got " + describe(n)
	}
	return 0, "want a duration like 2s or 500ms, got " + describe(n)
}

// splitField returns the field a validation error of bench/plan or
// bench/topology names (its *field.Error) and the message without it. An
// error naming no field, such as a knob's from package tuning, has name ""
// and its whole text as msg.
func splitField(err error) (name, msg string) {
	var fe *field.Error
	if errors.As(err, &fe) {
		return fe.Field, fe.Msg
	}
	return "", err.Error()
}
