//! A deadline around the blocking collective calls (burn-collective has no timeouts of its own):
//! a node that hangs or never joins must not hang the others. While a call is watched, a thread
//! checks its deadline; past it, the process ends with an error that names this rank and what it
//! was waiting for. Ending the process is the way out of a call blocked anywhere inside; nothing
//! is lost by it (checkpoints and every file are written atomically, the run lock is released by
//! the OS).

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// What a watched call waits for, and until when.
struct Watched {
    what: String,
    deadline: Instant,
    timeout: Duration,
}

/// The exit status of a node stopped by its watchdog.
pub const WATCHDOG_EXIT: i32 = 3;

/// Ends the process when a watched call outlives its deadline.
#[derive(Clone)]
pub struct Watchdog {
    rank: usize,
    /// Appended to the error (e.g. where the last checkpoint is).
    advice: Arc<Mutex<String>>,
    slot: Arc<(Mutex<Option<Watched>>, Condvar)>,
}

impl std::fmt::Debug for Watchdog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watchdog")
            .field("rank", &self.rank)
            .finish()
    }
}

impl Watchdog {
    /// A watchdog for node `rank` (its thread sleeps until a call is watched).
    pub fn new(rank: usize) -> Self {
        let dog = Self {
            rank,
            advice: Arc::new(Mutex::new(String::new())),
            slot: Arc::new((Mutex::new(None), Condvar::new())),
        };
        let watcher = dog.clone();
        std::thread::Builder::new()
            .name("vit-watchdog".into())
            .spawn(move || watcher.watch_loop())
            .expect("a thread for the watchdog");
        dog
    }

    /// Sets what the error adds when the watchdog fires (e.g. how to resume).
    pub fn set_advice(&self, advice: String) {
        *self.advice.lock().unwrap_or_else(|e| e.into_inner()) = advice;
    }

    /// What the errors add (see [`Self::set_advice`]).
    pub fn advice(&self) -> String {
        self.advice.lock().map(|a| a.clone()).unwrap_or_default()
    }

    /// Runs `call` with a deadline of `timeout`; `what` says what it waits for.
    pub fn watch<T>(
        &self,
        what: impl Into<String>,
        timeout: Duration,
        call: impl FnOnce() -> T,
    ) -> T {
        let (lock, wake) = &*self.slot;
        *lock.lock().unwrap_or_else(|e| e.into_inner()) = Some(Watched {
            what: what.into(),
            deadline: Instant::now() + timeout,
            timeout,
        });
        wake.notify_all();
        let out = call();
        *lock.lock().unwrap_or_else(|e| e.into_inner()) = None;
        wake.notify_all();
        out
    }

    fn watch_loop(&self) {
        let (lock, wake) = &*self.slot;
        let mut slot = lock.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            slot = match &*slot {
                None => wake.wait(slot).unwrap_or_else(|e| e.into_inner()),
                Some(w) => {
                    let now = Instant::now();
                    if now >= w.deadline {
                        let advice = self.advice.lock().map(|a| a.clone()).unwrap_or_default();
                        eprintln!(
                            "error: rank {}: no answer from the other nodes within {secs} s \
                             while waiting for {}: a node died, never joined, cannot be reached \
                             (ports, addresses), or is more than {secs} s behind this one (a \
                             slower or busier machine: raise --collective-timeout); \
                             stopping.{advice}",
                            self.rank,
                            w.what,
                            secs = w.timeout.as_secs_f64(),
                        );
                        std::process::exit(WATCHDOG_EXIT);
                    }
                    let left = w.deadline - now;
                    wake.wait_timeout(slot, left)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
            };
        }
    }
}
