//! Crash points: the named places where a durable write can be cut short.
//!
//! The stores call [`point`] just before and just after each step that makes
//! something durable (a transaction's commit, a file's fsync, a rename). In
//! a normal build [`point`] is an empty inline function. With the `faults`
//! feature (turned on only by the test crates), it calls the hook that the
//! current thread installed with [`set_hook`], which may let the write go
//! on, unwind from it with [`crash`] (a process crash as seen by the stores:
//! open transactions roll back, nothing after the point runs), or abort the
//! whole process.
//!
//! The hook is per thread, so that seeded simulations running in parallel
//! threads each crash their own replicas, and a thread without a hook is
//! never interrupted.

/// The panic payload of a simulated crash at a named point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Crash(pub &'static str);

/// Marks a crash point. Does nothing unless the `faults` feature is on and
/// this thread has a hook.
#[inline(always)]
pub fn point(name: &'static str) {
    #[cfg(feature = "faults")]
    imp::hit(name);
    #[cfg(not(feature = "faults"))]
    let _ = name;
}

/// Unwinds from a crash point as a crash would: the caller's open
/// transactions roll back on the way out. Catch it with
/// `std::panic::catch_unwind` and look for a [`Crash`] payload.
pub fn crash(name: &'static str) -> ! {
    std::panic::panic_any(Crash(name))
}

/// Whether a caught panic's payload is a simulated crash (and where).
pub fn crashed_at(payload: &(dyn std::any::Any + Send)) -> Option<&'static str> {
    payload.downcast_ref::<Crash>().map(|c| c.0)
}

/// A thread's crash-point hook: called with each point's name as it is
/// reached.
pub type Hook = Box<dyn FnMut(&'static str)>;

/// Installs this thread's hook, returning the one it replaces. Without the
/// `faults` feature the hook is never called.
pub fn set_hook(hook: Hook) -> Option<Hook> {
    #[cfg(feature = "faults")]
    {
        imp::HOOK.with(|h| h.borrow_mut().replace(hook))
    }
    #[cfg(not(feature = "faults"))]
    {
        drop(hook);
        None
    }
}

/// Removes this thread's hook.
pub fn clear_hook() -> Option<Hook> {
    #[cfg(feature = "faults")]
    {
        imp::HOOK.with(|h| h.borrow_mut().take())
    }
    #[cfg(not(feature = "faults"))]
    {
        None
    }
}

/// Keeps simulated crashes out of the panic output (a soak makes millions):
/// installs a process-wide panic hook that stays silent for a [`Crash`]
/// payload and hands every other panic to the hook it replaces.
pub fn quiet_crashes() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if info.payload().downcast_ref::<Crash>().is_none() {
                previous(info);
            }
        }));
    });
}

/// Whether crash points are compiled in.
pub const ENABLED: bool = cfg!(feature = "faults");

#[cfg(feature = "faults")]
mod imp {
    use std::cell::RefCell;

    use super::Hook;

    thread_local! {
        pub(super) static HOOK: RefCell<Option<Hook>> = const { RefCell::new(None) };
    }

    pub(super) fn hit(name: &'static str) {
        // Taken out while it runs, so that a hook which unwinds (a crash)
        // or reaches another point does not find the cell borrowed; put
        // back on the way out, unless the hook installed another.
        let Some(hook) = HOOK.with(|h| h.borrow_mut().take()) else {
            return;
        };
        struct Restore(Option<Hook>);
        impl Drop for Restore {
            fn drop(&mut self) {
                if let Some(hook) = self.0.take() {
                    HOOK.with(|h| {
                        let mut cell = h.borrow_mut();
                        if cell.is_none() {
                            *cell = Some(hook);
                        }
                    });
                }
            }
        }
        let mut restore = Restore(Some(hook));
        if let Some(hook) = restore.0.as_mut() {
            hook(name);
        }
    }
}

#[cfg(all(test, feature = "faults"))]
mod tests {
    use super::*;

    #[test]
    fn a_hook_sees_each_point_and_can_crash_at_one() {
        let seen = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
        let log = seen.clone();
        set_hook(Box::new(move |name| {
            log.borrow_mut().push(name);
            if name == "b" {
                crash(name);
            }
        }));
        point("a");
        let caught = std::panic::catch_unwind(|| point("b")).expect_err("the hook crashed at b");
        assert_eq!(crashed_at(caught.as_ref()), Some("b"));
        // The hook survives the crash it made.
        point("c");
        assert_eq!(*seen.borrow(), vec!["a", "b", "c"]);
        clear_hook();
        point("d");
        assert_eq!(seen.borrow().len(), 3);
    }
}
