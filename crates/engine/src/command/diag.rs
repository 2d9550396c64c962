//! Handshake and diagnostic commands: `ping`, `buildInfo`, `hello`.

use bson::doc;

use super::{CommandResult, Request};
use crate::Engine;

pub(super) fn ping() -> CommandResult {
    Ok(doc! {})
}

pub(super) fn build_info() -> CommandResult {
    Ok(doc! {
        "version": "8.0.0",
        "versionArray": [8, 0, 0, 0],
        "gitVersion": "rotor",
        "bits": 64,
        "maxBsonObjectSize": 16 * 1024 * 1024,
        "storageEngines": ["rotor"],
    })
}

pub(super) fn hello(engine: &Engine, request: &Request<'_>) -> CommandResult {
    let topology = &engine.options().topology;
    Ok(doc! {
        "isWritablePrimary": true,
        "setName": topology.set_name.clone(),
        "hosts": [topology.advertise.clone()],
        "primary": topology.advertise.clone(),
        "me": topology.advertise.clone(),
        "connectionId": request.connection.id as i64,
    })
}
