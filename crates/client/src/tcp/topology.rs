//! Which server commands go to: discovery of the primary from the seed
//! list, on demand, as a simplified form of Server Discovery and
//! Monitoring (SDAM).
//!
//! State machine: the topology either knows its selected server (the
//! replica set's primary, a mongos, a lone standalone, or the one host of
//! a direct connection) or it does not. Selection returns the known server
//! at once; otherwise one discovery round at a time sends `hello` on fresh
//! connections to the last known members and the seeds, follows the
//! `primary` and `hosts` they report, and installs the primary it finds
//! (the newest by `(electionId, setVersion)` when two claim it). Rounds
//! repeat every [`RETRY_INTERVAL`] until `serverSelectionTimeoutMS`.
//! [`Topology::mark_unknown`] forgets the selected server after a network
//! error or a "not writable primary"/"node is recovering" reply, so the
//! next operation rediscovers.
//!
//! Invariants: only a member of the `replicaSet` named in the options is
//! ever selected; a standalone is selected only from a one-host seed list
//! without `replicaSet`; a primary whose `hosts` do not list the address
//! it was dialed at is reached through the address it lists instead.
//!
//! Not done: background monitoring (there are no heartbeats; a stepped-down
//! primary is noticed when an operation fails), round-trip times, and
//! selecting secondaries (every read preference reads the primary).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinSet;

use crate::error::{Error, ErrorKind, Result};
use crate::tcp::connection::{Connection, Settings};
use crate::tcp::handshake::Hello;
use crate::tcp::pool::Pool;
use crate::uri::{ClientOptions, ServerAddress};

/// SDAM's `minHeartbeatFrequencyMS`: the pause between discovery rounds,
/// so a deployment in an election is not flooded with connections.
const RETRY_INTERVAL: Duration = Duration::from_millis(500);
/// Following `primary`/`hosts` hints cannot go on forever: a set has at
/// most 50 members, so a few hops reach any of them.
const DISCOVERY_HOPS_MAX: usize = 5;
/// More candidate addresses than this in one round is a hostile reply.
const CANDIDATES_MAX: usize = 100;

/// The selected server: where commands go now.
#[derive(Clone)]
pub(crate) struct Selected {
    pub(crate) address: ServerAddress,
    pub(crate) pool: Arc<Pool>,
}

/// What a `hello` reply makes of a server.
#[derive(Debug, PartialEq)]
enum Verdict {
    /// It may be selected.
    Selectable,
    /// A member, but not the primary; its hints are worth following.
    Member,
    /// It may not be selected, for this reason.
    Rejected(String),
}

/// Seeds, options and what discovery found.
pub(crate) struct Topology {
    seeds: Vec<ServerAddress>,
    replica_set: Option<String>,
    direct: bool,
    selection_timeout: Duration,
    max_pool_size: Option<u32>,
    settings: Arc<Settings>,
    state: Mutex<State>,
    /// One discovery round at a time; other selectors wait for its end.
    discovering: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct State {
    selected: Option<Selected>,
    /// The set's members as the last primary listed them.
    members: Vec<ServerAddress>,
    /// Pools outlive a rediscovery, so a primary found again keeps its
    /// connections.
    pools: HashMap<ServerAddress, Arc<Pool>>,
}

impl Topology {
    pub(crate) fn new(options: &ClientOptions, settings: Arc<Settings>) -> Topology {
        Topology {
            seeds: options.hosts.clone(),
            replica_set: options.replica_set.clone(),
            direct: options.direct_connection,
            selection_timeout: options.server_selection_timeout,
            max_pool_size: options.max_pool_size,
            settings,
            state: Mutex::new(State::default()),
            discovering: tokio::sync::Mutex::new(()),
        }
    }

    /// Whether the options asked for a direct connection.
    pub(crate) fn is_direct(&self) -> bool {
        self.direct
    }

    /// The server to send to, discovering it if need be.
    pub(crate) async fn select(&self) -> Result<Selected> {
        let deadline = tokio::time::Instant::now() + self.selection_timeout;
        let mut notes = Vec::new();
        loop {
            if let Some(selected) = self.current() {
                return Ok(selected);
            }
            match tokio::time::timeout_at(deadline, self.discovery_round()).await {
                Ok(Ok(selected)) => return Ok(selected),
                Ok(Err(round)) => notes = round,
                Err(_) => break,
            }
            let pause = deadline
                .saturating_duration_since(tokio::time::Instant::now())
                .min(RETRY_INTERVAL);
            if pause.is_zero() {
                break;
            }
            tokio::time::sleep(pause).await;
        }
        Err(self.selection_error(&notes))
    }

    /// Forgets the selected server if it is `address`; with `clear_pool`,
    /// also discards its connections.
    pub(crate) fn mark_unknown(&self, address: &ServerAddress, clear_pool: bool) {
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        if state
            .selected
            .as_ref()
            .is_some_and(|s| &s.address == address)
        {
            state.selected = None;
        }
        if clear_pool && let Some(pool) = state.pools.get(address) {
            pool.clear();
        }
    }

    /// Closes every idle connection.
    pub(crate) fn close(&self) {
        if let Ok(state) = self.state.lock() {
            for pool in state.pools.values() {
                pool.clear();
            }
        }
    }

    fn current(&self) -> Option<Selected> {
        self.state.lock().ok()?.selected.clone()
    }

    async fn discovery_round(&self) -> std::result::Result<Selected, Vec<String>> {
        let _one_at_a_time = self.discovering.lock().await;
        if let Some(selected) = self.current() {
            return Ok(selected);
        }
        let (address, hello) = self.discover().await?;
        Ok(self.install(address, &hello))
    }

    /// Checks the candidates, following hints, until a selectable server
    /// answers; the error lists what each server said.
    async fn discover(&self) -> std::result::Result<(ServerAddress, Hello), Vec<String>> {
        let mut candidates = self.first_candidates();
        let mut checked = HashSet::new();
        let mut notes = Vec::new();
        for _hop in 0..DISCOVERY_HOPS_MAX {
            let batch: Vec<ServerAddress> = candidates
                .iter()
                .filter(|a| !checked.contains(*a))
                .take(CANDIDATES_MAX)
                .cloned()
                .collect();
            if batch.is_empty() {
                break;
            }
            checked.extend(batch.iter().cloned());
            let mut best: Option<(ServerAddress, Hello)> = None;
            for (address, result) in self.check_all(batch).await {
                let hello = match result {
                    Ok(hello) => hello,
                    Err(error) => {
                        notes.push(format!("{address}: {error}"));
                        continue;
                    }
                };
                match self.judge(&address, &hello) {
                    Verdict::Selectable => {
                        if best
                            .as_ref()
                            .is_none_or(|(_, b)| hello.election > b.election)
                        {
                            best = Some((address, hello));
                        }
                    }
                    Verdict::Member => {
                        notes.push(format!("{address}: not the primary"));
                        candidates.extend(hello.primary.iter().cloned());
                        candidates.extend(hello.hosts.iter().cloned());
                    }
                    Verdict::Rejected(reason) => {
                        notes.push(format!("{address}: {reason}"));
                        candidates.extend(hello.hosts.iter().cloned());
                    }
                }
            }
            if let Some(best) = best {
                return Ok(best);
            }
        }
        Err(notes)
    }

    /// The last known members, then the seeds (only the seed when direct).
    fn first_candidates(&self) -> Vec<ServerAddress> {
        let mut candidates = Vec::new();
        if !self.direct
            && let Ok(state) = self.state.lock()
        {
            candidates.extend(state.members.iter().cloned());
        }
        for seed in &self.seeds {
            if !candidates.contains(seed) {
                candidates.push(seed.clone());
            }
        }
        candidates
    }

    /// `hello` on a fresh connection to each address, concurrently.
    async fn check_all(&self, batch: Vec<ServerAddress>) -> Vec<(ServerAddress, Result<Hello>)> {
        let mut checks = JoinSet::new();
        for address in batch {
            let settings = Arc::clone(&self.settings);
            checks.spawn(async move {
                let hello = Connection::probe(&address, &settings).await;
                (address, hello)
            });
        }
        let mut results = Vec::new();
        while let Some(joined) = checks.join_next().await {
            if let Ok(result) = joined {
                results.push(result);
            }
        }
        results
    }

    fn judge(&self, address: &ServerAddress, hello: &Hello) -> Verdict {
        if let Some(expected) = &self.replica_set
            && hello.set_name.as_ref() != Some(expected)
        {
            let actual = hello.set_name.as_deref().unwrap_or("none");
            return Verdict::Rejected(format!("replica set name is '{actual}', not '{expected}'"));
        }
        if self.direct {
            return Verdict::Selectable;
        }
        match (&hello.set_name, hello.writable_primary) {
            (Some(_), true) if hello.hosts.is_empty() || hello.hosts.contains(address) => {
                Verdict::Selectable
            }
            (Some(_), true) => Verdict::Rejected(
                "primary, but its hosts list does not contain this address".to_owned(),
            ),
            (Some(_), false) => Verdict::Member,
            (None, _) if hello.mongos => Verdict::Selectable,
            (None, true) if self.seeds.len() == 1 => Verdict::Selectable,
            (None, true) => {
                Verdict::Rejected("a standalone server in a seed list of several hosts".to_owned())
            }
            (None, false) => Verdict::Rejected("not a replica set member yet".to_owned()),
        }
    }

    fn install(&self, address: ServerAddress, hello: &Hello) -> Selected {
        let new_pool = || {
            let settings = Arc::clone(&self.settings);
            Arc::new(Pool::new(address.clone(), settings, self.max_pool_size))
        };
        let Ok(mut state) = self.state.lock() else {
            // A poisoned lock: the selection works for this one operation.
            return Selected {
                pool: new_pool(),
                address,
            };
        };
        let pool = state
            .pools
            .entry(address.clone())
            .or_insert_with(new_pool)
            .clone();
        if hello.set_name.is_some() {
            state.members = hello.hosts.clone();
        }
        let selected = Selected { address, pool };
        state.selected = Some(selected.clone());
        selected
    }

    fn selection_error(&self, notes: &[String]) -> Error {
        let wanted = match (&self.replica_set, self.direct) {
            (_, true) => "server".to_owned(),
            (Some(name), false) => format!("primary of replica set '{name}'"),
            (None, false) => "primary".to_owned(),
        };
        let seeds: Vec<String> = self.seeds.iter().map(ToString::to_string).collect();
        let heard = if notes.is_empty() {
            "no server answered in time".to_owned()
        } else {
            notes.join("; ")
        };
        Error::new(ErrorKind::ServerSelection {
            message: format!(
                "found no {wanted} among [{}] within {} ms: {heard}",
                seeds.join(", "),
                self.selection_timeout.as_millis()
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use bson::doc;

    use super::*;

    fn topology(uri: &str) -> Topology {
        let options = ClientOptions::parse(uri).unwrap_or_else(|e| panic!("{uri}: {e}"));
        let settings = Settings {
            connect_timeout: None,
            socket_timeout: None,
            tls: None,
            hello: doc! {},
            credential: None,
            compressors: Vec::new(),
        };
        Topology::new(&options, Arc::new(settings))
    }

    fn check(uri: &str, address: &str, reply: bson::Document, expected: Verdict) {
        let address = ServerAddress::parse(address).unwrap_or_else(|e| panic!("{e}"));
        let mut reply = reply;
        reply.insert("maxWireVersion", 21);
        let hello = Hello::parse(&address, &reply).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            topology(uri).judge(&address, &hello),
            expected,
            "{uri} {reply}"
        );
    }

    fn rejected(reason: &str) -> Verdict {
        Verdict::Rejected(reason.to_owned())
    }

    #[test]
    fn judge_follows_the_sdam_rules_for_each_kind_of_server() {
        let primary = doc! {"isWritablePrimary": true, "setName": "rs0", "hosts": ["a:1", "b:1"]};
        let secondary = doc! {"isWritablePrimary": false, "secondary": true, "setName": "rs0", "hosts": ["a:1", "b:1"], "primary": "a:1"};
        let standalone = doc! {"isWritablePrimary": true};
        let mongos = doc! {"isWritablePrimary": true, "msg": "isdbgrid"};
        check("mongodb://a:1", "a:1", primary.clone(), Verdict::Selectable);
        check(
            "mongodb://a:1/?replicaSet=rs0",
            "a:1",
            primary.clone(),
            Verdict::Selectable,
        );
        check(
            "mongodb://a:1/?replicaSet=rs1",
            "a:1",
            primary.clone(),
            rejected("replica set name is 'rs0', not 'rs1'"),
        );
        check(
            "mongodb://alias:1",
            "alias:1",
            primary,
            rejected("primary, but its hosts list does not contain this address"),
        );
        check("mongodb://b:1", "b:1", secondary.clone(), Verdict::Member);
        check(
            "mongodb://b:1/?directConnection=true",
            "b:1",
            secondary.clone(),
            Verdict::Selectable,
        );
        check(
            "mongodb://b:1/?directConnection=true&replicaSet=x",
            "b:1",
            secondary,
            rejected("replica set name is 'rs0', not 'x'"),
        );
        check(
            "mongodb://s:1",
            "s:1",
            standalone.clone(),
            Verdict::Selectable,
        );
        check(
            "mongodb://s:1,t:1",
            "s:1",
            standalone.clone(),
            rejected("a standalone server in a seed list of several hosts"),
        );
        check(
            "mongodb://s:1/?replicaSet=rs0",
            "s:1",
            standalone,
            rejected("replica set name is 'none', not 'rs0'"),
        );
        check("mongodb://m:1,n:1", "m:1", mongos, Verdict::Selectable);
        check(
            "mongodb://g:1",
            "g:1",
            doc! {"isWritablePrimary": false},
            rejected("not a replica set member yet"),
        );
    }
}
