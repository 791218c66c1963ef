package trend

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// FormatValue writes v in m's unit: "312,345 pps", "3,848 ns", "208.9 µs",
// "0.684x".
func FormatValue(m Metric, v float64) string {
	switch m.Unit {
	case "x":
		return strconv.FormatFloat(v, 'f', 3, 64) + "x"
	case "ns":
		if v >= 10000 {
			return strconv.FormatFloat(v/1000, 'f', 1, 64) + " µs"
		}
		return thousands(v) + " ns"
	case "":
		return thousands(v)
	}
	return thousands(v) + " " + m.Unit
}

// thousands writes v rounded, with thousands separators.
func thousands(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "n/a"
	}
	s := strconv.FormatFloat(math.Abs(math.Round(v)), 'f', 0, 64)
	var b strings.Builder
	if v < 0 && s != "0" {
		b.WriteByte('-')
	}
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// percent writes a fraction as a percentage: 0.0312 -> "3.1%".
func percent(f float64) string {
	p := 100 * f
	if math.Abs(p) < 10 {
		return strconv.FormatFloat(p, 'f', 1, 64) + "%"
	}
	return strconv.FormatFloat(p, 'f', 0, 64) + "%"
}

// signedPercent writes a fraction with its sign: "-9.8%", "+1.2%".
func signedPercent(f float64) string {
	s := percent(f)
	if f >= 0 {
		s = "+" + s
	}
	return s
}

// StepText writes a change's step and interval: "-9.8% (-11% to -8.1%)".
func StepText(c Change) string {
	return fmt.Sprintf("%s (%s to %s)", signedPercent(c.Step), signedPercent(c.Lo), signedPercent(c.Hi))
}
