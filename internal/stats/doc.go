// Package stats holds vethbench's estimators, how sure they are, and the
// verdict of a comparison, following ../shared/STATS.md. Tests run on
// per-trial values (one value per measurement window), never on packets.
//
// # Estimators and intervals
//
// Median and MedianCI: the sample median (R's definition) with a
// distribution-free interval [x(k), x(n+1-k)] from order statistics, whose
// exact coverage comes from the Binomial(n, 1/2) CDF.
//
// RatioOfMedians: median(new)/median(base) with a percentile bootstrap CI.
// Each resample draws both sides independently, with replacement, at their
// own sizes; the interval is the (1-level)/2 and (1+level)/2 empirical
// quantiles of the resampled ratios. GeomeanRatio: the geometric mean over
// cases of those ratios, resampling within each case, never across cases.
// The generator is math/rand/v2's PCG seeded with (seed, a fixed stream
// constant); the seed and the number of resamples are recorded in RatioCI,
// and the same inputs give the same interval bit for bit. STATS.md asks for
// 10,000 resamples (DefaultResamples).
//
// CV (sample sd over mean) reports noise; Outliers flags trials outside
// Tukey's fences (1.5 IQR beyond the type-7 quartiles) and never drops them.
//
// # Tests and the verdict
//
// MannWhitneyU: two-sided Mann-Whitney U (Wilcoxon rank-sum). Without ties
// and with at most ExactMax (50) values per side, the p-value comes from the
// exact null distribution of U, counted by dynamic programming over the
// combined ordering (no cancellation; checked against brute force);
// otherwise from the normal approximation with the tie-corrected variance and
// a continuity correction, as SciPy's method="asymptotic" and R's
// wilcox.test(exact=FALSE). MinP(n, m) = 2/C(n+m, n) is the smallest p any
// data of those sizes can give: 3 trials per side never reach 0.05.
//
// BenjaminiHochberg turns the p-values of a sweep into q-values (R's
// p.adjust "BH"), controlling the false discovery rate.
//
// Decide gives the verdict, criterion.rs's rule plus Pinpoint's "unknown":
// REGRESSION when q < alpha and the ratio's CI lies wholly beyond the noise
// threshold theta on the bad side (below 1-theta when higher is better, above
// 1+theta when lower is better); IMPROVEMENT mirrored; NO CHANGE when
// q >= alpha and the CI lies within 1±theta; INCONCLUSIVE otherwise (collect
// more trials); TOO FEW TRIALS, before anything else, when minP >= alpha, so a
// comparison that could never show a difference is never called NO CHANGE.
// Only REGRESSION fails a CI run (Verdict.Fails).
//
// # What gonum provides and what is written here
//
// From gonum: the Binomial CDF (MedianCI), the unit Normal survival function
// (Mann-Whitney's approximation), stat.Quantile with the Empirical definition
// (bootstrap percentiles), stat.GeometricMean and stat.MeanStdDev. Written
// here, because gonum lacks them: the order-statistic interval search, the
// ranking with midranks and tie term, the exact distribution of U, MinP
// (exact integer steps, not gonum's log-gamma binomial, so MinP(3, 3) is
// exactly 0.1), the bootstrap, Benjamini-Hochberg, type-7 quartiles for
// Tukey's fences (gonum has only Empirical and LinInterp), and Decide.
//
// # How it is tested
//
// Against known answers: STATS.md's (SciPy's and R's Mann-Whitney examples,
// MinP, the median intervals, Benjamini-Hochberg) and further Mann-Whitney
// cases with ties, beyond ExactMax, and exact up to 50 x 50, produced
// offline with SciPy 1.10.1 (Debian's python3-scipy) and pasted into the
// tests; SciPy is never used at test or run time. By construction: the exact
// counts against brute-force enumeration, the bootstrap's counting shortcut
// against explicit resamples, determinism for a seed. By property, with 2000
// resamples (not 10,000) to keep the package's tests to about a second: A vs
// A (10 trials per side, 5% CV, 1000 seeds) is called REGRESSION in at most
// 5% of cases; a 20% drop with 10 trials per side is a REGRESSION in at least
// 95%; 3 trials per side are TOO FEW TRIALS whatever the data.
//
// Privileges: none. Functions never fail or panic on data; empty input gives
// NaN estimates (Interval.N == 0), which callers report as "no data".
package stats
