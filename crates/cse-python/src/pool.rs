//! The threads that seal large chunks: one rayon pool per process, made on first use.
//!
//! A process that forks (Python's `multiprocessing`, `os.fork`) keeps the pool object but not
//! its threads, so the pool is kept with the id of the process that made it, and a child makes
//! its own. The lock is only ever tried: a lock that another thread held at the fork stays held
//! in the child forever, and a sealing call must not wait on it. A call that finds it taken
//! seals on its own thread instead.

use std::sync::{Arc, Mutex};

use rayon_core::{ThreadPool, ThreadPoolBuilder};

use crate::stream::default_threads;

static POOL: Mutex<Option<(u32, Arc<ThreadPool>)>> = Mutex::new(None);

/// This process's sealing pool, or `None` (the lock is taken, or no thread could start): then
/// the caller seals on its own thread.
pub fn get() -> Option<Arc<ThreadPool>> {
    let pid = std::process::id();
    let mut slot = POOL.try_lock().ok()?;
    if let Some((owner, pool)) = slot.as_ref()
        && *owner == pid
    {
        return Some(Arc::clone(pool));
    }
    let pool = ThreadPoolBuilder::new()
        .num_threads(default_threads())
        .thread_name(|i| format!("oss_cse-seal-{i}"))
        .build()
        .ok()
        .map(Arc::new)?;
    if let Some(inherited) = slot.replace((pid, Arc::clone(&pool))) {
        // The parent's pool: its threads are not in this process, so it is not dropped (which
        // would signal them) but left as it is.
        std::mem::forget(inherited);
    }
    Some(pool)
}
