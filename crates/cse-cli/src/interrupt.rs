//! SIGINT, SIGTERM and SIGHUP: no partial file is left behind, and a long operation may stop
//! cleanly.
//!
//! [`install`] starts a thread that waits for the three signals (the `signal-hook` iterator: no
//! code runs in the signal handler itself). When one arrives:
//!
//! * with no [`CancelGuard`] alive, every path registered with [`protect`] is removed (an
//!   [`Output`](crate::files::Output) registers its temporary file itself), one line
//!   `error: interrupted by SIGINT; nothing was written at --out F` goes to stderr, and the
//!   process exits with 128 + the signal number ([`Signal::exit_code`]);
//! * while a [`CancelGuard`] lives, the first signal is only recorded and wakes
//!   [`CancelGuard::wait`]: the command stops at its next step and returns
//!   [`CliError::interrupted`](crate::error::CliError::interrupted). A second signal ends the
//!   process at once, as above.
//!
//! One mutex covers the registry, the cleanup and every commit (the rename of an output into
//! place): a signal during a commit waits for it, so it can neither delete a committed output
//! nor leave a partial one.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{LazyLock, Mutex, MutexGuard, PoisonError};

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use tokio::sync::watch;

use crate::stdout::stderr_line;

/// A signal that ended (or is ending) the command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// SIGINT (Ctrl-C).
    Int,
    /// SIGTERM (kill, a service manager stopping the job).
    Term,
    /// SIGHUP (the terminal went away).
    Hup,
}

impl Signal {
    /// The exit status a shell reports for it: 128 + the signal number (130, 143, 129).
    pub const fn exit_code(self) -> u8 {
        match self {
            Self::Int => 130,
            Self::Term => 143,
            Self::Hup => 129,
        }
    }

    /// Its name: `SIGINT`, `SIGTERM`, `SIGHUP`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Int => "SIGINT",
            Self::Term => "SIGTERM",
            Self::Hup => "SIGHUP",
        }
    }

    const fn from_number(number: i32) -> Option<Self> {
        match number {
            SIGINT => Some(Self::Int),
            SIGTERM => Some(Self::Term),
            SIGHUP => Some(Self::Hup),
            _ => None,
        }
    }
}

/// A path to remove if a signal ends the process.
#[derive(Debug)]
struct Entry {
    id: u64,
    path: PathBuf,
    /// What to name in the message: `Some("--out F")` for an output's temporary file (nothing
    /// was written at F), `None` for a path registered with [`protect`] (named as removed).
    output: Option<String>,
}

/// What the signal thread and the commands share, behind [`REGISTRY`].
#[derive(Debug)]
struct Registry {
    next_id: u64,
    protected: Vec<Entry>,
    /// Live [`CancelGuard`]s.
    cancellers: usize,
    /// The first signal, when a [`CancelGuard`] was alive to take it.
    pending: Option<Signal>,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    next_id: 0,
    protected: Vec::new(),
    cancellers: 0,
    pending: None,
});

/// Wakes [`CancelGuard::wait`]: `Some` once a signal was recorded.
static SIGNALLED: LazyLock<watch::Sender<Option<Signal>>> =
    LazyLock::new(|| watch::Sender::new(None));

/// The registry, whatever a panicking holder left (its state stays consistent: every change is
/// one push, retain or assignment).
fn lock() -> MutexGuard<'static, Registry> {
    REGISTRY.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Called first in main: starts the thread that waits for SIGINT, SIGTERM and SIGHUP.
///
/// Returns once the handlers are in place. If they cannot be (no thread, no pipe), the signals
/// keep their default action, which ends the process as before.
pub fn install() {
    let (ready, registered) = mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("cse-signals".to_owned())
        .spawn(move || {
            // Registered in this thread, so a failure to spawn it leaves the defaults alone.
            let signals = Signals::new([SIGINT, SIGTERM, SIGHUP]);
            let _ = ready.send(());
            if let Ok(mut signals) = signals {
                for number in signals.forever() {
                    if let Some(signal) = Signal::from_number(number) {
                        arrived(signal);
                    }
                }
            }
        });
    if spawned.is_ok() {
        let _ = registered.recv();
    }
}

/// A signal arrived: record it for a [`CancelGuard`], or clean up and exit.
fn arrived(signal: Signal) {
    let mut registry = lock();
    if registry.cancellers > 0 && registry.pending.is_none() {
        registry.pending = Some(signal);
        drop(registry);
        SIGNALLED.send_replace(Some(signal));
        return;
    }
    let again = registry.pending.is_some();
    let (mut outputs, mut removed) = (Vec::new(), Vec::new());
    for entry in registry.protected.drain(..) {
        remove(&entry.path);
        match entry.output {
            Some(output) => outputs.push(output),
            None => removed.push(entry.path.display().to_string()),
        }
    }
    let mut line = format!("error: interrupted by {}", signal.name());
    if again {
        line.push_str(" a second time; stopped at once");
    }
    if !outputs.is_empty() {
        line.push_str("; nothing was written at ");
        line.push_str(&outputs.join(", "));
    }
    if !removed.is_empty() {
        line.push_str("; removed ");
        line.push_str(&removed.join(", "));
    }
    stderr_line(line);
    // Still holding the registry: no commit can start after the cleanup.
    std::process::exit(i32::from(signal.exit_code()));
}

fn remove(path: &Path) {
    let is_dir = fs::symlink_metadata(path).is_ok_and(|m| m.is_dir());
    let _ = if is_dir {
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    };
}

/// While it lives, its path is removed if a signal ends the process. Dropping it unregisters the
/// path (and leaves the file alone).
#[must_use = "the path is protected only while the guard lives"]
#[derive(Debug)]
pub struct ProtectGuard {
    /// `None` once released.
    id: Option<u64>,
}

impl Drop for ProtectGuard {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            lock().protected.retain(|e| e.id != id);
        }
    }
}

/// While the guard lives, `path` (a file, or a directory and its contents) is removed if a
/// signal ends the process, and the message says so. Register every temporary or partial file:
/// [`Output`](crate::files::Output) does this itself for its temporary file.
pub fn protect(path: &Path) -> ProtectGuard {
    register(&mut lock(), path, None)
}

fn register(registry: &mut Registry, path: &Path, output: Option<String>) -> ProtectGuard {
    let id = registry.next_id;
    registry.next_id += 1;
    registry.protected.push(Entry {
        id,
        path: path.to_path_buf(),
        output,
    });
    ProtectGuard { id: Some(id) }
}

/// Signals held off: while it lives a signal waits (its cleanup cannot run), so files can be
/// created and protected, or renamed into place and released, as one step. Do not drop a
/// [`ProtectGuard`] while holding one: [`release`](Self::release) it instead.
#[derive(Debug)]
pub struct Held(MutexGuard<'static, Registry>);

/// Holds signals off until the returned [`Held`] is dropped.
pub fn hold() -> Held {
    Held(lock())
}

impl Held {
    /// A signal that was recorded (while a [`CancelGuard`] lived) and not yet acted on.
    pub fn pending(&self) -> Option<Signal> {
        self.0.pending
    }

    /// Protects `path`, the temporary file of the output `shown` (`--out F`): the message says
    /// nothing was written at F.
    pub fn protect_output(&mut self, path: &Path, shown: &str) -> ProtectGuard {
        register(&mut self.0, path, Some(shown.to_owned()))
    }

    /// Unregisters `guard`'s path: it was renamed into place, or is about to be deleted by its
    /// owner, within this step.
    pub fn release(&mut self, mut guard: ProtectGuard) {
        if let Some(id) = guard.id.take() {
            self.0.protected.retain(|e| e.id != id);
        }
    }
}

/// While the guard lives, the FIRST signal does not end the process: it is recorded and wakes
/// waiters, so a long operation can stop cleanly (wait for in-flight requests, abort or keep a
/// multipart upload) and return [`CliError::interrupted`](crate::error::CliError::interrupted).
/// A second signal ends the process at once (after removing protected paths).
pub fn cancellable() -> CancelGuard {
    lock().cancellers += 1;
    CancelGuard { _private: () }
}

/// See [`cancellable`].
#[must_use = "the first signal is deferred only while the guard lives"]
#[derive(Debug)]
pub struct CancelGuard {
    _private: (),
}

impl CancelGuard {
    /// The signal received while a guard was alive, if any.
    pub fn signal(&self) -> Option<Signal> {
        *SIGNALLED.borrow()
    }

    /// Resolves when a signal has been received (at once if one already was). Runtime-agnostic
    /// (a `tokio::sync::watch`): usable inside `tokio::select!`.
    pub async fn wait(&self) -> Signal {
        let mut signalled = SIGNALLED.subscribe();
        let received = signalled
            .wait_for(Option::is_some)
            .await
            .ok()
            .and_then(|s| *s);
        match received {
            Some(signal) => signal,
            // The sender is a static that is never dropped: wait_for cannot fail.
            None => std::future::pending().await,
        }
    }
}

impl Drop for CancelGuard {
    fn drop(&mut self) {
        let mut registry = lock();
        registry.cancellers = registry.cancellers.saturating_sub(1);
    }
}

/// Creates an output's temporary file with signals held off and protects the path `create`
/// returns with it (see [`Held::protect_output`]): no signal can land between the creation and
/// the protection.
///
/// # Errors
/// What `create` returns.
pub fn create_protected<T>(
    shown: &str,
    create: impl FnOnce() -> io::Result<(T, PathBuf)>,
) -> io::Result<(T, ProtectGuard)> {
    let mut held = hold();
    let (made, path) = create()?;
    let guard = held.protect_output(&path, shown);
    Ok((made, guard))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_and_names() {
        assert_eq!(Signal::Int.exit_code(), 130);
        assert_eq!(Signal::Term.exit_code(), 143);
        assert_eq!(Signal::Hup.exit_code(), 129);
        assert_eq!(Signal::Int.name(), "SIGINT");
        assert_eq!(Signal::from_number(SIGTERM), Some(Signal::Term));
        assert_eq!(Signal::from_number(9), None);
    }

    #[test]
    fn guards_register_and_unregister() {
        let path = Path::new("/nonexistent/cse-interrupt-test");
        let count = || lock().protected.iter().filter(|e| e.path == path).count();
        let guard = protect(path);
        assert_eq!(count(), 1);
        drop(guard);
        assert_eq!(count(), 0);
        let mut held = hold();
        let guard = held.protect_output(path, "--out x");
        held.release(guard);
        drop(held);
        assert_eq!(count(), 0);
    }
}
