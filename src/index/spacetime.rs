//! A packed R-tree over Item bboxes and time ranges that counts the Items of a window
//! without visiting them one by one.
//!
//! `rstar` keeps no count per node, so the exact `numberMatched` of a search used to visit
//! every Item in its box. Here the Items are laid out once per snapshot in Hilbert order
//! of their bbox centres and grouped [`FANOUT`] at a time, level by level, so that every
//! node covers a contiguous run of entries: a node wholly inside the window adds the
//! length of its run, and only nodes on the window's edge are opened. Each node also
//! bounds the time ranges below it, so a `datetime` narrows the walk as the bbox does,
//! and each level keeps its runs' times sorted (as ranks, in cache-line blocks under
//! layers of samples), so a node inside the box counts a `datetime` reading a block per
//! layer for its starts and for its ends. For one page in position order, nodes are
//! opened best first by the lowest position under them, and the walk ends at the first
//! node that cannot make the page; where a window holds many Items, the walk is made
//! first in a smaller tree over the lowest positions alone, whose nodes lie nearer
//! together in memory. A box without a `datetime` spanning more than a few leaves is
//! counted without the tree, by the sides of the bboxes (`area_count`), in about the same
//! time whatever its size.
//!
//! Times are compared as nanoseconds since the epoch ([`Window::new`] declines an instant
//! outside that range, and the search then takes its general path). Items whose bbox
//! crosses the antimeridian are kept aside and checked one by one, so that no Item has
//! two entries to be counted twice.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use chrono::{DateTime, Utc};
use rayon::prelude::*;

use super::area_count::AreaCounts;
use super::coarse::{CoarseArea, CoarseWindow};
use super::{Bbox, Interval};

/// Children per node.
pub const FANOUT: usize = 16;

/// Each prefix tree holds the first `1 / PREFIX_STEP` of the positions of the tree above.
const PREFIX_STEP: usize = 16;

/// The fewest positions a prefix tree is built for: a tree that small already fits in
/// the caches.
const PREFIX_MIN: usize = 4096;

/// How many pages' worth of a window's Items a prefix tree is expected to hold before a
/// page is looked for there first. With 2, a prefix comes up short (and the page is then
/// looked for in the whole tree) about once in three hundred windows when positions have
/// nothing to do with places: measured with the index bench's `search mix` (2 and 4
/// tried, 2 a few per cent faster at 1M).
const PREFIX_MARGIN: usize = 2;

/// How many cells of the size of a typical leaf a box without a `datetime` spans from
/// which its Items are counted by the sides of their bboxes ([`AreaCounts`]), which
/// takes about as long whatever the box, rather than through the tree, which opens
/// more nodes along a longer edge: measured with the index bench's `search 1M` and
/// `search mix` (4, 16 and 64 tried).
const LEAF_CELLS_FOR_SIDES: f64 = 16.0;

/// The window of a search: a box not crossing the antimeridian, a time range, or both.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    /// `[west, south, east, north]`, edges included.
    area: Option<[f64; 4]>,
    /// The area rounded inward to `f32`, to compare the tree's entries with.
    coarse_area: Option<CoarseWindow>,
    /// `[start, end]` in nanoseconds, ends included, open ends at [`OPEN_START`] and
    /// [`OPEN_END`].
    time: Option<[i64; 2]>,
}

/// Where an open start or an Item time before the representable range sits.
const OPEN_START: i64 = i64::MIN + 1;
/// Where an open end or an Item time after the representable range sits.
const OPEN_END: i64 = i64::MAX - 1;
/// The time of an Item without one: an empty range, which no `datetime` overlaps.
const NO_TIME: [i64; 2] = [i64::MAX, i64::MIN];

impl Window {
    /// The window of a bbox and a `datetime`; `None` when the box crosses the
    /// antimeridian or an instant lies outside the years 1677–2262, which nanoseconds
    /// since the epoch cannot hold.
    pub fn new(bbox: Option<&Bbox>, datetime: Option<&Interval>) -> Option<Window> {
        let area = match bbox {
            Some(b) if b.west > b.east => return None,
            Some(b) => Some([b.west, b.south, b.east, b.north]),
            None => None,
        };
        let bound = |instant: Option<DateTime<Utc>>, open: i64| match instant {
            None => Some(open),
            Some(instant) => instant
                .timestamp_nanos_opt()
                .filter(|n| (OPEN_START + 1..OPEN_END).contains(n)),
        };
        let time = match datetime {
            Some(interval) => Some([
                bound(interval.start, OPEN_START)?,
                bound(interval.end, OPEN_END)?,
            ]),
            None => None,
        };
        Some(Window::of(area, time))
    }

    /// The window of an area and a time range, as they are compared.
    fn of(area: Option<[f64; 4]>, time: Option<[i64; 2]>) -> Window {
        Window {
            area,
            coarse_area: area.as_ref().map(CoarseWindow::of),
            time,
        }
    }

    /// Whether it narrows by area.
    pub fn has_area(&self) -> bool {
        self.area.is_some()
    }

    /// Whether it narrows nothing: every Item is in it.
    pub fn is_everything(&self) -> bool {
        self.area.is_none() && self.time.is_none()
    }
}

/// A bbox and a time range in comparable form.
#[derive(Debug, Clone, Copy)]
struct Envelope {
    /// `[west, south, east, north]`; NaN when the Item has no bbox (no comparison holds),
    /// west greater than east when it crosses the antimeridian.
    area: [f64; 4],
    /// `[start, end]` in nanoseconds; [`NO_TIME`] for an Item without time.
    time: [i64; 2],
}

impl Envelope {
    /// An Item's envelope.
    fn of(bbox: Option<Bbox>, time: Option<Interval>) -> Envelope {
        let area = bbox.map_or([f64::NAN; 4], |b| [b.west, b.south, b.east, b.north]);
        let time = time.map_or(NO_TIME, |t| {
            [nanos(t.start, OPEN_START), nanos(t.end, OPEN_END)]
        });
        Envelope { area, time }
    }

    /// What this entry adds to its node's bounds: an Item without time could be anywhere
    /// in time, so that no node holding it is ever wholly inside a `datetime`.
    fn bounds(&self) -> Envelope {
        let time = if self.time == NO_TIME {
            [i64::MIN, i64::MAX]
        } else {
            self.time
        };
        Envelope { time, ..*self }
    }

    /// The smallest envelope holding both.
    fn union(&self, other: &Envelope) -> Envelope {
        let [w, s, e, n] = self.area;
        let [ow, os, oe, on] = other.area;
        Envelope {
            area: [w.min(ow), s.min(os), e.max(oe), n.max(on)],
            time: [
                self.time[0].min(other.time[0]),
                self.time[1].max(other.time[1]),
            ],
        }
    }

    /// Whether a node with these bounds may hold entries in the window.
    fn meets(&self, window: &Window) -> bool {
        let [west, south, east, north] = self.area;
        window
            .area
            .is_none_or(|[w, s, e, n]| west <= e && w <= east && south <= n && s <= north)
            && window
                .time
                .is_none_or(|[start, end]| self.time[0] <= end && start <= self.time[1])
    }

    /// Whether every entry of a node with these bounds is in the window's area.
    fn area_within(&self, window: &Window) -> bool {
        let [west, south, east, north] = self.area;
        window
            .area
            .is_none_or(|[w, s, e, n]| w <= west && east <= e && s <= south && north <= n)
    }

    /// Whether every entry of a node with these bounds is in the window's time range.
    fn time_within(&self, window: &Window) -> bool {
        window
            .time
            .is_none_or(|[start, end]| start <= self.time[0] && self.time[1] <= end)
    }
}

/// Whether an Item's area (`[west, south, east, north]`) meets the window's.
/// Comparisons are joined with `&` and `|`, without branches: scans, which mostly miss,
/// would mispredict them.
fn area_in(&[west, south, east, north]: &[f64; 4], window: &Window) -> bool {
    window.area.is_none_or(|[w, s, e, n]| {
        let lat = (south <= n) & (s <= north);
        let (to_west, to_east) = (west <= e, w <= east);
        // Across the antimeridian, [west, 180] and [-180, east]: meeting either will do.
        let across = (west > east) & (to_west | to_east);
        lat & ((to_west & to_east) | across)
    })
}

/// Whether an Item's time range (`[start, end]` in nanoseconds) meets the window's.
fn time_in(&[from, to]: &[i64; 2], window: &Window) -> bool {
    window
        .time
        .is_none_or(|[start, end]| (from <= end) & (start <= to))
}

/// An instant in nanoseconds; an instant beyond the representable range, or an open
/// end (`open`), sits at the near end of it.
fn nanos(instant: Option<DateTime<Utc>>, open: i64) -> i64 {
    match instant {
        None => open,
        Some(instant) => match instant.timestamp_nanos_opt() {
            Some(n) => n.clamp(OPEN_START, OPEN_END),
            None if instant.timestamp() < 0 => OPEN_START,
            None => OPEN_END,
        },
    }
}

/// The index: every Item's envelope by position, and the packed tree over those with a
/// bbox not crossing the antimeridian.
#[derive(Debug, Default)]
pub struct SpaceTimeIndex {
    /// Each Item's area, by position: scanned in order by searches whose matches are
    /// dense, which read an Item's time (`times_by_position`) only when its area is in.
    areas_by_position: Vec<[f64; 4]>,
    /// Each Item's time, by position.
    times_by_position: Vec<[i64; 2]>,
    /// The tree's entries in Hilbert order of their centres.
    entries: Entries,
    /// Node bounds, level by level: `levels[0][i]` bounds entries `FANOUT·i ..`,
    /// `levels[k][i]` bounds nodes `FANOUT·i ..` of level `k − 1`. The last level has at
    /// most [`FANOUT`] nodes.
    levels: Vec<Vec<Envelope>>,
    /// The lowest position under each node, level by level as `levels`.
    lowest: Vec<Vec<u32>>,
    /// The ranks of the entries' times.
    ranks: TimeRanks,
    /// For each level, the ranks of the entries' starts and ends, each sorted within
    /// every node's run: how many of a node's entries overlap a time range is then two
    /// searches. Empty when some Item's range ends before it starts, for which that
    /// count would be wrong, or when the times are too many to rank.
    times: Vec<SortedTimes>,
    /// Positions of the Items whose bbox crosses the antimeridian.
    crossing: Vec<u32>,
    /// The entries' areas, ready to be counted in a box without walking the tree;
    /// `None` when some entry's south lies above its north.
    area_counts: Option<AreaCounts>,
    /// The median width and height of a leaf's bounds.
    leaf_size: [f64; 2],
    /// The same tree, without counts, over the first `1 / PREFIX_STEP` of the positions,
    /// then over the first `1 / PREFIX_STEP` of those, and so on down to [`PREFIX_MIN`]
    /// Items: where a window holds many Items, the first ones of its page are all among
    /// the lowest positions, and a prefix's tree finds them through fewer nodes that
    /// lie nearer together in memory.
    prefixes: Vec<SpaceTimeIndex>,
}

/// The tree's entries as three columns: a walk along the window's edge reads the areas,
/// and the times only of the entries in the area. Areas are kept rounded outward to
/// `f32` ([`CoarseArea`]); where that cannot tell whether an entry meets the window, its
/// exact area is read by position.
#[derive(Debug, Default)]
struct Entries {
    areas: Vec<CoarseArea>,
    times: Vec<[i64; 2]>,
    positions: Vec<u32>,
}

impl Entries {
    /// The entries `(envelope, position)` as columns.
    fn of(entries: &[(Envelope, u32)]) -> Entries {
        Entries {
            areas: entries
                .iter()
                .map(|(e, _)| CoarseArea::of(&e.area))
                .collect(),
            times: entries.iter().map(|(e, _)| e.time).collect(),
            positions: entries.iter().map(|(_, p)| *p).collect(),
        }
    }

    /// The entries from `first` on, at most `len` of them.
    fn run(&self, first: usize, len: usize) -> std::ops::Range<usize> {
        let first = first.min(self.positions.len());
        first..first.saturating_add(len).min(self.positions.len())
    }

    /// Whether entry `at` is in the window's area, given every Item's `exact` area by
    /// position.
    #[inline]
    fn area_in(&self, at: usize, window: &Window, exact: &[[f64; 4]]) -> bool {
        let (Some(area), Some(coarse)) = (self.areas.get(at), &window.coarse_area) else {
            return window.area.is_none();
        };
        let (surely, maybe) = area.meets(coarse);
        surely || maybe && self.exact_area_in(at, window, exact)
    }

    /// [`Entries::area_in`] from the exact area, for the rare entry whose rounded one
    /// cannot tell.
    #[cold]
    #[inline(never)]
    fn exact_area_in(&self, at: usize, window: &Window, exact: &[[f64; 4]]) -> bool {
        (self.positions.get(at))
            .and_then(|position| exact.get(*position as usize))
            .is_some_and(|area| area_in(area, window))
    }

    /// Whether entry `at` is in the window.
    #[inline]
    fn is_in(&self, at: usize, window: &Window, exact: &[[f64; 4]]) -> bool {
        self.area_in(at, window, exact)
            && (self.times.get(at)).is_some_and(|time| time_in(time, window))
    }

    /// How many entries of `run` are in the window, and how many in its area.
    fn count_in(
        &self,
        run: std::ops::Range<usize>,
        window: &Window,
        exact: &[[f64; 4]],
    ) -> (usize, usize) {
        let (mut matched, mut in_area) = (0, 0);
        for at in run {
            let area_in = self.area_in(at, window, exact);
            in_area += usize::from(area_in);
            matched += usize::from(
                area_in & (self.times.get(at)).is_some_and(|time| time_in(time, window)),
            );
        }
        (matched, in_area)
    }

    /// The positions of the entries of `run` in the window.
    fn in_window(
        &self,
        run: std::ops::Range<usize>,
        window: &Window,
        exact: &[[f64; 4]],
    ) -> impl Iterator<Item = usize> {
        run.filter(move |at| self.is_in(*at, window, exact))
            .filter_map(|at| self.positions.get(at).map(|p| *p as usize))
    }

    /// Offers `kept` the positions from `start` of the entries of `run` in the window
    /// (all of them when the run is known to be `within` it). A position `kept` would
    /// not keep is passed over before its area is read: once a page is nearly found,
    /// most entries of a leaf opened for its lowest position lie beyond it.
    fn keep_lowest(
        &self,
        run: std::ops::Range<usize>,
        window: &Window,
        within: bool,
        start: usize,
        kept: &mut Smallest,
        exact: &[[f64; 4]],
    ) {
        let positions = self.positions.get(run.clone()).unwrap_or_default();
        for (at, &position) in run.zip(positions) {
            let position = position as usize;
            if position < start || !kept.would_keep(position) {
                continue;
            }
            if within || self.is_in(at, window, exact) {
                kept.push(position);
            }
        }
    }
}

/// The ranks of the Items' times: every distinct start and end, sorted, so that a time
/// is held as its index (`u32`, half the bytes of nanoseconds) and compared to a
/// window's bounds mapped once per search.
#[derive(Debug, Default)]
struct TimeRanks(Vec<i64>);

impl TimeRanks {
    /// The ranks of the entries' starts and ends; an Item without time starts and ends
    /// after every range. `None` when there are too many distinct times for `u32`.
    fn new(entries: &[(Envelope, u32)]) -> Option<TimeRanks> {
        let mut times: Vec<i64> = entries.iter().flat_map(|(e, _)| sortable_time(e)).collect();
        times.sort_unstable();
        times.dedup();
        // `u32::MAX` is kept for padding, which must never rank below a bound.
        (times.len() < u32::MAX as usize).then_some(TimeRanks(times))
    }

    /// The rank of a time the ranks were made from.
    fn of(&self, time: i64) -> u32 {
        self.0.partition_point(|t| *t < time) as u32
    }

    /// The ranks `[started, ended]` of a window `[start, end]`: an entry has started by
    /// the window's end when its start ranks below `started`, and has ended before the
    /// window's start when its end ranks below `ended`.
    fn bounds(&self, [start, end]: [i64; 2]) -> [u32; 2] {
        [
            self.0.partition_point(|t| *t <= end) as u32,
            self.0.partition_point(|t| *t < start) as u32,
        ]
    }
}

/// An entry's `[start, end]` for sorting; an Item without time starts and ends after
/// every range.
fn sortable_time(envelope: &Envelope) -> [i64; 2] {
    if envelope.time == NO_TIME {
        [i64::MAX; 2]
    } else {
        envelope.time
    }
}

/// Sixteen ranks, one cache line.
#[derive(Debug, Clone, Copy)]
#[repr(C, align(64))]
struct Block([u32; FANOUT]);

impl Block {
    /// How many of its ranks are below `bound` (padding, `u32::MAX`, never is).
    fn below(&self, bound: u32) -> usize {
        self.0.iter().filter(|rank| **rank < bound).count()
    }
}

/// Ranks sorted within every node's run of one level, in blocks of [`FANOUT`], with
/// layers of samples above them: layer `i + 1` holds the last rank of every block of
/// layer `i`, so that a node of level `k` finds how many of its ranks are below a
/// bound by reading one block in each of `k + 1` layers, rather than by a binary search
/// that misses the cache at each of its steps.
#[derive(Debug, Default)]
struct SortedRanks {
    layers: Vec<Vec<Block>>,
}

impl SortedRanks {
    /// Sorts `ranks` within runs of `FANOUT^(level + 1)` and builds the layers above.
    fn new(mut ranks: Vec<u32>, level: usize) -> SortedRanks {
        let span = FANOUT.saturating_pow(level as u32 + 1);
        ranks
            .par_chunks_mut(span)
            .for_each(|run| run.sort_unstable());
        let mut layers = vec![blocks(&ranks)];
        while layers.len() <= level {
            let samples: Vec<u32> = layers
                .last()
                .map(|layer| layer.iter().map(|block| block.0[FANOUT - 1]).collect())
                .unwrap_or_default();
            layers.push(blocks(&samples));
        }
        SortedRanks { layers }
    }

    /// How many ranks of node `node` (whose run holds `len` entries) are below `bound`.
    /// Each full run fills whole blocks at every layer (runs are `FANOUT^(level + 1)`
    /// long), so a node's blocks at layer `i` start at `node · FANOUT^(level − i)`.
    fn below(&self, node: usize, len: usize, bound: u32) -> usize {
        // How many values of the layer above are below the bound: as many whole blocks
        // of this layer are.
        let mut below = 0;
        for (depth, layer) in self.layers.iter().enumerate().rev() {
            let per_node = FANOUT.pow((self.layers.len() - 1 - depth) as u32);
            let first = node * per_node;
            let present = per_node.min(layer.len().saturating_sub(first));
            match layer.get(first + below) {
                Some(block) if below < present => below = below * FANOUT + block.below(bound),
                // Every block of the node is below, so every rank is.
                _ => return len,
            }
        }
        below
    }
}

/// Values in blocks of [`FANOUT`], the last one padded with `u32::MAX`.
fn blocks(values: &[u32]) -> Vec<Block> {
    values
        .chunks(FANOUT)
        .map(|chunk| {
            let mut block = Block([u32::MAX; FANOUT]);
            block.0[..chunk.len()].copy_from_slice(chunk);
            block
        })
        .collect()
}

/// The starts and the ends of a level's entries as ranks, each sorted within every
/// node's run.
#[derive(Debug, Default)]
struct SortedTimes {
    starts: SortedRanks,
    ends: SortedRanks,
}

impl SortedTimes {
    /// Sorts the entries' starts' and ends' ranks within the runs of `level`.
    fn new(entries: &[(Envelope, u32)], ranks: &TimeRanks, level: usize) -> SortedTimes {
        let sorted = |pick: usize| {
            let values = entries
                .iter()
                .map(|(e, _)| ranks.of(sortable_time(e)[pick]))
                .collect();
            SortedRanks::new(values, level)
        };
        let (starts, ends) = rayon::join(|| sorted(0), || sorted(1));
        SortedTimes { starts, ends }
    }

    /// How many of the `len` entries of node `node` overlap the window whose rank
    /// bounds are `[started, ended]`: those started by its end but for those ended
    /// before its start (none ends before it starts, so each of those has started).
    fn overlapping(&self, node: usize, len: usize, [started, ended]: [u32; 2]) -> usize {
        self.starts.below(node, len, started) - self.ends.below(node, len, ended)
    }
}

impl SpaceTimeIndex {
    /// Indexes every Item's bbox and time, given in position order.
    pub fn build(items: impl IntoIterator<Item = (Option<Bbox>, Option<Interval>)>) -> Self {
        let (areas_by_position, times_by_position): (Vec<_>, Vec<_>) = items
            .into_iter()
            .map(|(bbox, time)| {
                let envelope = Envelope::of(bbox, time);
                (envelope.area, envelope.time)
            })
            .unzip();
        let lengths =
            std::iter::successors(Some(areas_by_position.len()), |len| Some(len / PREFIX_STEP));
        let prefixes = lengths
            .skip(1)
            .take_while(|len| *len >= PREFIX_MIN)
            .collect::<Vec<_>>()
            .into_par_iter()
            .map(|len| {
                let areas = areas_by_position.get(..len).unwrap_or_default().to_vec();
                let times = times_by_position.get(..len).unwrap_or_default().to_vec();
                SpaceTimeIndex::tree(areas, times, false)
            })
            .collect();
        SpaceTimeIndex {
            prefixes,
            ..SpaceTimeIndex::tree(areas_by_position, times_by_position, true)
        }
    }

    /// The tree over Items' areas and times by position; with the structures that count
    /// a window's Items when `counted`, for its pages alone otherwise.
    fn tree(
        areas_by_position: Vec<[f64; 4]>,
        times_by_position: Vec<[i64; 2]>,
        counted: bool,
    ) -> Self {
        let mut entries = Vec::with_capacity(areas_by_position.len());
        let mut crossing = Vec::new();
        for (position, (&area, &time)) in
            areas_by_position.iter().zip(&times_by_position).enumerate()
        {
            let Ok(position) = u32::try_from(position) else {
                break;
            };
            let [west, south, east, north] = area;
            if ![west, south, east, north].iter().all(|v| v.is_finite()) {
                continue;
            }
            if west > east {
                crossing.push(position);
            } else {
                entries.push((Envelope { area, time }, position));
            }
        }
        sort_along_hilbert_curve(&mut entries);
        let mut levels = Vec::new();
        let mut level: Vec<Envelope> = entries
            .chunks(FANOUT)
            .filter_map(|run| {
                run.iter()
                    .map(|(e, _)| e.bounds())
                    .reduce(|a, b| a.union(&b))
            })
            .collect();
        while level.len() > FANOUT {
            let next = parents(&level);
            levels.push(std::mem::replace(&mut level, next));
        }
        if !level.is_empty() {
            levels.push(level);
        }
        let mut lowest: Vec<Vec<u32>> = Vec::with_capacity(levels.len());
        let columns = Entries::of(&entries);
        for _ in 0..levels.len() {
            let below = lowest.last().unwrap_or(&columns.positions);
            let level = below
                .chunks(FANOUT)
                .filter_map(|run| run.iter().min().copied())
                .collect();
            lowest.push(level);
        }
        let ordered = entries
            .iter()
            .all(|(e, _)| e.time == NO_TIME || e.time[0] <= e.time[1]);
        let times = || match counted.then(|| TimeRanks::new(&entries)).flatten() {
            Some(ranks) if ordered => {
                let times = (0..levels.len())
                    .into_par_iter()
                    .map(|level| SortedTimes::new(&entries, &ranks, level))
                    .collect();
                (ranks, times)
            }
            _ => (TimeRanks::default(), Vec::new()),
        };
        let area_counts = || {
            let areas = counted.then(|| entries.iter().map(|(e, _)| e.area).collect::<Vec<_>>());
            areas.and_then(|areas| AreaCounts::new(&areas))
        };
        let ((ranks, times), area_counts) = rayon::join(times, area_counts);
        let leaf_size = median_size(levels.first().map_or(&[], Vec::as_slice));
        SpaceTimeIndex {
            areas_by_position,
            times_by_position,
            entries: columns,
            levels,
            lowest,
            ranks,
            times,
            crossing,
            area_counts,
            leaf_size,
            prefixes: Vec::new(),
        }
    }

    /// Whether the Item at `position` is in the window.
    pub fn contains(&self, position: usize, window: &Window) -> bool {
        let area = self.areas_by_position.get(position);
        area.is_some_and(|area| area_in(area, window))
            && (self.times_by_position.get(position)).is_some_and(|time| time_in(time, window))
    }

    /// How many Items are in a window with an area, and how many of those in its area
    /// the count looked at.
    pub fn count(&self, window: &Window) -> Count {
        let [width, height] = self.leaf_size;
        match window.area {
            // About how many leaf cells the box spans: its sides in leaves, plus one.
            Some([w, s, e, n])
                if (1.0 + (e - w) / width) * (1.0 + (n - s) / height) >= LEAF_CELLS_FOR_SIDES =>
            {
                self.count_by_sides(window)
            }
            _ => None,
        }
        .unwrap_or_else(|| self.count_by_walk(window))
    }

    /// The count of a window with an area and no time, by the sides of the bboxes;
    /// `None` for any other window.
    fn count_by_sides(&self, window: &Window) -> Option<Count> {
        let (Some(counts), Some(area), None) = (&self.area_counts, &window.area, window.time)
        else {
            return None;
        };
        let crossing = self.crossing.iter();
        let matched = counts.count(area)?
            + crossing
                .filter(|p| self.contains(**p as usize, window))
                .count();
        // Every Item in the area is in the window.
        Some(Count {
            matched,
            candidates: matched,
        })
    }

    /// The count of a window with an area, through the tree.
    fn count_by_walk(&self, window: &Window) -> Count {
        let mut count = Count::default();
        let ranks = window.time.map(|time| self.ranks.bounds(time));
        self.walk(window, Walk::Count(ranks), &mut |run| {
            let (matched, of) = match run {
                Run::Whole(positions) => (positions.len(), positions.len()),
                Run::Counted { matched, of } | Run::Scanned { matched, of } => (matched, of),
                Run::One(_) => (1, 1),
            };
            count.matched += matched;
            count.candidates += of;
        });
        count
    }

    /// Calls `visit` with the position of every Item in a window with an area, each
    /// once, in no particular order.
    pub fn visit(&self, window: &Window, mut visit: impl FnMut(usize)) {
        self.walk(window, Walk::Visit, &mut |run| match run {
            Run::Whole(positions) => positions.iter().for_each(|p| visit(*p as usize)),
            Run::One(position) => visit(position),
            // Only a walk that counts does.
            Run::Counted { .. } | Run::Scanned { .. } => {}
        });
    }

    /// The `limit + 1` lowest positions from `start` in a window with an area, which
    /// holds `matched` Items, ascending. Where the window's Items would put
    /// [`PREFIX_MARGIN`] pages' worth in a prefix if positions had nothing to do with
    /// places, the smallest such prefix is walked first: a full page from it is the page,
    /// as every position it leaves out lies above its own.
    pub fn lowest_in(
        &self,
        window: &Window,
        start: usize,
        limit: usize,
        matched: usize,
    ) -> Vec<usize> {
        let wanted = limit.saturating_add(1);
        let items = self.areas_by_position.len().max(1);
        for prefix in self.prefixes.iter().rev() {
            let len = prefix.areas_by_position.len();
            let expected = matched.saturating_mul(len.saturating_sub(start)) / items;
            if expected >= PREFIX_MARGIN.saturating_mul(wanted) {
                let page = prefix.lowest_in_tree(window, start, limit);
                if page.len() == wanted {
                    return page;
                }
            }
        }
        self.lowest_in_tree(window, start, limit)
    }

    /// [`SpaceTimeIndex::lowest_in`] through this tree alone. Nodes are opened best
    /// first, by the lowest position they may hold, and the walk stops at the first node
    /// that cannot beat every position kept: a large window is not visited whole for one
    /// page.
    fn lowest_in_tree(&self, window: &Window, start: usize, limit: usize) -> Vec<usize> {
        let mut kept = Smallest::new(limit);
        if !window.has_area() {
            return kept.ascending();
        }
        for &position in &self.crossing {
            let position = position as usize;
            if position >= start && self.contains(position, window) {
                kept.push(position);
            }
        }
        // Nodes to open, lowest first: (the lowest position from `start` they may hold,
        // level, node).
        let mut queue = BinaryHeap::with_capacity(4 * FANOUT);
        let offer = |queue: &mut BinaryHeap<_>, level: usize, node: usize, kept: &Smallest| {
            let bounds = self.levels.get(level).and_then(|nodes| nodes.get(node));
            let lowest = self.lowest.get(level).and_then(|nodes| nodes.get(node));
            if let (Some(bounds), Some(&lowest)) = (bounds, lowest) {
                let lowest = (lowest as usize).max(start);
                if bounds.meets(window) && kept.would_keep(lowest) {
                    queue.push(Reverse((lowest, level, node)));
                }
            }
        };
        if let Some(top) = self.levels.len().checked_sub(1) {
            for node in 0..self.levels[top].len() {
                offer(&mut queue, top, node, &kept);
            }
        }
        while let Some(Reverse((lowest, level, node))) = queue.pop() {
            // Every node left holds only positions from `lowest` on.
            if !kept.would_keep(lowest) {
                break;
            }
            if level > 0 {
                for child in node * FANOUT..(node + 1) * FANOUT {
                    offer(&mut queue, level - 1, child, &kept);
                }
                continue;
            }
            let within = self
                .levels
                .first()
                .and_then(|nodes| nodes.get(node))
                .is_some_and(|b| b.area_within(window) && b.time_within(window));
            let run = self.entries.run(node * FANOUT, FANOUT);
            self.entries.keep_lowest(
                run,
                window,
                within,
                start,
                &mut kept,
                &self.areas_by_position,
            );
        }
        kept.ascending()
    }

    /// Positions of the Items whose bbox intersects `query` (edges included), each once,
    /// in no particular order.
    pub fn candidates(&self, query: &Bbox) -> Vec<usize> {
        let mut positions = Vec::new();
        let parts = query.parts();
        for [[west, south], [east, north]] in &parts {
            let window = Window::of(Some([*west, *south, *east, *north]), None);
            self.visit(&window, |position| positions.push(position));
        }
        if parts.len() > 1 {
            positions.sort_unstable();
            positions.dedup();
        }
        positions
    }

    /// Hands every Item in the window to `found`, as whole runs of entries where a node
    /// lies wholly inside it, and, as `how` says, as counts where a node lies wholly
    /// inside its area and where a leaf meets its edge. Windows without an area find
    /// nothing here.
    fn walk(&self, window: &Window, how: Walk, found: &mut impl FnMut(Run<'_>)) {
        if !window.has_area() {
            return;
        }
        if let Some(top) = self.levels.len().checked_sub(1) {
            let nodes = self.levels[top].len();
            for node in 0..nodes {
                self.walk_node(top, node, window, how, found);
            }
        }
        for &position in &self.crossing {
            if self.contains(position as usize, window) {
                found(Run::One(position as usize));
            }
        }
    }

    /// Walks node `node` of level `level`.
    fn walk_node(
        &self,
        level: usize,
        node: usize,
        window: &Window,
        how: Walk,
        found: &mut impl FnMut(Run<'_>),
    ) {
        let Some(bounds) = self.levels.get(level).and_then(|nodes| nodes.get(node)) else {
            return;
        };
        if !bounds.meets(window) {
            return;
        }
        let span = FANOUT.saturating_pow(level as u32 + 1);
        let run = self.entries.run(node.saturating_mul(span), span);
        let area_within = bounds.area_within(window);
        if area_within && bounds.time_within(window) {
            found(Run::Whole(
                self.entries.positions.get(run).unwrap_or_default(),
            ));
            return;
        }
        if area_within
            && let Walk::Count(Some(ranks)) = how
            && let Some(times) = self.times.get(level)
        {
            let matched = times.overlapping(node, run.len(), ranks);
            found(Run::Counted {
                matched,
                of: run.len(),
            });
        } else if level == 0 && matches!(how, Walk::Count(_)) {
            let (matched, of) = self.entries.count_in(run, window, &self.areas_by_position);
            found(Run::Scanned { matched, of });
        } else if level == 0 {
            for position in self.entries.in_window(run, window, &self.areas_by_position) {
                found(Run::One(position));
            }
        } else {
            for child in node * FANOUT..(node + 1) * FANOUT {
                self.walk_node(level - 1, child, window, how, found);
            }
        }
    }
}

/// The `limit + 1` smallest of the positions pushed: a max-heap of that size, so most
/// positions cost one comparison once it is full.
pub struct Smallest {
    wanted: usize,
    heap: BinaryHeap<usize>,
}

impl Smallest {
    /// Keeps the `limit + 1` smallest.
    pub fn new(limit: usize) -> Smallest {
        Smallest {
            wanted: limit.saturating_add(1),
            heap: BinaryHeap::new(),
        }
    }

    /// Offers a position.
    pub fn push(&mut self, position: usize) {
        if self.heap.len() < self.wanted {
            self.heap.push(position);
        } else if let Some(mut largest) = self.heap.peek_mut()
            && position < *largest
        {
            *largest = position;
        }
    }

    /// Whether a position would be kept now.
    fn would_keep(&self, position: usize) -> bool {
        self.heap.len() < self.wanted || self.heap.peek().is_some_and(|&max| position < max)
    }

    /// The positions kept, ascending.
    pub fn ascending(self) -> Vec<usize> {
        self.heap.into_sorted_vec()
    }
}

/// The median width and height of the areas of `nodes`; zero when there are none.
fn median_size(nodes: &[Envelope]) -> [f64; 2] {
    [0, 1].map(|axis| {
        let mut sizes: Vec<f64> = nodes
            .iter()
            .map(|node| node.area[axis + 2] - node.area[axis])
            .collect();
        let middle = sizes.len() / 2;
        if middle < sizes.len() {
            sizes.select_nth_unstable_by(middle, f64::total_cmp);
        }
        sizes.get(middle).copied().unwrap_or_default()
    })
}

/// The bounds of each run of [`FANOUT`] envelopes.
fn parents(children: &[Envelope]) -> Vec<Envelope> {
    children
        .chunks(FANOUT)
        .filter_map(|chunk| chunk.iter().copied().reduce(|a, b| a.union(&b)))
        .collect()
}

/// What a walk reports.
#[derive(Debug, Clone, Copy)]
enum Walk {
    /// Every Item in the window, by position.
    Visit,
    /// How many: nodes inside the area by the window's time ranks (when it has a time),
    /// leaves on its edge entry by entry.
    Count(Option<[u32; 2]>),
}

/// What a walk finds.
enum Run<'a> {
    /// A run of entries all in the window.
    Whole(&'a [u32]),
    /// How many of a run of `of` entries, all in the area, are in the window: counted by
    /// sorted times.
    Counted { matched: usize, of: usize },
    /// How many of a leaf's entries are in the window (`matched`) and in its area
    /// (`of`): counted entry by entry.
    Scanned { matched: usize, of: usize },
    /// One Item in the window.
    One(usize),
}

/// How many Items are in a window, and how many in its area the count looked at (all
/// but those under nodes whose time bounds miss the window): how many a walk for a page
/// would go through.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Count {
    /// Items in the window.
    pub matched: usize,
    /// Items in its area that the count looked at.
    pub candidates: usize,
}

/// Sorts entries along a Hilbert curve over their centres' extent, so that entries near
/// each other in the order are near each other on the map and runs make tight nodes.
fn sort_along_hilbert_curve(entries: &mut [(Envelope, u32)]) {
    let centre = |e: &Envelope| {
        let [west, south, east, north] = e.area;
        ((west + east) / 2.0, (south + north) / 2.0)
    };
    let (mut low_x, mut low_y, mut high_x, mut high_y) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for (envelope, _) in entries.iter() {
        let (x, y) = centre(envelope);
        (low_x, low_y) = (low_x.min(x), low_y.min(y));
        (high_x, high_y) = (high_x.max(x), high_y.max(y));
    }
    let cell = |value: f64, low: f64, high: f64| {
        let range = high - low;
        if range > 0.0 {
            // `as` saturates: the result stays in 0..=65535.
            ((value - low) / range * 65535.0) as u32
        } else {
            0
        }
    };
    entries.par_sort_by_cached_key(|(envelope, position)| {
        let (x, y) = centre(envelope);
        (
            hilbert_distance(cell(x, low_x, high_x), cell(y, low_y, high_y)),
            *position,
        )
    });
}

/// The distance along a Hilbert curve filling a 65,536 × 65,536 grid of cell `(x, y)`.
fn hilbert_distance(mut x: u32, mut y: u32) -> u64 {
    const SIDE: u32 = 1 << 16;
    let mut distance = 0u64;
    let mut half = SIDE / 2;
    while half > 0 {
        let right = x & half != 0;
        let up = y & half != 0;
        let quadrant = match (right, up) {
            (false, false) => 0,
            (false, true) => 1,
            (true, true) => 2,
            (true, false) => 3,
        };
        distance += u64::from(half) * u64::from(half) * quadrant;
        // Turn the quadrant so that the curve inside it starts where the last one ended.
        if !up {
            if right {
                x = SIDE - 1 - x;
                y = SIDE - 1 - y;
            }
            std::mem::swap(&mut x, &mut y);
        }
        half /= 2;
    }
    distance
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bbox(values: &[f64]) -> Bbox {
        Bbox::from_values(values).unwrap()
    }

    fn interval(text: &str) -> Interval {
        Interval::parse(text).unwrap()
    }

    /// A small deterministic generator (xorshift), so failures replay.
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }
        fn range(&mut self, low: f64, high: f64) -> f64 {
            low + (high - low) * (self.below(1_000_000) as f64 / 1_000_000.0)
        }
    }

    /// Items of every kind: small and large boxes, boxes across the antimeridian, none;
    /// instants, ranges, open ranges, instants outside 1677–2262, no time.
    fn generated(rng: &mut Rng, n: usize) -> Vec<(Option<Bbox>, Option<Interval>)> {
        (0..n)
            .map(|_| {
                let (west, south) = (rng.range(-180.0, 170.0), rng.range(-90.0, 80.0));
                let size = if rng.below(20) == 0 { 10.0 } else { 0.5 };
                let (east, north) = (west + rng.range(0.0, size), south + rng.range(0.0, size));
                let bbox = match rng.below(30) {
                    0 => None,
                    1 => Some(bbox(&[west.max(170.0), south, -175.0, north])),
                    _ => Some(bbox(&[west, south, east, north])),
                };
                let day = |rng: &mut Rng| format!("2020-{:02}-01T00:00:00Z", 1 + rng.below(12));
                let time = match rng.below(10) {
                    0 => None,
                    1 => Some(interval(&format!("{}/..", day(rng)))),
                    2 => Some(interval(&format!("../{}", day(rng)))),
                    3 => Some(interval("1500-01-01T00:00:00Z/2020-03-01T00:00:00Z")),
                    4 => Some(interval("2020-06-01T00:00:00Z/2400-01-01T00:00:00Z")),
                    5 => {
                        let mut days = [day(rng), day(rng)];
                        days.sort();
                        Some(interval(&days.join("/")))
                    }
                    _ => Some(interval(&day(rng))),
                };
                (bbox, time)
            })
            .collect()
    }

    /// The positions in the window, checked one by one with [`Bbox`] and [`Interval`].
    fn brute_force(
        items: &[(Option<Bbox>, Option<Interval>)],
        area: Option<&Bbox>,
        time: Option<&Interval>,
    ) -> Vec<usize> {
        let overlap = |a: [[f64; 2]; 2], b: [[f64; 2]; 2]| {
            a[0][0] <= b[1][0] && b[0][0] <= a[1][0] && a[0][1] <= b[1][1] && b[0][1] <= a[1][1]
        };
        (0..items.len())
            .filter(|&p| {
                let (item_box, item_time) = &items[p];
                let in_area = area.is_none_or(|q| {
                    item_box.is_some_and(|b| {
                        b.parts()
                            .iter()
                            .any(|x| q.parts().iter().any(|y| overlap(*x, *y)))
                    })
                });
                let in_time = time.is_none_or(|q| item_time.is_some_and(|t| t.overlaps(q)));
                in_area && in_time
            })
            .collect()
    }

    /// The `limit + 1` first of the positions `matching` from `start`.
    fn page_of(matching: &[usize], start: usize, limit: usize) -> Vec<usize> {
        let from = matching.iter().copied().filter(|p| *p >= start);
        from.take(limit + 1).collect()
    }

    #[test]
    fn counts_and_visits_what_a_check_one_by_one_finds() {
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        // Enough entries for three levels of nodes.
        let mut items = generated(&mut rng, 6_000);
        let (counted, whole) = compare_with_brute_force(&items, &mut rng);
        assert!(counted > 100 && whole > 100, "{counted} {whole}");
        // A range that ends before it starts (an invalid Item, read as it is) turns the
        // counting by sorted times off.
        let start = interval("2020-05-01T00:00:00Z").start;
        let end = interval("2020-02-01T00:00:00Z").start;
        items[100].1 = Some(Interval { start, end });
        let (counted, whole) = compare_with_brute_force(&items, &mut rng);
        assert!(counted == 0 && whole > 100, "{counted} {whole}");
    }

    /// Checks count, visit and contains against [`brute_force`] on random windows;
    /// returns how many nodes were counted by sorted times, and how many taken whole.
    fn compare_with_brute_force(
        items: &[(Option<Bbox>, Option<Interval>)],
        rng: &mut Rng,
    ) -> (usize, usize) {
        let index = SpaceTimeIndex::build(items.iter().copied());
        assert_eq!(index.levels.len(), 3);
        let times = [
            None,
            Some(interval("2020-03-01T00:00:00Z/2020-05-31T00:00:00Z")),
            Some(interval("../2020-02-01T00:00:00Z")),
            Some(interval("2020-11-01T00:00:00Z/..")),
            Some(interval("../..")),
            Some(interval("2020-07-01T00:00:00Z")),
        ];
        let (mut counted, mut whole) = (0, 0);
        for round in 0..300 {
            let side = [1.0, 20.0, 90.0, 400.0][round % 4];
            let west = rng.range(-180.0, 180.0);
            let south = rng.range(-90.0, 90.0);
            let area = bbox(&[
                west,
                south,
                (west + side).min(180.0),
                (south + side).min(90.0),
            ]);
            let time = times[(round / 4) % times.len()];
            let window = Window::new(Some(&area), time.as_ref()).unwrap();
            let expected = brute_force(items, Some(&area), time.as_ref());
            let count = index.count(&window);
            assert_eq!(count.matched, expected.len(), "round {round}");
            // Through the tree, and by the bboxes' sides for a box alone.
            assert_eq!(index.count_by_walk(&window), count, "round {round}");
            let by_sides = index.count_by_sides(&window);
            assert_eq!(by_sides.is_some(), time.is_none(), "round {round}");
            assert!(by_sides.is_none_or(|c| c.matched == count.matched));
            let in_area = brute_force(items, Some(&area), None).len();
            assert!(
                (count.matched..=in_area).contains(&count.candidates),
                "round {round}"
            );
            if time.is_none() {
                assert_eq!(count.candidates, count.matched, "round {round}");
            }
            let mut visited = Vec::new();
            index.visit(&window, |p| visited.push(p));
            visited.sort_unstable();
            assert_eq!(visited, expected, "round {round}");
            for p in [0, 17, 4_000] {
                assert_eq!(index.contains(p, &window), expected.contains(&p));
            }
            for (start, limit) in [(0, 0), (0, 9), (2_500, 4), (5_990, 20)] {
                assert_eq!(
                    index.lowest_in(&window, start, limit, count.matched),
                    page_of(&expected, start, limit),
                    "round {round}"
                );
            }
            let ranks = window.time.map(|time| index.ranks.bounds(time));
            index.walk(&window, Walk::Count(ranks), &mut |run| match run {
                Run::Whole(_) => whole += 1,
                Run::Counted { .. } => counted += 1,
                Run::Scanned { .. } | Run::One(_) => {}
            });
        }
        // Windows without an area: by position only.
        for time in times.iter().flatten() {
            let window = Window::new(None, Some(time)).unwrap();
            let found: Vec<usize> = (0..items.len())
                .filter(|&p| index.contains(p, &window))
                .collect();
            assert_eq!(found, brute_force(items, None, Some(time)));
        }
        (counted, whole)
    }

    #[test]
    fn decides_edges_that_touch_to_the_last_bit() {
        // Sides on whole degrees or an f64 step either side of one, windows on whole
        // degrees: no f32 tells such sides from the window's, so the entries' coarse
        // areas leave them to the exact ones.
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let near = |whole: i64, rng: &mut Rng| {
            let whole = whole as f64;
            [whole.next_down(), whole, whole.next_up()][rng.below(3) as usize]
        };
        let items: Vec<_> = (0..3_000)
            .map(|_| {
                let (west, south) = (rng.below(40) as i64 - 20, rng.below(40) as i64 - 20);
                let (east, north) = (
                    west + 1 + rng.below(3) as i64,
                    south + 1 + rng.below(3) as i64,
                );
                let area = [west, south, east, north].map(|side| near(side, &mut rng));
                let time = (rng.below(2) == 0).then(|| interval("2020-01-01T00:00:00Z"));
                (Some(bbox(&area)), time)
            })
            .collect();
        let index = SpaceTimeIndex::build(items.iter().copied());
        let year = interval("2020-01-01T00:00:00Z/2020-12-31T00:00:00Z");
        for round in 0..400 {
            let (west, south) = (rng.below(44) as f64 - 22.0, rng.below(44) as f64 - 22.0);
            let side = [0.0, 1.0, 3.0, 12.0][round % 4];
            let area = bbox(&[west, south, west + side, south + side]);
            let time = (round % 3 == 0).then_some(year);
            let window = Window::new(Some(&area), time.as_ref()).unwrap();
            let expected = brute_force(&items, Some(&area), time.as_ref());
            assert_eq!(
                index.count_by_walk(&window).matched,
                expected.len(),
                "{area:?}"
            );
            let mut visited = Vec::new();
            index.visit(&window, |p| visited.push(p));
            visited.sort_unstable();
            assert_eq!(visited, expected, "{area:?}");
            let matched = expected.len();
            let page = index.lowest_in(&window, 0, 5, matched);
            assert_eq!(page, page_of(&expected, 0, 5), "{area:?}");
        }
    }

    #[test]
    fn pages_found_in_a_prefix_are_the_pages_of_the_whole() {
        let mut rng = Rng(0x6a09_e667_f3bc_c908);
        // Enough Items for one prefix tree.
        let mut items = generated(&mut rng, PREFIX_MIN * PREFIX_STEP + 300);
        let year = interval("2020-01-01T00:00:00Z/2020-12-31T23:59:59Z");
        for scattered in [true, false] {
            if !scattered {
                // Positions by place: west to east, so that a prefix holds the west alone
                // and comes up short for windows further east.
                let west = |item: &(Option<Bbox>, Option<Interval>)| {
                    item.0.map_or(f64::MAX, |b| b.parts()[0][0][0])
                };
                items.sort_by(|a, b| west(a).total_cmp(&west(b)));
            }
            let index = SpaceTimeIndex::build(items.iter().copied());
            assert_eq!(index.prefixes.len(), 1);
            let prefix = &index.prefixes[0];
            let (mut from_prefix, mut short) = (0, 0);
            for round in 0..120 {
                let side = [5.0, 30.0, 90.0][round % 3];
                let (west, south) = (
                    rng.range(-180.0, 180.0 - side),
                    rng.range(-90.0, 90.0 - side),
                );
                let area = bbox(&[west, south, west + side, south + side]);
                let time = (round % 4 == 0).then_some(year);
                let window = Window::new(Some(&area), time.as_ref()).unwrap();
                let expected = brute_force(&items, Some(&area), time.as_ref());
                let matched = index.count(&window).matched;
                assert_eq!(matched, expected.len(), "round {round}");
                for (start, limit) in [(0, 9), (1_000, 4), (3_000, 20), (5_000, 9)] {
                    let page = index.lowest_in(&window, start, limit, matched);
                    let expected_page = page_of(&expected, start, limit);
                    assert_eq!(page, expected_page, "round {round}, start {start}");
                    let len = prefix.areas_by_position.len();
                    let tried = matched * len.saturating_sub(start) / items.len()
                        >= PREFIX_MARGIN * (limit + 1);
                    if tried && prefix.lowest_in_tree(&window, start, limit).len() == limit + 1 {
                        from_prefix += 1;
                    } else if tried {
                        short += 1;
                    }
                }
            }
            if scattered {
                assert!(from_prefix > 100 && short == 0, "{from_prefix} {short}");
            } else {
                assert!(short > 10, "{from_prefix} {short}");
            }
        }
    }

    #[test]
    fn sorted_ranks_count_what_a_scan_counts() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        // Whole nodes, and a last node cut short at every layer.
        for len in [1, 15, 16, 17, 255, 256, 257, 4_096 + 16 * 17 + 5, 2 * 4_096] {
            // Few distinct values, so that runs hold ties.
            let values: Vec<u32> = (0..len).map(|_| rng.below(300) as u32).collect();
            for level in 0..3 {
                let sorted = SortedRanks::new(values.clone(), level);
                let span = FANOUT.pow(level as u32 + 1);
                for (node, run) in values.chunks(span).enumerate() {
                    for bound in [0, 1, 150, 299, 300, 301, u32::MAX - 1] {
                        let expected = run.iter().filter(|v| **v < bound).count();
                        assert_eq!(
                            sorted.below(node, run.len(), bound),
                            expected,
                            "{len} {level} {node} {bound}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn finds_items_across_the_antimeridian() {
        let index = SpaceTimeIndex::build(
            [
                bbox(&[170.0, -10.0, -170.0, 10.0]), // crosses
                bbox(&[0.0, 0.0, 10.0, 10.0]),
                bbox(&[-175.0, 20.0, -172.0, 30.0]),
                bbox(&[175.0, 0.0, 179.0, 5.0]),
            ]
            .map(|b| (Some(b), None)),
        );
        let mut all = index.candidates(&bbox(&[-180.0, -90.0, 180.0, 90.0]));
        all.sort_unstable();
        assert_eq!(all, vec![0, 1, 2, 3]);
        assert_eq!(
            index.candidates(&bbox(&[-175.0, 0.0, -171.0, 5.0])),
            vec![0]
        );
        assert_eq!(index.candidates(&bbox(&[171.0, 1.0, 172.0, 2.0])), vec![0]);
        assert_eq!(index.candidates(&bbox(&[0.0, 0.0, 1.0, 1.0])), vec![1]);
        // A query crossing the antimeridian.
        assert_eq!(
            index.candidates(&bbox(&[178.0, 0.0, -174.0, 25.0])),
            vec![0, 2, 3]
        );
        assert_eq!(
            index.candidates(&bbox(&[179.5, 40.0, -179.5, 50.0])),
            Vec::<usize>::new()
        );
        // Touching edges intersect.
        assert_eq!(index.candidates(&bbox(&[10.0, 10.0, 11.0, 11.0])), vec![1]);
    }

    #[test]
    fn declines_windows_it_cannot_hold() {
        assert!(Window::new(Some(&bbox(&[170.0, 0.0, -170.0, 1.0])), None).is_none());
        assert!(Window::new(None, Some(&interval("1600-01-01T00:00:00Z/.."))).is_none());
        assert!(Window::new(None, Some(&interval("../2300-01-01T00:00:00Z"))).is_none());
        let everything = Window::new(None, None).unwrap();
        assert!(everything.is_everything() && !everything.has_area());
        let open = Window::new(None, Some(&interval("../.."))).unwrap();
        assert!(!open.is_everything());
        // Without an area, the tree finds nothing: such windows are scanned by position.
        let index = SpaceTimeIndex::build([(Some(bbox(&[0.0, 0.0, 1.0, 1.0])), None)]);
        assert_eq!(index.count(&open).matched, 0);
        assert!(!index.contains(0, &open));
        assert!(index.contains(0, &everything));
    }

    #[test]
    fn the_hilbert_curve_walks_each_block_cell_by_neighbouring_cell() {
        // The first 4^k steps fill the 2^k × 2^k block at the origin, each step to a
        // neighbouring cell.
        let mut cells: Vec<(u64, u32, u32)> = (0..8)
            .flat_map(|x| (0..8).map(move |y| (hilbert_distance(x, y), x, y)))
            .collect();
        cells.sort_unstable();
        let distances: Vec<u64> = cells.iter().map(|c| c.0).collect();
        assert_eq!(distances, (0..64).collect::<Vec<_>>());
        for pair in cells.windows(2) {
            let (x, y) = ((pair[0].1, pair[0].2), (pair[1].1, pair[1].2));
            assert_eq!(x.0.abs_diff(y.0) + x.1.abs_diff(y.1), 1, "{pair:?}");
        }
    }
}
