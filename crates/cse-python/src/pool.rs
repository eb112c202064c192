//! The threads that seal large chunks: one rayon pool per process, made on first use.
//!
//! A process that forks (Python's `multiprocessing`, `os.fork`) keeps the pool object but not
//! its threads. The module registers [`after_fork_in_child`] with `os.register_at_fork`, which
//! counts forks; the pool is kept with the count it was made under (and the process id, for a
//! fork that Python did not see), and a child makes its own. The lock is only ever tried: a
//! lock that another thread held at the fork stays held in the child forever, and a sealing
//! call must not wait on it. A call that finds it taken seals on its own thread instead.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use pyo3::prelude::*;
use rayon_core::{ThreadPool, ThreadPoolBuilder};

use crate::stream::default_threads;

/// Which process made the pool: its id and the fork count then.
type Owner = (u32, u64);

static POOL: Mutex<Option<(Owner, Arc<ThreadPool>)>> = Mutex::new(None);
static FORKS: AtomicU64 = AtomicU64::new(0);

/// Counts a fork, in the child (`os.register_at_fork(after_in_child=...)`).
#[pyfunction]
pub fn after_fork_in_child() {
    FORKS.fetch_add(1, Ordering::SeqCst);
}

/// Registers [`after_fork_in_child`] where Python can fork.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let hook = wrap_pyfunction!(after_fork_in_child, m)?;
    let os = py.import("os")?;
    if os.hasattr("register_at_fork")? {
        let kwargs = pyo3::types::PyDict::new(py);
        kwargs.set_item("after_in_child", hook)?;
        os.call_method("register_at_fork", (), Some(&kwargs))?;
    }
    Ok(())
}

/// This process's sealing pool, or `None` (the lock is taken, or no thread could start): then
/// the caller seals on its own thread.
pub fn get() -> Option<Arc<ThreadPool>> {
    let owner = (std::process::id(), FORKS.load(Ordering::SeqCst));
    let mut slot = POOL.try_lock().ok()?;
    if let Some((made_by, pool)) = slot.as_ref()
        && *made_by == owner
    {
        return Some(Arc::clone(pool));
    }
    let pool = ThreadPoolBuilder::new()
        .num_threads(default_threads())
        .thread_name(|i| format!("oss_cse-seal-{i}"))
        .build()
        .ok()
        .map(Arc::new)?;
    if let Some(inherited) = slot.replace((owner, Arc::clone(&pool))) {
        // The parent's pool: its threads are not in this process, so it is not dropped (which
        // would signal them) but left as it is.
        std::mem::forget(inherited);
    }
    Some(pool)
}
