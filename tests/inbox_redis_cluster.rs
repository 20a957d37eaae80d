//! The Redis inbox on a real Redis Cluster: three masters on loopback, started here with
//! `redis-server --cluster-enabled yes` and joined with `redis-cli --cluster create`; the
//! store contract through two cluster connections, on inboxes spread over the masters, each
//! inbox's keys in one slot. Without `redis-server` and `redis-cli` the test prints a skip
//! notice and passes; `.ci/run` installs them.
#![cfg(all(feature = "inbox", feature = "redis"))]

mod redis_inbox;
mod support;

use std::collections::{HashMap, HashSet};

use redis_inbox::pair;
use support::redis_server::{redis_cli, Cluster};
use tower_webhook::inbox::RedisInbox;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_contract_holds_on_a_redis_cluster_with_each_inbox_in_one_slot() {
    let Some(cluster) =
        Cluster::start("the_store_contract_holds_on_a_redis_cluster_with_each_inbox_in_one_slot")
    else {
        return;
    };
    let a = RedisInbox::connect_cluster(cluster.urls()).await.unwrap();
    let b = RedisInbox::connect_cluster(cluster.urls()).await.unwrap();
    let (dup_a, dup_b) = pair(&a, &b, "duplicates");
    let (con_a, con_b) = pair(&a, &b, "concurrent");
    let (split_a, split_b) = pair(&a, &b, "split");
    let (stall_a, stall_b) = pair(&a, &b, "stalled");
    let (retry_a, retry_b) = pair(&a, &b, "retry");
    let (dead_a, dead_b) = pair(&a, &b, "dead");
    let (release_a, release_b) = pair(&a, &b, "release");
    let (stats_a, stats_b) = pair(&a, &b, "stats");
    // Independent inboxes: all at once.
    tokio::join!(
        redis_inbox::a_copy_under_any_id_is_a_duplicate(dup_a, dup_b),
        redis_inbox::concurrent_copies_store_one_delivery(con_a, con_b),
        redis_inbox::claims_split_the_work_and_complete_finishes_it(split_a, split_b),
        redis_inbox::a_stalled_claim_is_taken_by_another_consumer(stall_a, stall_b),
        redis_inbox::a_retry_waits_for_its_delay(retry_a, retry_b),
        redis_inbox::dead_letters_are_listed_and_requeued(dead_a, dead_b),
        redis_inbox::a_released_claim_is_claimable_at_once(release_a, release_b),
        redis_inbox::stats_count_and_age_what_waits(stats_a, stats_b),
    );

    // Each inbox lives on one master (its keys share the hash tag), and the inboxes are
    // spread over more than one: the cluster really routed them.
    let mut masters_of: HashMap<String, HashSet<u16>> = HashMap::new();
    for port in &cluster.ports {
        for key in redis_cli(*port, &["--scan"]).lines() {
            let tag = key
                .strip_prefix('{')
                .and_then(|rest| rest.split_once('}'))
                .map(|(tag, _)| tag.to_owned())
                .unwrap_or_else(|| panic!("{key} has no hash tag"));
            masters_of.entry(tag).or_default().insert(*port);
        }
    }
    assert_eq!(masters_of.len(), 8, "{masters_of:?}");
    for (inbox, masters) in &masters_of {
        assert_eq!(masters.len(), 1, "{inbox} is split over {masters:?}");
    }
    let used: HashSet<u16> = masters_of.values().flatten().copied().collect();
    assert!(used.len() > 1, "every inbox landed on one master: {used:?}");
}
