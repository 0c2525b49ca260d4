//! Fault injection: a seeded RNG picks a share of requests to fail in one of the ways real
//! clouds fail, so clients can be tested against them reproducibly (same seed and request
//! sequence, same faults). Depends on rand.

use std::sync::{Mutex, PoisonError};

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// One injected failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// 500 before the request is handled: nothing changed.
    ErrorBefore,
    /// 429 before the request is handled: nothing changed.
    TooManyRequests,
    /// 500 after the request was handled: the change happened but the client sees an error
    /// (the case that makes naive clients create duplicates).
    ErrorAfter,
    /// The request is handled normally after a long delay (past a client's timeout).
    Delay,
}

const KINDS: [Fault; 4] = [
    Fault::ErrorBefore,
    Fault::TooManyRequests,
    Fault::ErrorAfter,
    Fault::Delay,
];

/// Draws faults for requests, in arrival order.
#[derive(Debug)]
pub(crate) struct Faults {
    rate: f64,
    rng: Mutex<StdRng>,
}

impl Faults {
    pub(crate) fn new(rate: f64, seed: u64) -> Faults {
        Faults {
            rate,
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
        }
    }

    /// Whether the next request fails, and how. Draws nothing when the rate is 0.
    pub(crate) fn draw(&self) -> Option<Fault> {
        if self.rate <= 0.0 {
            return None;
        }
        let mut rng = self.rng.lock().unwrap_or_else(PoisonError::into_inner);
        if rng.random::<f64>() < self.rate {
            Some(KINDS[rng.random_range(0..KINDS.len())])
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_faults_and_rate_is_respected() {
        let draw = |seed| {
            let faults = Faults::new(0.3, seed);
            (0..1000).map(|_| faults.draw()).collect::<Vec<_>>()
        };
        let a = draw(7);
        assert_eq!(a, draw(7));
        assert_ne!(a, draw(8));
        let count = a.iter().filter(|f| f.is_some()).count();
        assert!(
            (200..400).contains(&count),
            "{count} faults of 1000 at rate 0.3"
        );
        for kind in KINDS {
            assert!(a.contains(&Some(kind)), "{kind:?} never drawn");
        }
        assert!(Faults::new(0.0, 1).draw().is_none());
        assert!((0..100).all(|_| Faults::new(1.0, 1).draw().is_some()));
    }
}
