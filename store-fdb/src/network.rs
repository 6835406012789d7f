//! The FoundationDB client network: started at most once per process, stopped at process exit.
//!
//! The FDB client library runs all of its I/O on one network thread. The C API allows that
//! thread to be set up exactly once per process and requires it to be stopped (and its thread
//! joined) before the process exits normally; after a stop it cannot be started again. This
//! module owns that lifecycle for the whole process:
//!
//! - `ensure_started` selects the API version and boots the network thread the first time
//!   any [`FdbBackend`](crate::FdbBackend) is opened; later calls return the first outcome.
//! - The handle that stops the network is kept in a process-wide slot, and an `atexit` handler
//!   registered right after the boot takes it out and drops it, which stops the network and
//!   joins its thread before the C runtime tears the process down.
//!
//! Nothing else in the process may select the FDB API version or boot the FDB network (for
//! example by calling `foundationdb::boot`): this module does it for everyone.

use std::panic::{self, AssertUnwindSafe};
use std::sync::{Mutex, OnceLock, PoisonError};

use foundationdb::FdbError;
use foundationdb::api::{FdbApiBuilder, NetworkAutoStop};

/// Why the FDB client network could not be started.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub(crate) enum NetworkError {
    /// The client library refused the API version or the network setup.
    #[error("{step}: {message} (FoundationDB error {code})")]
    Fdb {
        /// What was being done.
        step: &'static str,
        /// FDB's error code.
        code: i32,
        /// FDB's description of the error.
        message: String,
    },
    /// Another component of this process already selected the FDB API version.
    #[error(
        "the FoundationDB API version was already selected by another component of this \
         process; store-fdb must be the only one to start the FDB network"
    )]
    AlreadySelected,
    /// The exit handler that stops the network could not be registered.
    #[error("could not register the exit handler that stops the FoundationDB network")]
    AtExit,
}

impl NetworkError {
    fn fdb(step: &'static str, err: FdbError) -> Self {
        NetworkError::Fdb {
            step,
            code: err.code(),
            message: err.message().to_owned(),
        }
    }
}

/// The outcome of the one boot attempt of this process.
static STARTED: OnceLock<Result<(), NetworkError>> = OnceLock::new();

/// The handle that stops the network thread, until the exit handler takes it.
static RUNNING: Mutex<Option<NetworkAutoStop>> = Mutex::new(None);

/// Starts the FDB client network unless this process already did; returns the outcome of the
/// one attempt (a failed start cannot be retried: FDB allows one API selection per process).
pub(crate) fn ensure_started() -> Result<(), NetworkError> {
    STARTED.get_or_init(start).clone()
}

fn start() -> Result<(), NetworkError> {
    // `build` panics instead of failing when the API version was already selected in this
    // process; report that as an error rather than unwinding through the caller.
    let builder = panic::catch_unwind(AssertUnwindSafe(|| FdbApiBuilder::default().build()))
        .map_err(|_| NetworkError::AlreadySelected)?
        .map_err(|err| NetworkError::fdb("selecting the FoundationDB API version", err))?;

    let mut running = RUNNING.lock().unwrap_or_else(PoisonError::into_inner);

    // SAFETY: `NetworkBuilder::boot` is unsafe because the returned `NetworkAutoStop` must be
    // dropped before the process exits (it stops the FDB network and joins its thread), unless
    // the process aborts. It is moved into `RUNNING`, which nothing but `stop_at_exit` empties,
    // and `stop_at_exit` is registered with `atexit` below, so every exit through `exit()` or
    // a return from `main` drops it first. Exits that skip `atexit` handlers (`abort`, `_exit`,
    // fatal signals) end the process without running any further code, which is the abort
    // case the API permits. If the handler cannot be registered the handle is dropped at once.
    // `STARTED` guarantees this runs at most once per process.
    #[allow(unsafe_code)]
    let stop = unsafe { builder.boot() }
        .map_err(|err| NetworkError::fdb("starting the FoundationDB network", err))?;
    *running = Some(stop);

    // SAFETY: `atexit` only records a function pointer; `stop_at_exit` is a plain `extern "C"`
    // function without arguments that touches nothing but the `RUNNING` static. It is
    // registered after the FDB client set up its own state, so it runs before any exit
    // handler the client library registered (handlers run in reverse order).
    #[allow(unsafe_code)]
    let registered = unsafe { libc::atexit(stop_at_exit) };
    if registered != 0 {
        drop(running.take());
        return Err(NetworkError::AtExit);
    }
    Ok(())
}

/// Stops the FDB network and joins its thread; runs from the C runtime's exit handlers.
///
/// It must not run on the FDB network thread itself (it would join its own thread); nothing
/// in this crate exits the process from FDB callbacks.
extern "C" fn stop_at_exit() {
    let stop = RUNNING
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take();
    drop(stop);
}
