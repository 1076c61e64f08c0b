//! How many of a fixed set of points lie beyond a corner (`x > X` and `y > Y`): 2D
//! dominance counting, in time that grows with the logarithm of the number of points
//! and not with how many lie beyond.
//!
//! The points are taken in order of `x`, and each is replaced by the rank of its `y`
//! among all of them. Points beyond `(X, Y)` are then those from the `k`-th on (`k`
//! points have `x ≤ X`) whose rank is at least `r` (`r` points have `y ≤ Y`). A wavelet
//! matrix of the ranks counts those, one bit of the rank per level, narrowing the
//! range of points level by level; each level answers "how many ones before
//! position `i`" from one cache line ([`Bits`]). Several counts walk their levels side
//! by side ([`Corners::beyond`]), so that their memory reads overlap.

/// Words of data per block.
const WORDS: usize = 6;
/// Data bits per block.
const BITS_PER_BLOCK: usize = WORDS * 64;

/// One cache line of a level: the ones before it, the ones before each of its words
/// within it, then 384 bits, so that counting the ones before a position in it takes
/// one population count.
#[derive(Debug, Clone, Copy, Default)]
#[repr(C, align(64))]
struct Block {
    ones_before: u32,
    ones_within: [u16; WORDS],
    words: [u64; WORDS],
}

/// A bit vector that counts the ones before any position reading one cache line.
#[derive(Debug, Default)]
struct Bits {
    /// One block more than the bits fill, so that the end is a position too.
    blocks: Vec<Block>,
}

impl Bits {
    /// The bits, in order; at most `u32::MAX` of them.
    fn new(bits: impl ExactSizeIterator<Item = bool>) -> Bits {
        let mut blocks = vec![Block::default(); bits.len() / BITS_PER_BLOCK + 1];
        for (at, bit) in bits.enumerate() {
            if let Some(block) = blocks.get_mut(at / BITS_PER_BLOCK) {
                let within = at % BITS_PER_BLOCK;
                block.words[within / 64] |= u64::from(bit) << (within % 64);
            }
        }
        let mut ones: u32 = 0;
        for block in &mut blocks {
            block.ones_before = ones;
            let mut within: u16 = 0;
            for (word, ones_within) in block.words.iter().zip(&mut block.ones_within) {
                *ones_within = within;
                within += word.count_ones() as u16;
            }
            ones = ones.wrapping_add(u32::from(within));
        }
        Bits { blocks }
    }

    /// How many ones lie before `position` (at most the number of bits).
    fn ones_before(&self, position: usize) -> usize {
        let Some(block) = self.blocks.get(position / BITS_PER_BLOCK) else {
            return 0;
        };
        let within = position % BITS_PER_BLOCK;
        let (word, bit) = (within / 64, within % 64);
        let before = block.ones_within.get(word).copied().unwrap_or_default();
        let partial = block.words.get(word).map_or(0, |w| w & ((1 << bit) - 1));
        block.ones_before as usize + usize::from(before) + partial.count_ones() as usize
    }
}

/// One set of points, ready to count those beyond a corner.
#[derive(Debug, Default)]
pub struct Corners {
    /// How many points.
    len: usize,
    /// Level `i` holds bit `levels.len() − 1 − i` of each rank, in the order the
    /// levels above leave them in (ranks with a 0 there first, keeping their order).
    levels: Vec<Bits>,
    /// How many zeros each level holds.
    zeros: Vec<usize>,
}

impl Corners {
    /// The points as ranks of their `y` (each of `0..len` once), in order of their `x`.
    pub fn new(ranks: Vec<u32>) -> Corners {
        let len = ranks.len();
        let depth = usize::BITS - len.saturating_sub(1).leading_zeros();
        let mut levels = Vec::with_capacity(depth as usize);
        let mut zeros = Vec::with_capacity(depth as usize);
        let mut order = ranks;
        for bit in (0..depth).rev() {
            let one = |rank: &u32| (rank >> bit) & 1 == 1;
            levels.push(Bits::new(order.iter().map(one)));
            let (ones, mut next): (Vec<u32>, Vec<u32>) = order.iter().partition(|r| one(r));
            zeros.push(next.len());
            next.extend(ones);
            order = next;
        }
        Corners { len, levels, zeros }
    }

    /// For each `(from, rank)`: how many points from the `from`-th in order of `x` on
    /// have a rank of at least `rank`.
    pub fn beyond<const N: usize>(sets: [&Corners; N], corners: [(usize, usize); N]) -> [usize; N] {
        let mut counted = [0; N];
        let mut ranges = [(0, 0); N];
        for i in 0..N {
            let (from, rank) = corners[i];
            let len = sets[i].len;
            ranges[i] = (from.min(len), len);
            if rank >= len {
                // No rank reaches it.
                ranges[i] = (len, len);
            }
        }
        let depth = sets.iter().map(|set| set.levels.len()).max().unwrap_or(0);
        for level in 0..depth {
            for i in 0..N {
                let set = sets[i];
                let (Some(bits), Some(&zeros)) = (set.levels.get(level), set.zeros.get(level))
                else {
                    continue;
                };
                let (start, end) = ranges[i];
                let (ones_start, ones_end) = (bits.ones_before(start), bits.ones_before(end));
                // With a 1 in the rank here, ranks with a 0 are below: follow the ones.
                // With a 0, ranks with a 1 are above: count them, follow the zeros.
                // Chosen by masks, not branches, which the ranks would mispredict.
                let bit = set.levels.len() - 1 - level;
                let follow_ones = 0usize.wrapping_sub((corners[i].1 >> bit) & 1);
                let pick = |if_one: usize, if_zero: usize| {
                    (follow_ones & if_one) | (!follow_ones & if_zero)
                };
                ranges[i] = (
                    pick(zeros + ones_start, start - ones_start),
                    pick(zeros + ones_end, end - ones_end),
                );
                counted[i] += !follow_ones & (ones_end - ones_start);
            }
        }
        for i in 0..N {
            // What is left equals the rank in every bit.
            counted[i] += ranges[i].1 - ranges[i].0;
        }
        counted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic pseudo-random sequence (64-bit LCG).
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (self.0 >> 33) % n
        }
    }

    #[test]
    fn counts_ones_before_every_position() {
        let mut rng = Rng(3);
        let bits: Vec<bool> = (0..2_000).map(|_| rng.below(3) == 0).collect();
        let counted = Bits::new(bits.iter().copied());
        for position in 0..=bits.len() {
            let ones = bits[..position].iter().filter(|b| **b).count();
            assert_eq!(counted.ones_before(position), ones, "at {position}");
        }
    }

    #[test]
    fn counts_what_a_check_of_every_point_counts() {
        let mut rng = Rng(5);
        for len in [0, 1, 2, 3, 17, 384, 385, 768, 1_000] {
            // A permutation of ranks, as the points' `y` ranks in order of `x`.
            let mut ranks: Vec<u32> = (0..len as u32).collect();
            for i in (1..ranks.len()).rev() {
                ranks.swap(i, rng.below(i as u64 + 1) as usize);
            }
            let set = Corners::new(ranks.clone());
            for _ in 0..200 {
                let from = rng.below(len as u64 + 2) as usize;
                let rank = rng.below(len as u64 + 2) as usize;
                let expected = ranks
                    .iter()
                    .skip(from)
                    .filter(|r| **r as usize >= rank)
                    .count();
                let [got, again] = Corners::beyond([&set, &set], [(from, rank), (from, rank)]);
                assert_eq!(
                    (got, again),
                    (expected, expected),
                    "{len} points, {from}, {rank}"
                );
            }
        }
    }
}
