// Package stats holds vethbench's estimators, how sure they are, and the
// verdict of a comparison: pure functions on per-trial values (one value per
// measurement window, never per packet), built on gonum.
//
//	Median, MedianCI       the sample median and its exact, distribution-free
//	                       order-statistic interval (Interval.Level is its real
//	                       coverage, below the level asked for when n is too small)
//	RatioOfMedians         median(new)/median(base) with a percentile bootstrap
//	                       interval; GeomeanRatio over several cases
//	MannWhitneyU, MinP     the two-sided rank-sum test (exact up to ExactMax values
//	                       a side without ties), and the smallest p sizes n, m allow
//	BenjaminiHochberg      q-values across a sweep
//	Decide, Verdict        REGRESSION, IMPROVEMENT, NO CHANGE, INCONCLUSIVE,
//	                       TOO FEW TRIALS; only Regression Fails a CI run
//	CompareFamily, Rule    the whole rule over a family of comparisons (test,
//	                       Benjamini-Hochberg, interval, Decide): the one
//	                       `vethbench compare` and the report's answers use
//	CV, Outliers           noise, and trials outside Tukey's fences (flagged,
//	                       never dropped)
//	PairedRatio            an interleaved run's ratio of two cases block by
//	PairedRatioTrials      block: a 20% trimmed mean of the blocks' log-ratios
//	                       with Yuen's interval, AR(1) widened; over trials,
//	                       a t interval on the trials' values
//	ChangePoints           change points of a series (a history of nightly
//	                       runs): E-divisive means with t-tests, as Apache Otava
//	MedianResampler,       the bootstrap's pieces, for bootstraps built
//	Percentiles, Lag1      elsewhere (reports/compare)
//
// Everything is deterministic: the bootstrap draws from math/rand/v2's PCG
// with the seed it is given, and RatioCI records the seed and the number of
// resamples (DefaultResamples, 10,000, unless asked otherwise), so the same
// inputs give the same interval bit for bit. The method, why it was chosen,
// what gonum provides and what is written here, and the known answers the
// tests check are in docs/statistics.md.
//
// Privileges: none; no I/O. Errors: none. Functions never fail or panic on
// data: empty input gives NaN estimates (Interval.N == 0), which callers
// report as "no data"; a NaN in a sample makes MannWhitneyU's U and P NaN,
// and Decide calls NaN inputs INCONCLUSIVE (or TOO FEW TRIALS).
package stats
