// Package stats holds vethbench's estimators and how sure they are: the
// median of per-trial values with a distribution-free confidence interval
// from order statistics (exact binomial coverage, see ../shared/STATS.md).
// Gonum supplies the sorting-free pieces it has (the binomial CDF); what it
// lacks is written here and tested against known answers.
//
// Privileges: none. Functions never fail; empty input gives zero values
// with N == 0, and callers report that as "no data".
package stats
