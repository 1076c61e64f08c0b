//! CPU-bound work of a crawl (mapping artifacts, indexing Items) spread over the cores.

/// `f` applied to each of `items`, results in the same order: the items are split into
/// one run of neighbours per core, each run on a thread of its own. A panic in `f` is
/// raised again on the calling thread.
pub fn map<T: Send, R: Send>(items: Vec<T>, f: impl Fn(T) -> R + Sync) -> Vec<R> {
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
            .map(|run| scope.spawn(move || run.into_iter().map(f).collect::<Vec<R>>()))
            .collect();
        running
            .into_iter()
            .flat_map(|thread| match thread.join() {
                Ok(results) => results,
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
}
