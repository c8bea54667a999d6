//! The refresh's CPU priority. A refresh parses, compares and writes at full speed for
//! seconds to minutes. On a machine that also serves visitors it would take a core from
//! them just when their requests cost most (after each of its commits, every reader reads
//! the store's pages again). At a lower priority (a higher nice value,
//! `TOURSHERPA_REFRESH_NICE`) it takes the CPU the server leaves idle: visitors come
//! first, and the refresh still runs whenever a core is free.

/// The nice value a refresh runs at unless `TOURSHERPA_REFRESH_NICE` says otherwise.
pub const DEFAULT_REFRESH_NICE: i32 = 10;

/// Lowers the calling thread's CPU priority to the nice value `nice` (0 to 19). Never
/// raises it: a thread already at `nice` or lower (a process started under `nice -n 15`,
/// say) keeps its own. On Linux the value belongs to each thread and a thread started
/// later takes its starter's, so call this before starting the threads that do the work.
/// Failing to lower it is logged, not fatal: the refresh then runs as before.
pub fn lower_for_refresh(nice: i32) {
    #[cfg(unix)]
    {
        if nice <= current_nice() {
            return;
        }
        // SAFETY: setpriority takes plain integers and touches no memory of ours; `who`
        // 0 names the calling thread.
        let r = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, nice) };
        if r != 0 {
            tracing::warn!(
                nice,
                error = %std::io::Error::last_os_error(),
                "could not lower the refresh's CPU priority; it runs at the usual one"
            );
        }
    }
}

/// A runtime for the refreshes `serve` starts, its two threads at the nice value `nice`.
/// It lives as long as the process.
pub fn refresh_runtime(nice: i32) -> std::io::Result<tokio::runtime::Handle> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("refresh")
        .on_thread_start(move || lower_for_refresh(nice))
        .enable_all()
        .build()?;
    Ok(Box::leak(Box::new(runtime)).handle().clone())
}

/// The calling thread's nice value.
#[cfg(unix)]
pub fn current_nice() -> i32 {
    // SAFETY: as above. A failed call also answers -1, a valid nice value; then
    // `lower_for_refresh` tries to lower it anyway, and logs if that fails too.
    unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn the_lowered_priority_holds_for_threads_started_afterwards() {
        // In a thread of its own, so the test harness's threads keep theirs.
        let (own, child) = std::thread::spawn(|| {
            let before = current_nice();
            lower_for_refresh(before + 5);
            let child = std::thread::spawn(current_nice).join().unwrap();
            (current_nice() - before, child - before)
        })
        .join()
        .unwrap();
        assert_eq!(own, 5);
        assert_eq!(child, 5);
    }

    #[test]
    fn a_priority_already_lower_is_kept() {
        let (zero, again) = std::thread::spawn(|| {
            let before = current_nice();
            lower_for_refresh(0);
            let zero = current_nice() - before;
            lower_for_refresh(before + 4);
            lower_for_refresh(before + 2);
            (zero, current_nice() - before)
        })
        .join()
        .unwrap();
        assert_eq!(zero, 0, "0 leaves it as it is");
        assert_eq!(again, 4, "a higher priority is never asked back");
    }
}
