//! Areas held as `f32`, half the bytes of `f64`, still compared exactly.
//!
//! An Item's area is rounded outward (west and south down, east and north up) and a
//! window's the other way (west and south up, east and north down). Each of the four
//! comparisons that decide whether they meet then comes out one of three ways: surely
//! true when the rounded values are in order and differ, surely false when they are out
//! of order, and undecided when they are equal, where only the exact values can tell.
//!
//! Why that holds, for the Item's west `x` against the window's east `E` (`x ≤ E`), with
//! `x'` the largest `f32` not above `x` and `E'` the largest `f32` not above `E`:
//! `x' < E'` gives `x < next(x') ≤ E' ≤ E`; `x' > E'` gives `x ≥ x' > E`, as no `f32`
//! lies in `(E', E]`. The other three comparisons mirror it.

/// An area `[west, south, east, north]` (west not above east) rounded outward to `f32`.
#[derive(Debug, Clone, Copy, Default)]
pub struct CoarseArea([f32; 4]);

/// A window's area `[west, south, east, north]` rounded inward to `f32`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CoarseWindow([f32; 4]);

impl CoarseArea {
    /// The area rounded outward; NaN stays NaN, which no comparison holds for.
    pub fn of(&[west, south, east, north]: &[f64; 4]) -> CoarseArea {
        CoarseArea([down(west), down(south), up(east), up(north)])
    }

    /// Whether the exact area surely meets the window (edges included), and whether it
    /// may: when it may but not surely, only the exact values can tell.
    #[inline]
    pub fn meets(&self, window: &CoarseWindow) -> (bool, bool) {
        let [west, south, east, north] = self.0;
        let [w, s, e, n] = window.0;
        // `&`, not `&&`: without branches, which scans of mostly misses mispredict.
        let surely = (west < e) & (w < east) & (south < n) & (s < north);
        let maybe = (west <= e) & (w <= east) & (south <= n) & (s <= north);
        (surely, maybe)
    }
}

impl CoarseWindow {
    /// The window's area rounded inward.
    pub fn of(&[west, south, east, north]: &[f64; 4]) -> CoarseWindow {
        CoarseWindow([up(west), up(south), down(east), down(north)])
    }
}

/// The largest `f32` not above `x` (saturating at the infinities).
fn down(x: f64) -> f32 {
    let rounded = x as f32;
    if f64::from(rounded) > x {
        rounded.next_down()
    } else {
        rounded
    }
}

/// The smallest `f32` not below `x` (saturating at the infinities).
fn up(x: f64) -> f32 {
    let rounded = x as f32;
    if f64::from(rounded) < x {
        rounded.next_up()
    } else {
        rounded
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether two areas meet, edges included.
    fn meet(&[w, s, e, n]: &[f64; 4], &[ow, os, oe, on]: &[f64; 4]) -> bool {
        w <= oe && ow <= e && s <= on && os <= n
    }

    #[test]
    fn rounds_to_the_nearest_f32_on_the_side_asked() {
        for x in [
            0.1,
            -0.1,
            1.0,
            180.0,
            -179.99999999,
            1e-50,
            -1e-50,
            1e300,
            -1e300,
        ] {
            let (low, high) = (down(x), up(x));
            assert!(f64::from(low) <= x && x <= f64::from(high), "{x}");
            assert!(f64::from(low.next_up()) > x, "{x}");
            assert!(f64::from(high.next_down()) < x, "{x}");
        }
        assert_eq!((down(0.5), up(0.5)), (0.5, 0.5));
        assert!(down(f64::NAN).is_nan() && up(f64::NAN).is_nan());
    }

    #[test]
    fn never_contradicts_the_exact_comparison() {
        // Sides an f64 ulp apart, an f32 ulp apart, equal and far apart, so that every
        // comparison is tried surely true, surely false and undecided.
        let near = |x: f64| {
            let ulp32 = f64::from(up(x).next_up()) - f64::from(up(x));
            [
                x,
                x.next_up(),
                x.next_down(),
                x + ulp32,
                x - ulp32,
                x + 1.0,
                x - 1.0,
            ]
        };
        let sides: Vec<f64> = [10.0, 10.1, -33.3, 0.0]
            .iter()
            .flat_map(|x| near(*x))
            .collect();
        let mut undecided = 0;
        let mut checked = 0;
        for &a in &sides {
            for &b in &sides {
                let area = [a.min(b), a.min(b), a.max(b), a.max(b)];
                for &c in &sides {
                    for &d in &sides {
                        let window = [c.min(d), c.min(d), c.max(d), c.max(d)];
                        let exact = meet(&area, &window);
                        let (surely, maybe) =
                            CoarseArea::of(&area).meets(&CoarseWindow::of(&window));
                        assert!(!surely || exact, "{area:?} {window:?}");
                        assert!(maybe || !exact, "{area:?} {window:?}");
                        undecided += usize::from(maybe && !surely);
                        checked += 1;
                    }
                }
            }
        }
        // Far-apart sides decide most pairs; touching ones are left to the exact check.
        assert!(
            undecided > 0 && undecided < checked / 2,
            "{undecided} of {checked}"
        );
    }
}
