//! Errors as the client reports them: network errors retried and their
//! sessions discarded, commit errors labelled as the transactions spec
//! says, and the error's source chain.

mod common;

use bson::doc;
use common::{named, recorded};
use rotor::{SessionOptions, TRANSIENT_TRANSACTION_ERROR, UNKNOWN_TRANSACTION_COMMIT_RESULT};

fn fail(command: &str, data: bson::Document) -> bson::Document {
    let mut data = data;
    data.insert("failCommands", vec![command]);
    doc! {"configureFailPoint": "failCommand", "mode": {"times": 1}, "data": data}
}

#[tokio::test]
async fn a_network_error_is_retried_and_its_server_session_discarded() {
    let (client, sent) = recorded();
    client
        .configure_fail_point(fail("insert", doc! {"closeConnection": true}))
        .await
        .unwrap();
    let mut session = client.start_session(SessionOptions::default()).unwrap();
    let id = session.session_id().clone();
    let coll = client.database("t").collection::<bson::Document>("c");
    coll.insert_one(doc! {"_id": 1})
        .session(&mut session)
        .await
        .unwrap();
    assert_eq!(named(&sent, "insert").len(), 2, "retried once");
    session.end_session().await;
    let next = client.start_session(SessionOptions::default()).unwrap();
    assert_ne!(
        next.session_id(),
        &id,
        "a session that saw a network error is not reused"
    );
}

#[tokio::test]
async fn a_network_error_in_a_transaction_is_transient() {
    let (client, _) = recorded();
    client
        .configure_fail_point(fail("find", doc! {"closeConnection": true}))
        .await
        .unwrap();
    let mut session = client.start_session(SessionOptions::default()).unwrap();
    session.start_transaction(Default::default()).unwrap();
    let coll = client.database("t").collection::<bson::Document>("c");
    let error = coll
        .find_one(doc! {})
        .session(&mut session)
        .await
        .unwrap_err();
    assert!(error.has_label(TRANSIENT_TRANSACTION_ERROR), "{error}");
}

#[tokio::test]
async fn commit_errors_get_unknown_commit_result_where_the_outcome_is_unknown() {
    let check = async |data: bson::Document, unknown: bool| {
        let (client, _) = recorded();
        let mut session = client.start_session(SessionOptions::default()).unwrap();
        session.start_transaction(Default::default()).unwrap();
        let coll = client.database("t").collection::<bson::Document>("c");
        coll.insert_one(doc! {})
            .session(&mut session)
            .await
            .unwrap();
        client
            .configure_fail_point(fail("commitTransaction", data.clone()))
            .await
            .unwrap();
        let error = session.commit_transaction().await.unwrap_err();
        assert_eq!(
            error.has_label(UNKNOWN_TRANSACTION_COMMIT_RESULT),
            unknown,
            "{data}: {error}"
        );
    };
    let concern =
        |code: i32| doc! {"writeConcernError": {"code": code, "codeName": "X", "errmsg": "wc"}};
    check(concern(64), true).await;
    check(concern(100), false).await;
    check(doc! {"errorCode": 50}, true).await;
    check(doc! {"errorCode": 112}, false).await;
}

#[tokio::test]
async fn command_errors_carry_mongods_code_name_and_message() {
    use std::error::Error as _;
    let last = rotor::Client::in_memory()
        .unwrap()
        .database("t")
        .run_command(doc! {"nosuchcommand": 1})
        .await
        .unwrap_err();
    assert_eq!(last.code_name(), Some("CommandNotFound"));
    assert!(last.source().is_none());
    assert!(last.to_string().contains("CommandNotFound"), "{last}");
}
