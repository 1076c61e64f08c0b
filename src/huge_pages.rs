//! Transparent huge pages, off while a crawl runs.
//!
//! mimalloc asks the kernel for transparent huge pages. A crawl and its mapping allocate
//! and free gigabytes of short-lived JSON, and the kernel zeroes each fresh 2 MiB page on
//! first touch: on a virtual machine that was a quarter of the CPU of starting on a
//! million Items. The index, which every search reads at random, is faster on huge
//! pages. So the process turns them off while any crawl runs and on again when none
//! does, unless they were off when it started or `MIMALLOC_ALLOW_THP` is set
//! (BENCHMARKS.md, thirteenth pass).

use std::sync::{Mutex, OnceLock};

/// How many crawls run now.
static RUNNING: Mutex<usize> = Mutex::new(0);

/// Transparent huge pages stay off for the process while one lives.
pub struct Off(());

/// Turns transparent huge pages off until the guard returned, and every other one, is
/// dropped.
pub fn off() -> Off {
    let mut running = RUNNING.lock().unwrap_or_else(|p| p.into_inner());
    if *running == 0 {
        set_enabled(false);
    }
    *running += 1;
    Off(())
}

impl Drop for Off {
    fn drop(&mut self) {
        let mut running = RUNNING.lock().unwrap_or_else(|p| p.into_inner());
        *running = running.saturating_sub(1);
        if *running == 0 {
            set_enabled(true);
        }
    }
}

/// Whether the process may turn huge pages on and off: they were on when it started,
/// and the allocator's own setting is not given.
fn managed() -> bool {
    static MANAGED: OnceLock<bool> = OnceLock::new();
    *MANAGED.get_or_init(|| {
        #[cfg(target_os = "linux")]
        return std::env::var_os("MIMALLOC_ALLOW_THP").is_none()
            && rustix::thread::transparent_huge_pages_are_disabled().is_ok_and(|off| !off);
        #[cfg(not(target_os = "linux"))]
        return false;
    })
}

/// Turns huge pages on or off for the process, where it may.
fn set_enabled(enabled: bool) {
    if !managed() {
        return;
    }
    #[cfg(target_os = "linux")]
    if let Err(error) = rustix::thread::disable_transparent_huge_pages(!enabled) {
        tracing::debug!(%error, enabled, "cannot switch transparent huge pages");
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    #[test]
    fn stay_off_until_the_last_guard_is_dropped() {
        if !super::managed() {
            return;
        }
        let disabled = || rustix::thread::transparent_huge_pages_are_disabled().ok();
        let outer = super::off();
        let inner = super::off();
        assert_eq!(disabled(), Some(true));
        drop(inner);
        assert_eq!(disabled(), Some(true));
        drop(outer);
        assert_eq!(disabled(), Some(false));
    }
}
