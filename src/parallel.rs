//! The threads a crawl's CPU-bound work (mapping artifacts, indexing Items) runs on.
//!
//! That work is spread over the cores with `rayon`. A crawl runs it on a pool of its
//! own, whose threads last as long as the work: across its batches each thread reuses
//! the memory it has freed (a thread started per batch begins with an empty allocator
//! cache and touches fresh pages), and what the threads still cache when the crawl ends
//! goes back with them (the global pool's idle threads would keep it).

/// Runs `work` on a pool made for it, one thread per core; `rayon` calls inside it use
/// that pool. Runs it on the calling thread's pool when no thread can be started. A panic
/// in `work` is raised again on the calling thread.
pub fn on_own_pool<R: Send>(work: impl FnOnce() -> R + Send) -> R {
    match rayon::ThreadPoolBuilder::new().build() {
        Ok(pool) => pool.install(work),
        Err(_) => work(),
    }
}

#[cfg(test)]
mod tests {
    use rayon::prelude::*;

    #[test]
    fn runs_on_a_pool_of_its_own() {
        let outside = std::thread::current().id();
        let (threads, doubled) = super::on_own_pool(|| {
            let doubled: Vec<usize> = (0..1000usize).into_par_iter().map(|i| i * 2).collect();
            (rayon::current_num_threads(), doubled)
        });
        assert_eq!(doubled, (0..1000).map(|i| i * 2).collect::<Vec<_>>());
        assert_eq!(
            threads,
            std::thread::available_parallelism().map_or(1, |n| n.get())
        );
        assert_eq!(std::thread::current().id(), outside);
    }

    #[test]
    fn raises_a_panic_again_on_the_caller() {
        let caught = std::panic::catch_unwind(|| super::on_own_pool(|| panic!("in the pool")));
        assert!(caught.is_err());
    }
}
