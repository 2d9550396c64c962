//! Cluster time: a hybrid logical clock whose readings are BSON timestamps.
//!
//! A [`Ts`] packs mongod's `Timestamp { t: seconds, i: increment }` into one
//! `u64` (`t << 32 | i`), so timestamps order as integers. Every commit takes
//! a fresh tick; a client's higher `$clusterTime` advances the clock.
//!
//! Invariant: [`Clock::tick`] returns strictly increasing values, whatever the
//! wall clock does (it may stall or step back; the increment then carries).
//! The wall clock reaches the engine only through [`WallClock`], so tests can
//! drive it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A cluster time, ordered as mongod orders BSON timestamps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Ts(pub u64);

impl Ts {
    pub fn from_bson(ts: bson::Timestamp) -> Ts {
        Ts((u64::from(ts.time) << 32) | u64::from(ts.increment))
    }

    pub fn to_bson(self) -> bson::Timestamp {
        bson::Timestamp {
            time: (self.0 >> 32) as u32,
            increment: self.0 as u32,
        }
    }

    pub fn seconds(self) -> u32 {
        (self.0 >> 32) as u32
    }
}

/// Where the clock reads seconds since the epoch.
pub trait WallClock: Send + Sync {
    fn now_seconds(&self) -> u32;
}

/// The operating system's clock.
pub struct SystemClock;

impl WallClock for SystemClock {
    fn now_seconds(&self) -> u32 {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        u32::try_from(secs).unwrap_or(u32::MAX)
    }
}

/// The hybrid logical clock.
pub struct Clock {
    last: AtomicU64,
    wall: Arc<dyn WallClock>,
}

impl Clock {
    pub fn new(wall: Arc<dyn WallClock>) -> Clock {
        Clock {
            last: AtomicU64::new(0),
            wall,
        }
    }

    /// A fresh timestamp above every earlier reading.
    pub fn tick(&self) -> Ts {
        let wall = u64::from(self.wall.now_seconds()) << 32;
        let mut last = self.last.load(Ordering::Acquire);
        loop {
            let next = if wall > last { wall | 1 } else { last + 1 };
            match self
                .last
                .compare_exchange_weak(last, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return Ts(next),
                Err(seen) => last = seen,
            }
        }
    }

    /// The latest timestamp handed out (or gossiped in).
    pub fn now(&self) -> Ts {
        Ts(self.last.load(Ordering::Acquire))
    }

    /// Moves the clock to at least `ts` (a client's `$clusterTime`, or recovery).
    pub fn advance(&self, ts: Ts) {
        self.last.fetch_max(ts.0, Ordering::AcqRel);
    }

    pub fn wall_seconds(&self) -> u32 {
        self.wall.now_seconds()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Frozen(u32);
    impl WallClock for Frozen {
        fn now_seconds(&self) -> u32 {
            self.0
        }
    }

    #[test]
    fn tick_is_strictly_increasing_when_the_wall_clock_stalls() {
        let clock = Clock::new(Arc::new(Frozen(100)));
        let a = clock.tick();
        let b = clock.tick();
        assert!(b > a);
        assert_eq!(a.seconds(), 100);
        clock.advance(Ts((200u64 << 32) | 7));
        let c = clock.tick();
        assert_eq!(c.to_bson().time, 200);
        assert_eq!(c.to_bson().increment, 8);
    }
}
