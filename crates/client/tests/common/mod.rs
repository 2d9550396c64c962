//! Helpers for client tests: a client whose commands are recorded, and a
//! fake clock for `with_transaction`'s retry timing.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bson::Document;
use rotor::{BoxFuture, Client, Clock, CommandEvent, RetryPolicy};

/// An in-memory client and the commands it has sent, in order.
pub fn recorded() -> (Client, Arc<Mutex<Vec<Document>>>) {
    let client = Client::in_memory().expect("in-memory clients open");
    let sent = Arc::new(Mutex::new(Vec::new()));
    let log = sent.clone();
    client.subscribe(move |event| {
        if let CommandEvent::Started { command, .. } = event {
            log.lock().unwrap().push(command.clone());
        }
    });
    (client, sent)
}

/// The recorded commands named `name`.
pub fn named(sent: &Mutex<Vec<Document>>, name: &str) -> Vec<Document> {
    sent.lock()
        .unwrap()
        .iter()
        .filter(|c| c.keys().next().map(String::as_str) == Some(name))
        .cloned()
        .collect()
}

/// A clock that only moves when slept on, and records every sleep.
#[derive(Default)]
pub struct FakeClock {
    pub start: Option<Instant>,
    pub slept: Mutex<Vec<Duration>>,
}

impl Clock for FakeClock {
    fn now(&self) -> Instant {
        let total: Duration = self.slept.lock().unwrap().iter().sum();
        self.start.unwrap_or_else(Instant::now) + total
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        self.slept.lock().unwrap().push(duration);
        Box::pin(async {})
    }
}

/// A retry policy with a fake clock, a fixed jitter and a timeout.
pub fn fake_policy(jitter: f64, timeout: Duration) -> (RetryPolicy, Arc<FakeClock>) {
    let clock = Arc::new(FakeClock {
        start: Some(Instant::now()),
        slept: Mutex::new(Vec::new()),
    });
    let policy = RetryPolicy {
        timeout,
        clock: clock.clone(),
        jitter: Arc::new(move || jitter),
    };
    (policy, clock)
}
