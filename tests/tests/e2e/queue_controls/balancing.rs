//! The gateway spreads its calls over every job-queue replica it is given
//! (`BRIGADE_JOB_QUEUE_URL` listing several, or a name resolving to several
//! addresses), rather than keeping one HTTP/2 connection to one of them.

use brigade_job_queue::domain::ServiceId;
use brigade_tests::{Backend, TestDatabase};
use serde_json::{Value, json};

use super::{Replica, nowhere};

#[tokio::test]
async fn rest_submits_spread_over_both_replicas() {
    let Some(db) = TestDatabase::new(Backend::Postgres).await else {
        return;
    };
    let (a, b) = (
        Replica::start(&db, nowhere()).await,
        Replica::start(&db, nowhere()).await,
    );
    // A by name (resolved by the gateway, as a headless Service's name would be), B by address.
    let a_by_name = a.url.replace("127.0.0.1", "localhost");
    let base = brigade_tests::gateway_on(format!("{a_by_name},{}", b.url), nowhere(), |_| {}).await;
    let http = reqwest::Client::new();
    let created: Value = http
        .post(format!("{base}/services"))
        .json(
            &json!({"name": "spread", "description": "balanced", "job_registration_schema": {},
                      "job_result_schema": {}}),
        )
        .send()
        .await
        .expect("create")
        .json()
        .await
        .expect("json");
    let id = created["data"]["id"].as_str().expect("service id").to_owned();
    const SUBMITS: usize = 40;
    for n in 0..SUBMITS {
        let r = http
            .post(format!("{base}/services/{id}/jobs"))
            .json(&json!({"parameters": {"n": n}}))
            .send()
            .await
            .expect("submit");
        assert_eq!(r.status(), 201, "submit {n}: {}", r.text().await.unwrap_or_default());
    }
    // A replica that served a submit read the service for it and holds it in its
    // own cache (for `brigade_job_queue::cache::TTL`): both did. With calls placed at
    // random over two replicas, forty all landing on one happens once in 2^39.
    let service_id = ServiceId::from_stored(id.clone());
    for (name, replica) in [("A", &a), ("B", &b)] {
        assert!(
            replica.queue.events().services().get(&service_id).is_some(),
            "replica {name} served none of {SUBMITS} submits"
        );
    }
    let listed: Value = http
        .get(format!("{base}/services/{id}/jobs"))
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    assert_eq!(
        listed["data"].as_array().map(Vec::len),
        Some(SUBMITS),
        "every job stored once"
    );
    a.stop().await;
    b.stop().await;
}
