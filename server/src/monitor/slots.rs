//! How many monitor WebSocket connections may be open: in total, and per caller (a user, or an
//! API token). Each connection holds a task and a feed subscriber for as long as it is open, so
//! one caller opening thousands would take them from everyone.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
};

/// The open connections, by caller.
#[derive(Debug)]
pub struct Slots {
    total: usize,
    per_caller: usize,
    open: Arc<Mutex<HashMap<String, usize>>>,
}

/// One open connection; dropping it frees its slot.
#[derive(Debug)]
pub struct Slot {
    caller: String,
    open: Arc<Mutex<HashMap<String, usize>>>,
}

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Full {
    /// The caller has `per_caller` open already.
    Caller(usize),
    /// The server has `total` open already.
    Server(usize),
}

impl Slots {
    pub fn new(total: usize, per_caller: usize) -> Self {
        Self {
            total: total.max(1),
            per_caller: per_caller.max(1),
            open: Arc::default(),
        }
    }

    /// How many connections are open.
    pub fn open(&self) -> usize {
        self.open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .sum()
    }

    /// A slot for `caller`, if both limits allow one more.
    pub fn take(&self, caller: &str) -> Result<Slot, Full> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if open.values().sum::<usize>() >= self.total {
            return Err(Full::Server(self.total));
        }
        let mine = open.entry(caller.to_owned()).or_default();
        if *mine >= self.per_caller {
            return Err(Full::Caller(self.per_caller));
        }
        *mine += 1;
        Ok(Slot {
            caller: caller.to_owned(),
            open: self.open.clone(),
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.caller) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.caller);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_caller_and_the_server_have_their_limit_and_closing_frees_a_slot() {
        let slots = Slots::new(3, 2);
        let a1 = slots.take("a").unwrap();
        let _a2 = slots.take("a").unwrap();
        assert_eq!(slots.take("a").unwrap_err(), Full::Caller(2));
        let _b1 = slots.take("b").unwrap();
        assert_eq!(slots.take("c").unwrap_err(), Full::Server(3));
        drop(a1);
        assert!(slots.take("c").is_ok());
    }
}
