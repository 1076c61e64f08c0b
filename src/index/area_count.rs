//! Exact counts of the bboxes that meet a box, in time that does not grow with the box.
//!
//! A bbox misses a box `[w, s, e, n]` when it lies wholly east of it (its west above
//! `e`), west of it (its east below `w`), north of it (its south above `n`) or south of
//! it (its north below `s`). No bbox lies both east and west of a box, nor both north
//! and south, so the bboxes meeting it are all of them, less those lying each way, plus
//! those counted twice: east and north, east and south, west and north, west and south.
//! Each way is a search in one side's sorted values; each pair is a count of points
//! beyond a corner ([`Corners`]). West and south are counted on negated sides, so that
//! every way is "above".

use rayon::prelude::*;

use super::dominance::Corners;

// The four ways a bbox lies off a box, as indices of [`sides`] and [`thresholds`].
/// Wholly east: its west above the box's east.
const EAST_OF: usize = 0;
/// Wholly west: its −east above the box's −west.
const WEST_OF: usize = 1;
/// Wholly north: its south above the box's north.
const NORTH_OF: usize = 2;
/// Wholly south: its −north above the box's −south.
const SOUTH_OF: usize = 3;

/// The side of `[west, south, east, north]` that decides each way, in the order above.
fn sides(&[west, south, east, north]: &[f64; 4]) -> [f64; 4] {
    [west, -east, south, -north]
}

/// The values of a box `[w, s, e, n]` each way's side must be above: `e`, `−w`, `n`, `−s`.
fn thresholds(&[w, s, e, n]: &[f64; 4]) -> [f64; 4] {
    [e, -w, n, -s]
}

/// Whether a box `[w, s, e, n]` has finite sides, `w ≤ e` and `s ≤ n`: what the
/// inclusion–exclusion needs of the bboxes and of the box.
fn well_formed(&[w, s, e, n]: &[f64; 4]) -> bool {
    [w, s, e, n].iter().all(|v| v.is_finite()) && w <= e && s <= n
}

/// Bboxes, ready to count those meeting a box.
#[derive(Debug, Default)]
pub struct AreaCounts {
    /// How many bboxes.
    len: usize,
    /// Each way's side of every bbox, ascending.
    sorted: [Vec<f64>; 4],
    /// The pairs east–north, east–south, west–north and west–south: the bboxes as
    /// points (one side of each way), the first way's side ordering them.
    corners: [Corners; 4],
}

/// The ways paired in [`AreaCounts::corners`], in order.
const PAIRS: [(usize, usize); 4] = [
    (EAST_OF, NORTH_OF),
    (EAST_OF, SOUTH_OF),
    (WEST_OF, NORTH_OF),
    (WEST_OF, SOUTH_OF),
];

impl AreaCounts {
    /// The counts of `areas` (`[west, south, east, north]`); `None` unless every side is
    /// finite, west ≤ east and south ≤ north, and they are fewer than `u32::MAX`.
    pub fn new(areas: &[[f64; 4]]) -> Option<AreaCounts> {
        if !areas.iter().all(well_formed) || u32::try_from(areas.len()).is_err() {
            return None;
        }
        // For each way: the bboxes in ascending order of its side, and the rank of each.
        let by_side: Vec<_> = [EAST_OF, WEST_OF, NORTH_OF, SOUTH_OF]
            .into_par_iter()
            .map(|way| {
                let mut values: Vec<(f64, u32)> = areas
                    .iter()
                    .zip(0..)
                    .map(|(area, at)| (sides(area)[way], at))
                    .collect();
                values.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
                let mut ranks = vec![0; values.len()];
                for (rank, (_, at)) in (0..).zip(&values) {
                    if let Some(slot) = ranks.get_mut(*at as usize) {
                        *slot = rank;
                    }
                }
                let sorted: Vec<f64> = values.iter().map(|(value, _)| *value).collect();
                let order: Vec<u32> = values.into_iter().map(|(_, at)| at).collect();
                (sorted, order, ranks)
            })
            .collect();
        let ways: [_; 4] = by_side.try_into().ok()?;
        let corners: Vec<_> = PAIRS
            .into_par_iter()
            .map(|(x, y)| {
                let (order, ranks) = (&ways[x].1, &ways[y].2);
                Corners::new(
                    order
                        .iter()
                        .map(|at| ranks.get(*at as usize).copied().unwrap_or_default())
                        .collect(),
                )
            })
            .collect();
        Some(AreaCounts {
            len: areas.len(),
            sorted: ways.map(|(sorted, _, _)| sorted),
            corners: corners.try_into().ok()?,
        })
    }

    /// How many of the bboxes meet the box `[w, s, e, n]`, edges included; `None` unless
    /// its sides are finite, `w ≤ e` and `s ≤ n`.
    pub fn count(&self, area: &[f64; 4]) -> Option<usize> {
        if !well_formed(area) {
            return None;
        }
        let thresholds = thresholds(area);
        // How many bboxes do not lie off the box each way.
        let not_off: [usize; 4] = std::array::from_fn(|way| {
            self.sorted[way].partition_point(|side| *side <= thresholds[way])
        });
        let [a, b, c, d] = &self.corners;
        let twice = Corners::beyond([a, b, c, d], PAIRS.map(|(x, y)| (not_off[x], not_off[y])));
        let off: usize = not_off.iter().map(|kept| self.len - kept).sum();
        Some((self.len + twice.iter().sum::<usize>()).saturating_sub(off))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic pseudo-random sequence (64-bit LCG).
    struct Rng(u64);

    impl Rng {
        /// A whole number in `[low, high]`, as a float: coarse, so that sides and
        /// boxes share values and edges touch.
        fn whole(&mut self, low: i64, high: i64) -> f64 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (low + ((self.0 >> 33) % (high - low + 1) as u64) as i64) as f64
        }

        fn area(&mut self) -> [f64; 4] {
            let (w, s) = (self.whole(-20, 20), self.whole(-10, 10));
            let (e, n) = (w + self.whole(0, 8), s + self.whole(0, 6));
            [w, s, e, n]
        }
    }

    /// Whether two areas meet, edges included.
    fn meet(&[w, s, e, n]: &[f64; 4], &[ow, os, oe, on]: &[f64; 4]) -> bool {
        w <= oe && ow <= e && s <= on && os <= n
    }

    #[test]
    fn counts_what_a_check_of_every_bbox_counts() {
        let mut rng = Rng(9);
        for len in [0, 1, 5, 300, 2_000] {
            let mut areas: Vec<[f64; 4]> = (0..len).map(|_| rng.area()).collect();
            if len > 1 {
                // Points, a signed zero, the widest box.
                areas[0] = [0.0, 0.0, 0.0, 0.0];
                areas[1] = [-0.0, -90.0, 180.0, 90.0];
            }
            let counts = AreaCounts::new(&areas).expect("well-formed areas");
            for _ in 0..400 {
                let window = rng.area();
                let expected = areas.iter().filter(|a| meet(a, &window)).count();
                assert_eq!(
                    counts.count(&window),
                    Some(expected),
                    "{len} bboxes, {window:?}"
                );
            }
            for window in [[0.0, 0.0, 0.0, 0.0], [-180.0, -90.0, 180.0, 90.0]] {
                let expected = areas.iter().filter(|a| meet(a, &window)).count();
                assert_eq!(counts.count(&window), Some(expected));
            }
        }
    }

    #[test]
    fn declines_what_it_cannot_count() {
        assert!(AreaCounts::new(&[[1.0, 0.0, 0.0, 1.0]]).is_none());
        assert!(AreaCounts::new(&[[0.0, 1.0, 1.0, 0.0]]).is_none());
        assert!(AreaCounts::new(&[[f64::NAN, 0.0, 1.0, 1.0]]).is_none());
        let counts = AreaCounts::new(&[[0.0, 0.0, 1.0, 1.0]]).expect("well-formed");
        assert_eq!(counts.count(&[1.0, 0.0, 0.0, 1.0]), None);
        assert_eq!(counts.count(&[0.0, 1.0, 1.0, 0.0]), None);
        assert_eq!(counts.count(&[0.0, 0.0, f64::INFINITY, 1.0]), None);
        assert_eq!(counts.count(&[1.0, 1.0, 2.0, 2.0]), Some(1));
    }
}
