//! The per-deployment selection, solved exactly: each deployment picks one of its options
//! (a provider, a retry policy, a checkpoint interval: whatever the caller offers), the
//! platform's figures are composed from the options' parts replication by replication, and
//! the cheapest composition that meets the platform-wide objectives wins.
//!
//! **The figures** ([`compose`]) are the ones enumeration would use: per replication, the
//! fixed charges plus each deployment's part of the bill, and the crashed and deadline-miss
//! rates as pooled counts over the deployments counted for platform-wide rates; then their
//! mean and one-sided upper bound over replications ([`Stat`]).
//!
//! **The search** is a depth-first branch and bound. Its bound is a Lagrangian relaxation:
//! a composed rate is at least Σ_f a_f, where a_f is the mean over replications of the
//! deployment's own count divided by the most the denominator can be in that replication, so
//! for any multipliers λ ≥ 0, `Σ_assigned c + Σ_open min_o (c + λ·a) + λ·(Σ_assigned a − L)`
//! bounds the cost of every completion from below (and the upper bound a limit applies to
//! is at least the mean). λ is chosen once, by maximising the root's bound. A subtree is
//! cut when its bound exceeds the best cost found, when even its lowest rates exceed a
//! limit, or when its lowest cost exceeds the cost limit; every leaf that survives is
//! checked on the exact composed figures. Ties go to the lower cost, then to fewer
//! deployments changed from today, then to the first in name order.
//!
//! **Budget**: at most `budget` nodes. If it runs out, the answer is the best found with the
//! lowest bound of what was left unexplored, so the gap is stated, never hidden.

use crate::stats::Stat;

/// One deployment's part of one replication under one option.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Part {
    /// Its tasks' bill over the horizon, USD.
    pub cost: f64,
    /// Runs scheduled.
    pub runs: u64,
    /// Runs Crashed or Failed.
    pub bad: u64,
    /// Runs with a deadline.
    pub deadline_runs: u64,
    /// Of those, missed.
    pub misses: u64,
    /// With a Savings Plan: its on-demand FARGATE vCPU and memory at on-demand rates, USD,
    /// billed through [`PlanTerm`] (not in `cost`).
    pub plan_od: f64,
}

/// A Compute Savings Plan's bill in one replication, as a function of the eligible usage U
/// (on-demand USD): `commitment + max(0, base_od + U − covers)`: the commitment is paid
/// whatever runs, and usage beyond what it covers is billed at on-demand rates. `covers` is
/// calibrated on the all-on-demand baseline's exact hourly bill (the usage its commitment
/// covered, hour by hour), so the baseline composes exactly; the joint simulation bills every
/// pick hour by hour. Convex and nondecreasing in U, so for any `slope` in [0, 1]
/// `commitment + slope · (base_od + U − covers)` is below it: the linear part the bound uses.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PlanTerm {
    /// The commitment over the horizon, USD.
    pub commitment: f64,
    /// Eligible usage it covers, on-demand USD.
    pub covers: f64,
    /// Eligible usage no option changes (the worker), on-demand USD.
    pub base_od: f64,
    /// The bound's slope, 0–1 (the baseline's marginal rate).
    pub slope: f64,
}

impl PlanTerm {
    /// The bill for the deployments' eligible usage `u`.
    pub fn bill(&self, u: f64) -> f64 {
        self.commitment + (self.base_od + u - self.covers).max(0.0)
    }
    /// The bill's linear lower bound without the usage's part (which is `slope · u`).
    fn floor(&self) -> f64 {
        self.commitment + self.slope * (self.base_od - self.covers)
    }
}

/// Platform-wide limits on the composed figures' one-sided upper bounds.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Limits {
    /// Crashed-or-failed rate.
    pub crashed: Option<f64>,
    /// Deadline-miss rate.
    pub deadline_miss: Option<f64>,
    /// Cost per 30 days, USD.
    pub monthly_cost: Option<f64>,
    /// Confidence of the upper bounds.
    pub confidence: f64,
}

/// A selection problem.
#[derive(Clone, Debug, Default)]
pub struct Problem {
    /// `parts[f][o][r]`: deployment f, option o, replication r.
    pub parts: Vec<Vec<Vec<Part>>>,
    /// Charges that no option changes (the worker, hourly network), per replication, USD.
    pub fixed: Vec<f64>,
    /// A Savings Plan's bill per replication (empty: no plan).
    pub plan: Vec<PlanTerm>,
    /// Horizon to 30 days.
    pub per30: f64,
    /// The limits.
    pub limits: Limits,
    /// Options each deployment may take (empty: all).
    pub allowed: Vec<Vec<usize>>,
    /// Deployments whose runs count in platform-wide rates (empty: all).
    pub counted: Vec<bool>,
    /// Today's option of each deployment, if it is one of the options.
    pub current: Vec<Option<usize>>,
    /// Deployment order by name (a permutation of 0..n), for the last tie-break.
    pub by_name: Vec<usize>,
    /// Choices ruled out (rejected by the joint simulation).
    pub excluded: Vec<Vec<usize>>,
    /// Most nodes visited.
    pub budget: u64,
}

/// A choice's composed figures.
#[derive(Clone, Debug, PartialEq)]
pub struct Composed {
    /// Cost per 30 days, USD.
    pub cost: Stat,
    /// Crashed-or-failed rate.
    pub crashed: Stat,
    /// Deadline-miss rate.
    pub deadline_miss: Stat,
    /// Counted runs and runs with a deadline, pooled over the replications.
    pub trials: [f64; 2],
}

impl Composed {
    /// Whether it meets every limit: rates on their honest upper bound
    /// ([`crate::stats::rate_upper`], as the sweep judges them), the cost on its t bound.
    pub fn meets(&self, l: &Limits) -> bool {
        self.breaks(l).is_empty()
    }

    /// The limits it breaks, each with its bound and the limit: `("max_crashed", 0.012,
    /// 0.01)`.
    pub fn breaks(&self, l: &Limits) -> Vec<Broken> {
        let c = l.confidence;
        let rate = |st: &Stat, n: f64| crate::stats::rate_upper(st, n, c);
        let mut out = Vec::new();
        if let Some(x) = l.crashed {
            let u = rate(&self.crashed, self.trials[0]);
            if u > x {
                out.push(("max_crashed", u, x));
            }
        }
        if let Some(x) = l.deadline_miss {
            let u = rate(&self.deadline_miss, self.trials[1]);
            if u > x {
                out.push(("max_deadline_miss", u, x));
            }
        }
        if let Some(x) = l.monthly_cost {
            let u = self.cost.upper(c);
            if u > x {
                out.push(("max_monthly_cost", u, x));
            }
        }
        out
    }
}

/// A limit broken: its objective, the bound reached and the limit.
pub type Broken = (&'static str, f64, f64);

/// A deployment held back: its index, the cheaper option it would take on its own, and the
/// limits moving it alone there would break.
pub type HeldBack = (usize, usize, Vec<Broken>);

/// For each deployment of `choice` that a platform-wide limit holds back: the cheaper option
/// it would take on its own (the cheapest allowed one, by its mean cost) and the limits that
/// moving it alone there would break. What "the constraint that moved it" means for a pick.
pub fn held_back(p: &Problem, choice: &[usize]) -> Vec<HeldBack> {
    let cost = |f: usize, o: usize| p.own_cost(f, o);
    let mut out = Vec::new();
    for f in 0..p.n() {
        let Some(cheapest) = p
            .allowed(f)
            .into_iter()
            .min_by(|&a, &b| cost(f, a).total_cmp(&cost(f, b)).then(a.cmp(&b)))
        else {
            continue;
        };
        if cheapest == choice[f] || cost(f, cheapest) >= cost(f, choice[f]) {
            continue;
        }
        let mut alone = choice.to_vec();
        alone[f] = cheapest;
        let broken = compose(p, &alone).breaks(&p.limits);
        if !broken.is_empty() {
            out.push((f, cheapest, broken));
        }
    }
    out
}

/// The answer.
#[derive(Clone, Debug, PartialEq)]
pub struct Solution {
    /// The best choice found (an option per deployment) and its figures; `None` if no
    /// choice meets the limits (or none was found within the budget).
    pub best: Option<(Vec<usize>, Composed)>,
    /// Nodes visited.
    pub nodes: u64,
    /// Whether the budget ran out before the search was complete.
    pub exhausted: bool,
    /// A lower bound on the optimum's mean cost per 30 days (equal to the best's cost when
    /// the search is complete).
    pub bound: f64,
}

impl Problem {
    /// Deployment `f`'s own cost under option `o`, summed over replications, USD: its part,
    /// and its Savings Plan usage at the bound's slope (the baseline's marginal rate).
    pub fn own_cost(&self, f: usize, o: usize) -> f64 {
        self.parts[f][o]
            .iter()
            .enumerate()
            .map(|(r, x)| x.cost + self.plan.get(r).map_or(0.0, |t| t.slope) * x.plan_od)
            .sum()
    }
    fn n(&self) -> usize {
        self.parts.len()
    }
    fn reps(&self) -> usize {
        self.fixed.len()
    }
    fn allowed(&self, f: usize) -> Vec<usize> {
        match self.allowed.get(f) {
            Some(a) if !a.is_empty() => a.clone(),
            _ => (0..self.parts[f].len()).collect(),
        }
    }
    fn counted(&self, f: usize) -> bool {
        self.counted.get(f).copied().unwrap_or(true)
    }
    /// Deployments changed from today.
    fn changed(&self, choice: &[usize]) -> usize {
        choice
            .iter()
            .enumerate()
            .filter(|(f, o)| self.current.get(*f).copied().flatten() != Some(**o))
            .count()
    }
    /// The choice in name order, for the last tie-break.
    fn name_key(&self, choice: &[usize]) -> Vec<usize> {
        if self.by_name.len() == choice.len() {
            self.by_name.iter().map(|&f| choice[f]).collect()
        } else {
            choice.to_vec()
        }
    }
    /// Whether choice `a` (with figures) beats `b`: lower cost, fewer changes, name order.
    fn better(&self, a: (&[usize], f64), b: (&[usize], f64)) -> bool {
        a.1.total_cmp(&b.1)
            .then(self.changed(a.0).cmp(&self.changed(b.0)))
            .then(self.name_key(a.0).cmp(&self.name_key(b.0)))
            .is_lt()
    }
}

/// The figures of `choice` (an option per deployment), replication by replication in
/// deployment order: what enumeration and the search both judge.
pub fn compose(p: &Problem, choice: &[usize]) -> Composed {
    let reps = p.reps();
    let (mut cost, mut crash, mut miss) = (
        Vec::with_capacity(reps),
        Vec::with_capacity(reps),
        Vec::with_capacity(reps),
    );
    let mut trials = [0.0; 2];
    for r in 0..reps {
        let (mut c, mut runs, mut bad, mut druns, mut dmiss) = (p.fixed[r], 0, 0, 0, 0);
        let mut plan_od = 0.0;
        for (f, &o) in choice.iter().enumerate() {
            let x = &p.parts[f][o][r];
            c += x.cost;
            plan_od += x.plan_od;
            if p.counted(f) {
                runs += x.runs;
                bad += x.bad;
                druns += x.deadline_runs;
                dmiss += x.misses;
            }
        }
        if let Some(t) = p.plan.get(r) {
            c += t.bill(plan_od);
        }
        cost.push(c * p.per30);
        trials[0] += runs as f64;
        trials[1] += druns as f64;
        crash.push(if runs == 0 {
            0.0
        } else {
            bad as f64 / runs as f64
        });
        miss.push(if druns == 0 {
            0.0
        } else {
            dmiss as f64 / druns as f64
        });
    }
    Composed {
        cost: Stat::of(&cost),
        crashed: Stat::of(&crash),
        deadline_miss: Stat::of(&miss),
        trials,
    }
}

/// Every choice, the best by the same rule (for tests: K^n compositions).
pub fn enumerate(p: &Problem) -> Option<(Vec<usize>, Composed)> {
    let allowed: Vec<Vec<usize>> = (0..p.n()).map(|f| p.allowed(f)).collect();
    let mut idx = vec![0usize; p.n()];
    let mut best: Option<(Vec<usize>, Composed)> = None;
    loop {
        let choice: Vec<usize> = idx
            .iter()
            .enumerate()
            .map(|(f, &k)| allowed[f][k])
            .collect();
        if !p.excluded.contains(&choice) {
            let fig = compose(p, &choice);
            if fig.meets(&p.limits)
                && best
                    .as_ref()
                    .is_none_or(|b| p.better((&choice, fig.cost.mean), (&b.0, b.1.cost.mean)))
            {
                best = Some((choice, fig));
            }
        }
        // the next combination, last deployment fastest
        let mut f = p.n();
        loop {
            if f == 0 {
                return best;
            }
            f -= 1;
            idx[f] += 1;
            if idx[f] < allowed[f].len() {
                break;
            }
            idx[f] = 0;
        }
    }
}

/// Per option, what the bound reads: mean cost per 30 days and the two rates' linear parts.
#[derive(Clone, Copy, Debug)]
struct Lin {
    c: f64,
    a: [f64; 2],
}

/// The linear parts of every option.
fn linear(p: &Problem) -> Vec<Vec<Lin>> {
    let reps = p.reps();
    // the most each replication's denominators can be
    let mut dmax = vec![[0u64; 2]; reps];
    for f in 0..p.n() {
        if !p.counted(f) {
            continue;
        }
        for (r, d) in dmax.iter_mut().enumerate() {
            let (mut runs, mut druns) = (0, 0);
            for o in p.allowed(f) {
                runs = runs.max(p.parts[f][o][r].runs);
                druns = druns.max(p.parts[f][o][r].deadline_runs);
            }
            d[0] += runs;
            d[1] += druns;
        }
    }
    let n = reps.max(1) as f64;
    (0..p.n())
        .map(|f| {
            (0..p.parts[f].len())
                .map(|o| {
                    let mut lin = Lin {
                        c: 0.0,
                        a: [0.0; 2],
                    };
                    for (r, x) in p.parts[f][o].iter().enumerate() {
                        let slope = p.plan.get(r).map_or(0.0, |t| t.slope);
                        lin.c += (x.cost + slope * x.plan_od) * p.per30;
                        if p.counted(f) {
                            if dmax[r][0] > 0 {
                                lin.a[0] += x.bad as f64 / dmax[r][0] as f64;
                            }
                            if dmax[r][1] > 0 {
                                lin.a[1] += x.misses as f64 / dmax[r][1] as f64;
                            }
                        }
                    }
                    lin.c /= n;
                    lin.a[0] /= n;
                    lin.a[1] /= n;
                    lin
                })
                .collect()
        })
        .collect()
}

/// The rate limits as `[crashed, deadline_miss]` (infinite when not set).
fn rate_limits(l: &Limits) -> [f64; 2] {
    [
        l.crashed.unwrap_or(f64::INFINITY),
        l.deadline_miss.unwrap_or(f64::INFINITY),
    ]
}

/// The Lagrangian bound of the whole problem at λ.
fn root_bound(lin: &[Vec<Lin>], allowed: &[Vec<usize>], limits: [f64; 2], lambda: [f64; 2]) -> f64 {
    let mut b = 0.0;
    for (f, opts) in allowed.iter().enumerate() {
        b += opts
            .iter()
            .map(|&o| lin[f][o].c + lambda[0] * lin[f][o].a[0] + lambda[1] * lin[f][o].a[1])
            .fold(f64::INFINITY, f64::min);
    }
    for k in 0..2 {
        if lambda[k] > 0.0 {
            b -= lambda[k] * limits[k];
        }
    }
    b
}

/// Multipliers that make the root's bound high: coordinate ascent, each coordinate by a
/// golden-section search over log λ (the bound is concave in λ; any λ ≥ 0 is valid).
fn multipliers(lin: &[Vec<Lin>], allowed: &[Vec<usize>], limits: [f64; 2]) -> [f64; 2] {
    let mut lambda = [0.0; 2];
    // the scale of a multiplier: cost per unit of rate
    let spread: f64 = lin
        .iter()
        .map(|o| {
            let lo = o.iter().map(|x| x.c).fold(f64::INFINITY, f64::min);
            let hi = o.iter().map(|x| x.c).fold(f64::NEG_INFINITY, f64::max);
            hi - lo
        })
        .sum::<f64>()
        .max(1e-9);
    for _ in 0..3 {
        for k in 0..2 {
            if !limits[k].is_finite() {
                continue;
            }
            let at = |x: f64| {
                let mut l = lambda;
                l[k] = if x <= -30.0 { 0.0 } else { x.exp() * spread };
                root_bound(lin, allowed, limits, l)
            };
            let (mut lo, mut hi) = (-30.0f64, 30.0f64);
            let g = 0.618_033_988_75;
            let (mut x1, mut x2) = (hi - g * (hi - lo), lo + g * (hi - lo));
            let (mut f1, mut f2) = (at(x1), at(x2));
            for _ in 0..60 {
                if f1 < f2 {
                    lo = x1;
                    x1 = x2;
                    f1 = f2;
                    x2 = lo + g * (hi - lo);
                    f2 = at(x2);
                } else {
                    hi = x2;
                    x2 = x1;
                    f2 = f1;
                    x1 = hi - g * (hi - lo);
                    f1 = at(x1);
                }
            }
            let x = if f1 > f2 { x1 } else { x2 };
            let cand = if x <= -29.0 { 0.0 } else { x.exp() * spread };
            let mut l = lambda;
            l[k] = cand;
            if root_bound(lin, allowed, limits, l) > root_bound(lin, allowed, limits, lambda) {
                lambda = l;
            }
        }
    }
    lambda
}

/// The options of deployment `f` the search needs: of options with identical parts in every
/// replication (the same composed figures in any choice: on demand, a fallback that never
/// fires), only the one the tie-break would keep (today's, else the lowest index); all of
/// them once a choice has been excluded (an identical twin may then be the next best).
fn distinct(p: &Problem, f: usize) -> Vec<usize> {
    let all = p.allowed(f);
    if !p.excluded.is_empty() {
        return all;
    }
    let today = p.current.get(f).copied().flatten();
    let mut keep: Vec<usize> = Vec::new();
    for &o in &all {
        match keep.iter().position(|&k| p.parts[f][k] == p.parts[f][o]) {
            None => keep.push(o),
            Some(i) if today == Some(o) => keep[i] = o,
            Some(_) => {}
        }
    }
    keep
}

/// Solves the selection exactly (within the budget).
pub fn solve(p: &Problem) -> Solution {
    let n = p.n();
    let allowed: Vec<Vec<usize>> = (0..n).map(|f| distinct(p, f)).collect();
    let lin = linear(p);
    let limits = rate_limits(&p.limits);
    let lambda = multipliers(&lin, &allowed, limits);
    let score =
        |f: usize, o: usize| lin[f][o].c + lambda[0] * lin[f][o].a[0] + lambda[1] * lin[f][o].a[1];
    // deployments with the most at stake first; options by reduced cost
    let mut order: Vec<usize> = (0..n).collect();
    let stake = |f: usize| {
        let s: Vec<f64> = allowed[f].iter().map(|&o| score(f, o)).collect();
        s.iter().cloned().fold(f64::NEG_INFINITY, f64::max)
            - s.iter().cloned().fold(f64::INFINITY, f64::min)
    };
    order.sort_by(|&a, &b| stake(b).total_cmp(&stake(a)).then(a.cmp(&b)));
    let options: Vec<Vec<usize>> = order
        .iter()
        .map(|&f| {
            let mut o = allowed[f].clone();
            o.sort_by(|&x, &y| score(f, x).total_cmp(&score(f, y)).then(x.cmp(&y)));
            o
        })
        .collect();
    // suffix minima over the search order: plain cost, reduced cost, each rate
    let mut suf_c = vec![0.0; n + 1];
    let mut suf_l = vec![0.0; n + 1];
    let mut suf_a = vec![[0.0; 2]; n + 1];
    for d in (0..n).rev() {
        let f = order[d];
        let min = |g: &dyn Fn(usize) -> f64| {
            options[d]
                .iter()
                .map(|&o| g(o))
                .fold(f64::INFINITY, f64::min)
        };
        suf_c[d] = suf_c[d + 1] + min(&|o| lin[f][o].c);
        suf_l[d] = suf_l[d + 1] + min(&|o| score(f, o));
        let next = suf_a[d + 1];
        for (k, x) in suf_a[d].iter_mut().enumerate() {
            *x = next[k] + min(&|o| lin[f][o].a[k]);
        }
    }
    let fixed = (p.fixed.iter().sum::<f64>() + p.plan.iter().map(PlanTerm::floor).sum::<f64>())
        / p.reps().max(1) as f64
        * p.per30;
    let cost_limit = p.limits.monthly_cost.unwrap_or(f64::INFINITY);
    let mut s = Search {
        p,
        lin: &lin,
        order: &order,
        options: &options,
        suf_c: &suf_c,
        suf_l: &suf_l,
        suf_a: &suf_a,
        lambda,
        limits,
        cost_limit,
        fixed,
        choice: vec![0; n],
        best: None,
        nodes: 0,
        exhausted: false,
        open_bound: f64::INFINITY,
    };
    s.dive(0, 0.0, [0.0; 2]);
    let root = s.bound_at(0, 0.0, [0.0; 2]);
    let bound = match (&s.best, s.exhausted) {
        (Some((_, fig)), false) => fig.cost.mean,
        (Some((_, fig)), true) => s.open_bound.min(fig.cost.mean),
        (None, false) => f64::INFINITY,
        (None, true) => s.open_bound.max(root),
    };
    Solution {
        best: s.best,
        nodes: s.nodes,
        exhausted: s.exhausted,
        bound,
    }
}

struct Search<'a> {
    p: &'a Problem,
    lin: &'a [Vec<Lin>],
    order: &'a [usize],
    options: &'a [Vec<usize>],
    suf_c: &'a [f64],
    suf_l: &'a [f64],
    suf_a: &'a [[f64; 2]],
    lambda: [f64; 2],
    limits: [f64; 2],
    cost_limit: f64,
    fixed: f64,
    choice: Vec<usize>,
    best: Option<(Vec<usize>, Composed)>,
    nodes: u64,
    exhausted: bool,
    /// The lowest bound of subtrees left unexplored when the budget ran out.
    open_bound: f64,
}

impl Search<'_> {
    /// The bound of every completion below depth `d`, given the assigned cost and rates.
    fn bound_at(&self, d: usize, c: f64, a: [f64; 2]) -> f64 {
        let plain = self.fixed + c + self.suf_c[d];
        let mut lag = self.fixed + c + self.suf_l[d];
        for (k, l) in self.lambda.iter().enumerate() {
            if *l > 0.0 {
                lag += l * (a[k] - self.limits[k]);
            }
        }
        plain.max(lag)
    }

    fn dive(&mut self, d: usize, c: f64, a: [f64; 2]) {
        let bound = self.bound_at(d, c, a);
        let tol = 1e-9 * (1.0 + bound.abs());
        if let Some((_, fig)) = &self.best
            && bound > fig.cost.mean + tol
        {
            return;
        }
        // even the lowest rates or the lowest cost of any completion break a limit
        if (0..2).any(|k| a[k] + self.suf_a[d][k] > self.limits[k] + 1e-12) {
            return;
        }
        if self.fixed + c + self.suf_c[d] > self.cost_limit + tol {
            return;
        }
        if self.nodes >= self.p.budget {
            self.exhausted = true;
            self.open_bound = self.open_bound.min(bound);
            return;
        }
        self.nodes += 1;
        if d == self.order.len() {
            self.leaf();
            return;
        }
        let f = self.order[d];
        for i in 0..self.options[d].len() {
            let o = self.options[d][i];
            self.choice[f] = o;
            let x = &self.lin[f][o];
            self.dive(d + 1, c + x.c, [a[0] + x.a[0], a[1] + x.a[1]]);
        }
    }

    fn leaf(&mut self) {
        if self.p.excluded.contains(&self.choice) {
            return;
        }
        let fig = compose(self.p, &self.choice);
        if !fig.meets(&self.p.limits) {
            return;
        }
        let wins = self.best.as_ref().is_none_or(|(b, bf)| {
            self.p
                .better((&self.choice, fig.cost.mean), (b, bf.cost.mean))
        });
        if wins {
            self.best = Some((self.choice.clone(), fig));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};
    use rand_xoshiro::SplitMix64;

    /// A random platform: `n` deployments with 2–3 options, spot-like ones cheaper and
    /// crashier, some without deadlines; random limits that bind often.
    fn platform(g: &mut SplitMix64, n: usize, reps: usize) -> Problem {
        platform_with(g, n, reps, false)
    }

    /// The same, and with `plan` a Savings Plan whose commitment covers a random share of
    /// what every deployment on demand would use (so moving some, not all, can be cheapest).
    fn platform_with(g: &mut SplitMix64, n: usize, reps: usize, plan: bool) -> Problem {
        let mut parts = Vec::new();
        for _ in 0..n {
            let k = 2 + (g.random::<f64>() * 2.0) as usize;
            let runs = 10 + (g.random::<f64>() * 200.0) as u64;
            let deadline = g.random::<f64>() < 0.6;
            let base_cost = 1.0 + g.random::<f64>() * 20.0;
            let mut opts = Vec::new();
            for o in 0..k {
                let discount = if o == 0 {
                    1.0
                } else {
                    0.3 + 0.6 * g.random::<f64>()
                };
                let risk = if o == 0 {
                    0.002
                } else {
                    0.05 * g.random::<f64>()
                };
                let reps_parts: Vec<Part> = (0..reps)
                    .map(|_| {
                        let bad = (0..runs).filter(|_| g.random::<f64>() < risk).count() as u64;
                        let dr = if deadline { runs } else { 0 };
                        let misses =
                            (0..dr).filter(|_| g.random::<f64>() < risk * 1.5).count() as u64;
                        let cost = base_cost * discount * (0.9 + 0.2 * g.random::<f64>());
                        // under a Savings Plan, on-demand usage is billed through its term
                        let (cost, plan_od) = if plan && o == 0 {
                            (0.05 * cost, 0.95 * cost)
                        } else {
                            (cost, 0.0)
                        };
                        Part {
                            cost,
                            runs,
                            bad,
                            deadline_runs: dr,
                            misses,
                            plan_od,
                        }
                    })
                    .collect();
                opts.push(reps_parts);
            }
            parts.push(opts);
        }
        let mut by_name: Vec<usize> = (0..n).collect();
        by_name.sort_by_key(|&f| (f * 7) % n.max(1));
        let plan = if plan {
            (0..reps)
                .map(|r| {
                    let all: f64 = parts.iter().map(|o: &Vec<Vec<Part>>| o[0][r].plan_od).sum();
                    let covers = all * g.random::<f64>() * 1.2;
                    PlanTerm {
                        commitment: 0.8 * covers,
                        covers,
                        base_od: 0.0,
                        slope: g.random::<f64>(),
                    }
                })
                .collect()
        } else {
            Vec::new()
        };
        Problem {
            parts,
            plan,
            fixed: (0..reps).map(|_| 5.0 + g.random::<f64>()).collect(),
            per30: 1.0,
            limits: Limits {
                crashed: (g.random::<f64>() < 0.8).then(|| 0.002 + 0.02 * g.random::<f64>()),
                deadline_miss: (g.random::<f64>() < 0.5).then(|| 0.003 + 0.03 * g.random::<f64>()),
                monthly_cost: (g.random::<f64>() < 0.2)
                    .then(|| 5.0 + n as f64 * 8.0 * g.random::<f64>()),
                confidence: 0.95,
            },
            allowed: Vec::new(),
            counted: (0..n).map(|_| g.random::<f64>() < 0.9).collect(),
            current: (0..n).map(|_| Some(0)).collect(),
            by_name,
            excluded: Vec::new(),
            budget: u64::MAX,
        }
    }

    #[test]
    fn the_search_picks_what_enumeration_picks() {
        let mut g = SplitMix64::seed_from_u64(11);
        let (mut feasible, mut binding, mut mixed) = (0, 0, 0);
        for case in 0..300 {
            let n = 1 + case % 10;
            let mut p = platform_with(&mut g, n, 8, case % 4 == 2);
            if case % 7 == 3 {
                // a tie: a second deployment identical to the first
                if n > 1 {
                    p.parts[1] = p.parts[0].clone();
                    p.counted[1] = p.counted[0];
                }
            }
            if case % 3 == 1 {
                // identical twin options (on demand under two retry policies): the twin
                // after its original, before it, and as today's option
                let f = case % n;
                let twin = p.parts[f][0].clone();
                p.parts[f].push(twin.clone());
                p.parts[f].insert(0, twin);
                // today's: the original (now second), or its last twin
                p.current[f] = Some(if case % 2 == 0 {
                    p.parts[f].len() - 1
                } else {
                    1
                });
                if !p.allowed.is_empty() {
                    p.allowed[f] = (0..p.parts[f].len()).collect();
                }
            }
            let want = enumerate(&p);
            if case % 5 == 0
                && let Some((c, _)) = &want
            {
                // the joint simulation rejected the best: the next best must come out
                p.excluded.push(c.clone());
            }
            let want = enumerate(&p);
            let got = solve(&p);
            assert!(!got.exhausted);
            assert_eq!(got.best, want, "case {case}: n = {n}, {:?}", p.limits);
            if let Some((c, fig)) = &want {
                feasible += 1;
                assert_eq!(got.bound, fig.cost.mean);
                let cheapest: Vec<usize> = (0..n)
                    .map(|f| {
                        (0..p.parts[f].len())
                            .min_by(|&a, &b| {
                                let m =
                                    |o: usize| p.parts[f][o].iter().map(|x| x.cost).sum::<f64>();
                                m(a).total_cmp(&m(b))
                            })
                            .unwrap()
                    })
                    .collect();
                binding += usize::from(*c != cheapest);
                // under a plan, keeping some deployments on demand (inside the commitment)
                // and moving others can be the best
                mixed +=
                    usize::from(!p.plan.is_empty() && c.contains(&0) && c.iter().any(|&o| o != 0));
            }
        }
        assert!(mixed > 10, "mixed {mixed}");
        // the cases exercise both outcomes and limits that move the pick
        assert!(feasible > 100 && feasible < 300, "feasible {feasible}");
        assert!(binding > 30, "binding {binding}");
    }

    #[test]
    fn a_budget_that_runs_out_states_a_bound_below_the_optimum() {
        let mut g = SplitMix64::seed_from_u64(5);
        let mut seen = 0;
        for _ in 0..40 {
            let mut p = platform(&mut g, 10, 8);
            let Some((_, opt)) = enumerate(&p) else {
                continue;
            };
            p.budget = 5;
            let s = solve(&p);
            if s.exhausted {
                seen += 1;
                assert!(
                    s.bound <= opt.cost.mean + 1e-9,
                    "{} > {}",
                    s.bound,
                    opt.cost.mean
                );
                if let Some((_, f)) = &s.best {
                    assert!(f.cost.mean >= opt.cost.mean - 1e-9);
                }
            }
        }
        assert!(seen > 10);
    }
}
