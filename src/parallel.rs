//! CPU-bound work of a crawl (mapping artifacts, indexing Items) spread over the cores.

use std::cmp::Ordering;

/// `f` applied to each of `items`, results in the same order: the items are split into
/// one run of neighbours per core, each run on a thread of its own. A panic in `f` is
/// raised again on the calling thread.
pub fn map<T: Send, R: Send>(items: Vec<T>, f: impl Fn(T) -> R + Sync) -> Vec<R> {
    let f = &f;
    on_each_run(items, move |run| run.into_iter().map(f).collect::<Vec<R>>())
        .into_iter()
        .flatten()
        .collect()
}

/// `items` sorted stably by `compare`: one run per core sorted on its own thread, then
/// the runs merged, earlier runs first among equals.
pub fn sort_by<T: Send>(items: Vec<T>, compare: impl Fn(&T, &T) -> Ordering + Sync) -> Vec<T> {
    let compare = &compare;
    let mut runs = on_each_run(items, move |mut run| {
        run.sort_by(compare);
        run
    });
    while runs.len() > 1 {
        let mut pairs = runs.into_iter();
        let mut merged = Vec::with_capacity(pairs.len().div_ceil(2));
        while let Some(left) = pairs.next() {
            merged.push(match pairs.next() {
                Some(right) => merge(left, right, compare),
                None => left,
            });
        }
        runs = merged;
    }
    runs.pop().unwrap_or_default()
}

/// Runs `a` and `b` at once, `a` on a thread of its own.
pub fn join<A: Send, B>(a: impl FnOnce() -> A + Send, b: impl FnOnce() -> B) -> (A, B) {
    std::thread::scope(|scope| {
        let a = scope.spawn(a);
        let b = b();
        match a.join() {
            Ok(a) => (a, b),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

/// Two sorted runs as one, `left`'s items first among equals.
fn merge<T>(left: Vec<T>, right: Vec<T>, compare: impl Fn(&T, &T) -> Ordering) -> Vec<T> {
    let mut out = Vec::with_capacity(left.len() + right.len());
    let mut right = right.into_iter().peekable();
    for item in left {
        while let Some(smaller) = right.next_if(|r| compare(r, &item) == Ordering::Less) {
            out.push(smaller);
        }
        out.push(item);
    }
    out.extend(right);
    out
}

/// `f` applied to runs of neighbours of `items`, one run per core, each on a thread of
/// its own; results in the order of the runs.
fn on_each_run<T: Send, R: Send>(items: Vec<T>, f: impl Fn(Vec<T>) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per_thread = items.len().div_ceil(threads).max(1);
    let mut runs = Vec::with_capacity(threads);
    let mut rest = items;
    while rest.len() > per_thread {
        let tail = rest.split_off(per_thread);
        runs.push(std::mem::replace(&mut rest, tail));
    }
    runs.push(rest);
    let f = &f;
    std::thread::scope(|scope| {
        let running: Vec<_> = runs
            .into_iter()
            .map(|run| scope.spawn(move || f(run)))
            .collect();
        running
            .into_iter()
            .map(|thread| match thread.join() {
                Ok(result) => result,
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn keeps_the_order_of_any_number_of_items() {
        for n in [0, 1, 2, 3, 7, 1000] {
            let items: Vec<usize> = (0..n).collect();
            let doubled = super::map(items, |i| i * 2);
            assert_eq!(doubled, (0..n).map(|i| i * 2).collect::<Vec<_>>());
        }
    }

    #[test]
    fn sorts_stably_like_one_thread_does() {
        for n in [0, 1, 2, 3, 7, 1000, 10_001] {
            // Keys repeat, so stability shows: equal keys keep their input order.
            let items: Vec<(u32, usize)> = (0..n).map(|i| ((i * 7919 % 97) as u32, i)).collect();
            let mut expected = items.clone();
            expected.sort_by_key(|(key, _)| *key);
            assert_eq!(super::sort_by(items, |a, b| a.0.cmp(&b.0)), expected);
        }
    }

    #[test]
    fn merges_runs_left_first_among_equals() {
        let merged = super::merge(
            vec![(1, 'a'), (2, 'a'), (4, 'a')],
            vec![(0, 'b'), (2, 'b'), (5, 'b')],
            |x: &(i32, char), y| x.0.cmp(&y.0),
        );
        let expected = [(0, 'b'), (1, 'a'), (2, 'a'), (2, 'b'), (4, 'a'), (5, 'b')];
        assert_eq!(merged, expected);
    }

    #[test]
    fn joins_both_results() {
        assert_eq!(super::join(|| 1 + 1, || "two"), (2, "two"));
    }
}
