//! Where a sandbox's init goes. Each phase is marked as it ends — a clock read, nothing more —
//! and when `STRONGROOM_INIT_PHASES=1` (as `make bench` sets it) the phases are printed on
//! standard error, one line, when init ends.

use std::future::Future;
use std::sync::{Mutex, OnceLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

static MAIN: OnceLock<(Instant, SystemTime)> = OnceLock::new();
static PHASES: Mutex<Vec<(&'static str, Instant)>> = Mutex::new(Vec::new());

/// Runs a Lambda binary's `main`: builds the async runtime and installs logging, then runs
/// `main` (which builds its dependencies, calls [`end`] and serves events).
///
/// The runtime has one thread: a sandbox serves one event at a time, and worker threads
/// only add their start-up to init. Blocking work (DNS lookups) still goes to tokio's
/// blocking pool.
pub fn run<E: From<std::io::Error>>(main: impl Future<Output = Result<(), E>>) -> Result<(), E> {
    let _ = MAIN.set((Instant::now(), SystemTime::now()));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    phase("runtime");
    runtime.block_on(async {
        crate::logging::init();
        phase("logging");
        main.await
    })
}

/// Marks the end of the phase `name`, which began where the one before it ended.
pub fn phase(name: &'static str) {
    if let Ok(mut phases) = PHASES.lock() {
        phases.push((name, Instant::now()));
    }
}

/// Marks the end of init, and prints the phases when asked to.
pub fn end() {
    if std::env::var("STRONGROOM_INIT_PHASES").as_deref() != Ok("1") {
        return;
    }
    let Some((main, main_at)) = MAIN.get() else {
        return;
    };
    let Ok(phases) = PHASES.lock() else {
        return;
    };
    let mut previous = *main;
    let durations: Vec<String> = phases
        .iter()
        .map(|(name, at)| {
            let us = at.duration_since(previous).as_secs_f64() * 1e6;
            previous = *at;
            format!("[\"{name}\",{us:.0}]")
        })
        .collect();
    let main_at_us = main_at
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1e6);
    eprintln!(
        "strongroom-init-phases {{\"main_at_us\":{main_at_us:.0},\"phases\":[{}]}}",
        durations.join(",")
    );
}
