//! The misuses a checked type reports, recorded rather than aborting: a
//! hook that keeps them on the reporting thread, for the tests to take.

use std::cell::RefCell;
use std::sync::{Mutex, MutexGuard};

use lite_alloc::check::{self, Misuse};

thread_local! {
    static SEEN: RefCell<Vec<Misuse>> = const { RefCell::new(Vec::new()) };
}

/// The hook: records the misuse on this thread (a hook of a test of its
/// own may call it too).
pub fn record(misuse: &Misuse) {
    SEEN.with(|seen| seen.borrow_mut().push(*misuse));
}

/// The misuses recorded on this thread since the last call.
pub fn take() -> Vec<Misuse> {
    SEEN.with(|seen| std::mem::take(&mut *seen.borrow_mut()))
}

/// Taken by every test of a binary that uses the hook: it is global.
static SERIAL: Mutex<()> = Mutex::new(());

/// Holds the binary's tests apart, installs the recording hook and forgets
/// what an earlier test left recorded.
pub fn serial() -> MutexGuard<'static, ()> {
    let guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    check::set_hook(record);
    take();
    guard
}
