//! The Redis inbox on one real Redis: the store contract through two connections (two
//! receivers, two workers), and Redis killed and restarted with `appendfsync always` under
//! a running appender, losing nothing it acknowledged.
//!
//! Each test starts its own `redis-server` (Debian package `redis-server`) on a free loopback
//! port and kills it afterwards. Without the binary the tests print a skip notice and pass;
//! `.ci/run` installs it.
#![cfg(all(feature = "inbox", feature = "redis"))]

mod redis_inbox;
mod support;

use std::{
    collections::HashSet,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use redis_inbox::{delivery, pair};
use support::redis_server::{redis_cli, Redis};
use tower_webhook::inbox::{Appended, InboxStore, RedisInbox};

/// Two stores, as two processes would have, on one inbox named for the test.
async fn stores(redis: &Redis, name: &str) -> (RedisInbox, RedisInbox) {
    let a = RedisInbox::connect(&redis.url()).await.unwrap();
    let b = RedisInbox::connect(&redis.url()).await.unwrap();
    pair(&a, &b, name)
}

macro_rules! contract {
    ($($test:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $test() {
            let Some(redis) = Redis::start(stringify!($test)) else {
                return;
            };
            let (a, b) = stores(&redis, stringify!($test)).await;
            redis_inbox::$test(a, b).await;
        }
    )*};
}

contract!(
    a_copy_under_any_id_is_a_duplicate,
    concurrent_copies_store_one_delivery,
    claims_split_the_work_and_complete_finishes_it,
    a_stalled_claim_is_taken_by_another_consumer,
    a_retry_waits_for_its_delay,
    dead_letters_are_listed_and_requeued,
    a_released_claim_is_claimable_at_once,
    stats_count_and_age_what_waits,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_appendfsync_always_nothing_acknowledged_is_lost_when_redis_is_killed() {
    let Some(mut redis) = Redis::start_durable(
        "with_appendfsync_always_nothing_acknowledged_is_lost_when_redis_is_killed",
    ) else {
        return;
    };
    let store = RedisInbox::connect(&redis.url())
        .await
        .unwrap()
        .name("durable");

    // Before the crash: 20 deliveries; 3 done, 2 dead, 5 in a worker's hands.
    let mut acknowledged: Vec<String> = Vec::new();
    for i in 0..20 {
        let sent = delivery(&[&format!("before{i:04}")], "before the crash");
        assert_eq!(store.append(&sent).await.unwrap(), Appended::New);
        acknowledged.push(sent.id().to_owned());
    }
    let claimed = store
        .claim("worker-a", 10, Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(claimed.len(), 10);
    let mut done = HashSet::new();
    let mut dead = HashSet::new();
    for claim in &claimed[..3] {
        store.complete(claim).await.unwrap();
        done.insert(claim.delivery().id().to_owned());
    }
    for claim in &claimed[3..5] {
        store.dead_letter(claim, "poison").await.unwrap();
        dead.insert(claim.delivery().id().to_owned());
    }

    // An appender keeps appending while Redis is killed (SIGKILL) and started again; it
    // keeps the ids Redis acknowledged.
    let stop = Arc::new(AtomicBool::new(false));
    let during = Arc::new(Mutex::new(Vec::<String>::new()));
    let appender = tokio::spawn({
        let (store, stop, during) = (store.clone(), Arc::clone(&stop), Arc::clone(&during));
        async move {
            let mut failures = 0_usize;
            for i in 0_u32.. {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let sent = delivery(&[&format!("during{i:06}")], "around the crash");
                match store.append(&sent).await {
                    // Either is answered 2xx; a duplicate of an id sent once would mean the
                    // client resent an append Redis had applied before it crashed.
                    Ok(_) => during.lock().unwrap().push(sent.id().to_owned()),
                    Err(_) => {
                        failures += 1;
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            }
            failures
        }
    });
    let acknowledged_count = || during.lock().unwrap().len();
    let deadline = Instant::now() + Duration::from_secs(20);
    while acknowledged_count() < 50 {
        assert!(Instant::now() < deadline, "the appender made no progress");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    redis.crash();
    // Down: an append fails (the inbox layer answers 503 and the sender retries).
    assert!(store
        .append(&delivery(&["while-down"], "refused"))
        .await
        .is_err());
    let before_restart = acknowledged_count();
    redis.spawn();
    let deadline = Instant::now() + Duration::from_secs(20);
    while acknowledged_count() < before_restart + 20 {
        assert!(
            Instant::now() < deadline,
            "appends did not resume after the restart"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.store(true, Ordering::SeqCst);
    let failures = appender.await.unwrap();
    assert!(failures > 0, "the appender never saw Redis down");
    acknowledged.extend(during.lock().unwrap().iter().cloned());

    // Everything acknowledged and not finished is there: the five in flight come back after
    // their visibility timeout, and none is claimed twice.
    let expected: HashSet<String> = acknowledged
        .iter()
        .filter(|id| !done.contains(*id) && !dead.contains(*id))
        .cloned()
        .collect();
    let stats = store.stats().await.unwrap();
    assert!(stats.pending >= expected.len() as u64, "{stats:?}");
    assert_eq!(stats.dead, 2);
    let mut processed = HashSet::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !expected.is_subset(&processed) {
        assert!(
            Instant::now() < deadline,
            "lost: {:?}",
            expected.difference(&processed).collect::<Vec<_>>()
        );
        let claimed = store
            .claim("worker-b", 100, Duration::from_secs(1))
            .await
            .unwrap();
        if claimed.is_empty() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        for claim in claimed {
            assert!(
                processed.insert(claim.delivery().id().to_owned()),
                "{} claimed twice",
                claim.delivery().id()
            );
            store.complete(&claim).await.unwrap();
        }
    }
    // Only an append whose reply was lost to the crash may be there unacknowledged.
    assert!(processed.len() <= expected.len() + 1, "{}", processed.len());
    let dead_letters: HashSet<String> = store
        .dead_letters(10)
        .await
        .unwrap()
        .iter()
        .map(|letter| letter.delivery().id().to_owned())
        .collect();
    assert_eq!(dead_letters, dead);
    // Ids survive too: the done ones are still duplicates.
    for id in &done {
        assert_eq!(
            store.append(&delivery(&[id], "again")).await.unwrap(),
            Appended::Duplicate
        );
    }
}

/// A delivery's ids never expire while it waits (pending, retried or dead, however long),
/// and expire `id_ttl` after it is completed: what a captured copy under a new first id
/// finds, and what Redis's memory holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_expire_only_once_their_delivery_is_completed() {
    let Some(redis) = Redis::start("ids_expire_only_once_their_delivery_is_completed") else {
        return;
    };
    let (a, _) = stores(&redis, "ttl").await;
    let a = a.id_ttl(Duration::from_secs(3600));
    let ttls = || {
        let keys = redis_cli(redis.port, &["--scan", "--pattern", "{ttl}:id:*"]);
        let keys: Vec<String> = keys
            .lines()
            .filter(|k| !k.is_empty())
            .map(Into::into)
            .collect();
        assert_eq!(keys.len(), 2, "{keys:?}");
        keys.iter()
            .map(|key| {
                redis_cli(redis.port, &["PTTL", key])
                    .trim()
                    .parse::<i64>()
                    .unwrap()
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        a.append(&delivery(&["first", "second"], "{}"))
            .await
            .unwrap(),
        Appended::New
    );
    assert_eq!(ttls(), [-1, -1], "kept while pending");
    let claimed = a.claim("w", 1, Duration::from_secs(60)).await.unwrap();
    a.retry(&claimed[0], Duration::ZERO, "later").await.unwrap();
    assert_eq!(ttls(), [-1, -1], "kept while retried");
    let claimed = a.claim("w", 1, Duration::from_secs(60)).await.unwrap();
    a.complete(&claimed[0]).await.unwrap();
    assert!(
        ttls()
            .iter()
            .all(|ttl| (3_000_000..=3_600_000).contains(ttl)),
        "an hour from completion"
    );
}
