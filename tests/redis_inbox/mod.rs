//! For the Redis inbox tests (`tests/inbox_redis.rs`, `tests/inbox_redis_cluster.rs`): the
//! [`InboxStore`] contract, checked through two connections (two receivers, two workers) to
//! one inbox. The servers are `support::redis_server`'s.
#![allow(dead_code)]

use std::{
    collections::HashSet,
    time::{Duration, Instant},
};

use bytes::Bytes;
use tower_webhook::inbox::{Appended, Claimed, Delivery, InboxStats, InboxStore, RedisInbox};

/// A delivery named by `ids`, with `body`.
pub fn delivery(ids: &[&str], body: &'static str) -> Delivery {
    Delivery::new("stripe", Bytes::from_static(body.as_bytes())).with_ids(ids.iter().copied())
}

const LONG: Duration = Duration::from_secs(30);

fn stats(pending: u64, dead: u64) -> (u64, u64) {
    (pending, dead)
}

async fn counts(store: &RedisInbox) -> (u64, u64) {
    let InboxStats { pending, dead, .. } = store.stats().await.unwrap();
    (pending, dead)
}

/// Claims by `consumer` until one arrives or 10 s pass.
async fn claim_one(store: &RedisInbox, consumer: &str, visibility: Duration) -> Claimed {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut claimed = store.claim(consumer, 1, visibility).await.unwrap();
        if let Some(claim) = claimed.pop() {
            return claim;
        }
        assert!(Instant::now() < deadline, "nothing became claimable");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Two stores (two connections) on one inbox named `name`.
pub fn pair(a: &RedisInbox, b: &RedisInbox, name: &str) -> (RedisInbox, RedisInbox) {
    (a.clone().name(name), b.clone().name(name))
}

/// A copy under any of a delivery's ids is a duplicate, while pending and after it is done.
pub async fn a_copy_under_any_id_is_a_duplicate(a: RedisInbox, b: RedisInbox) {
    let first = delivery(&["aa01", "bb02"], r#"{"id":"evt_dup"}"#);
    assert_eq!(a.append(&first).await.unwrap(), Appended::New);
    assert_eq!(b.append(&first).await.unwrap(), Appended::Duplicate);
    let by_second_id = delivery(&["cc03", "bb02"], r#"{"id":"evt_dup"}"#);
    assert_eq!(b.append(&by_second_id).await.unwrap(), Appended::Duplicate);
    let by_first_id_alone = delivery(&["aa01"], r#"{"id":"evt_dup"}"#);
    assert_eq!(
        a.append(&by_first_id_alone).await.unwrap(),
        Appended::Duplicate
    );
    // The refused copy did not claim its own new id: alone, it is new.
    assert_eq!(
        a.append(&delivery(&["cc03"], "other")).await.unwrap(),
        Appended::New
    );
    // Deliveries the scheme names by nothing get random ids: each is new.
    let unnamed = Delivery::new("github", Bytes::from_static(b"{}"));
    assert_eq!(a.append(&unnamed).await.unwrap(), Appended::New);
    assert_eq!(
        a.append(&Delivery::new("github", Bytes::from_static(b"{}")))
            .await
            .unwrap(),
        Appended::New
    );
    assert_eq!(b.append(&unnamed).await.unwrap(), Appended::Duplicate);
    assert_eq!(counts(&a).await, (4, 0));

    let claimed = a.claim("worker-a", 10, LONG).await.unwrap();
    assert_eq!(claimed.len(), 4);
    for claim in &claimed {
        b.complete(claim).await.unwrap();
    }
    assert_eq!(counts(&b).await, (0, 0));
    // Done, and its ids still known.
    assert_eq!(b.append(&first).await.unwrap(), Appended::Duplicate);
    assert_eq!(
        a.append(&delivery(&["bb02"], "again")).await.unwrap(),
        Appended::Duplicate
    );
    assert_eq!(b.append(&unnamed).await.unwrap(), Appended::Duplicate);
    assert!(a.claim("worker-a", 10, LONG).await.unwrap().is_empty());
}

/// 48 concurrent copies of one delivery through two connections: one is new.
pub async fn concurrent_copies_store_one_delivery(a: RedisInbox, b: RedisInbox) {
    let mut tasks = Vec::new();
    for i in 0..48 {
        let store = if i % 2 == 0 { a.clone() } else { b.clone() };
        // Some copies are named by the second id only, as a sender's re-signed retry can be.
        let copy = if i % 3 == 0 {
            delivery(&["ee05"], r#"{"id":"evt_concurrent"}"#)
        } else {
            delivery(&["dd04", "ee05"], r#"{"id":"evt_concurrent"}"#)
        };
        tasks.push(tokio::spawn(
            async move { store.append(&copy).await.unwrap() },
        ));
    }
    let mut new = 0;
    for task in tasks {
        if task.await.unwrap() == Appended::New {
            new += 1;
        }
    }
    assert_eq!(new, 1);
    assert_eq!(counts(&a).await, (1, 0));
    let claimed = b.claim("worker-b", 100, LONG).await.unwrap();
    assert_eq!(claimed.len(), 1);
    a.complete(&claimed[0]).await.unwrap();
    assert_eq!(counts(&a).await, (0, 0));
}

/// Claims split the waiting deliveries between workers, in order, each exactly as it was
/// appended; completed ones are gone.
pub async fn claims_split_the_work_and_complete_finishes_it(a: RedisInbox, b: RedisInbox) {
    let sent = [
        delivery(&["0001"], "first"),
        delivery(&["0002"], "second"),
        delivery(&["0003"], "third"),
    ];
    for delivery in &sent {
        assert_eq!(a.append(delivery).await.unwrap(), Appended::New);
    }
    let first_two = a.claim("worker-a", 2, LONG).await.unwrap();
    assert_eq!(first_two.len(), 2);
    let last = b.claim("worker-b", 10, LONG).await.unwrap();
    assert_eq!(last.len(), 1);
    let claimed: Vec<&Claimed> = first_two.iter().chain(&last).collect();
    for (claim, sent) in claimed.iter().zip(&sent) {
        assert_eq!(claim.delivery(), sent);
        assert_eq!(claim.attempt(), 1);
    }
    let tokens: HashSet<&str> = claimed.iter().map(|claim| claim.token()).collect();
    assert_eq!(tokens.len(), 3);
    // Everything is held.
    assert!(a.claim("worker-a", 10, LONG).await.unwrap().is_empty());
    assert!(b.claim("worker-b", 10, LONG).await.unwrap().is_empty());
    assert_eq!(counts(&a).await, (3, 0));
    for claim in claimed {
        b.complete(claim).await.unwrap();
    }
    assert_eq!(counts(&a).await, (0, 0));
    assert!(a.claim("worker-a", 10, LONG).await.unwrap().is_empty());
    // Asking for nothing claims nothing.
    a.append(&delivery(&["0004"], "fourth")).await.unwrap();
    assert!(a.claim("worker-a", 0, LONG).await.unwrap().is_empty());
    let fourth = claim_one(&b, "worker-b", LONG).await;
    b.complete(&fourth).await.unwrap();
}

/// A claim not finished within its visibility timeout is taken by another consumer, as the
/// next attempt; the first worker can no longer retry, release or dead-letter it.
pub async fn a_stalled_claim_is_taken_by_another_consumer(a: RedisInbox, b: RedisInbox) {
    let visibility = Duration::from_secs(1);
    let sent = delivery(&["5a11ed"], "stalled");
    a.append(&sent).await.unwrap();
    let stalled = claim_one(&a, "worker-a", visibility).await;
    assert_eq!(stalled.attempt(), 1);
    assert!(b
        .claim("worker-b", 10, visibility)
        .await
        .unwrap()
        .is_empty());

    tokio::time::sleep(visibility + Duration::from_millis(200)).await;
    let taken = b.claim("worker-b", 10, visibility).await.unwrap();
    assert_eq!(taken.len(), 1);
    let taken = &taken[0];
    assert_eq!(taken.delivery(), &sent);
    assert_eq!(taken.attempt(), 2);
    assert_ne!(taken.token(), stalled.token());

    // The first worker wakes up late: none of these undo the second worker's claim.
    a.retry(&stalled, Duration::ZERO, "late").await.unwrap();
    a.release(&stalled).await.unwrap();
    a.dead_letter(&stalled, "late").await.unwrap();
    assert!(a.claim("worker-a", 10, LONG).await.unwrap().is_empty());
    assert_eq!(counts(&a).await, (1, 0));
    b.complete(taken).await.unwrap();
    assert_eq!(counts(&a).await, (0, 0));

    // The other way round: the first worker finishes before the second does. The work is
    // done; the second worker's late retry does not bring it back.
    a.append(&delivery(&["5a11ed02"], "stalled again"))
        .await
        .unwrap();
    let stalled = claim_one(&a, "worker-a", visibility).await;
    tokio::time::sleep(visibility + Duration::from_millis(200)).await;
    let taken = claim_one(&b, "worker-b", visibility).await;
    assert_eq!(taken.attempt(), 2);
    a.complete(&stalled).await.unwrap();
    b.retry(&taken, Duration::ZERO, "late").await.unwrap();
    b.complete(&taken).await.unwrap();
    assert_eq!(counts(&a).await, (0, 0));
    tokio::time::sleep(visibility + Duration::from_millis(200)).await;
    assert!(b
        .claim("worker-b", 10, visibility)
        .await
        .unwrap()
        .is_empty());
}

/// A retry is claimable only once its delay has passed, with the attempt count kept; a
/// zero delay is claimable at once.
pub async fn a_retry_waits_for_its_delay(a: RedisInbox, b: RedisInbox) {
    let sent = delivery(&["de1a7"], "retry me");
    a.append(&sent).await.unwrap();
    let first = claim_one(&a, "worker-a", LONG).await;
    let delay = Duration::from_millis(800);
    let retried = Instant::now();
    a.retry(&first, delay, "handler answered 500")
        .await
        .unwrap();
    assert!(b.claim("worker-b", 10, LONG).await.unwrap().is_empty());
    assert_eq!(counts(&a).await, (1, 0));

    let second = claim_one(&b, "worker-b", LONG).await;
    // Redis's clock counts whole milliseconds.
    assert!(
        retried.elapsed() >= delay - Duration::from_millis(2),
        "claimed again after {:?}",
        retried.elapsed()
    );
    assert_eq!(second.delivery(), &sent);
    assert_eq!(second.attempt(), 2);

    b.retry(&second, Duration::ZERO, "again").await.unwrap();
    let third = claim_one(&a, "worker-a", LONG).await;
    assert_eq!(third.attempt(), 3);
    a.complete(&third).await.unwrap();
    assert_eq!(counts(&a).await, (0, 0));
}

/// Dead letters are listed oldest first with their attempts and last error, stay
/// duplicates, and come back re-queued with their attempts reset.
pub async fn dead_letters_are_listed_and_requeued(a: RedisInbox, b: RedisInbox) {
    let started_ms = unix_ms();
    let poison = delivery(&["9015011"], "poison");
    let other = delivery(&["9015012"], "poison too");
    a.append(&poison).await.unwrap();
    a.append(&other).await.unwrap();

    let first = claim_one(&a, "worker-a", LONG).await;
    assert_eq!(first.delivery(), &poison);
    a.retry(&first, Duration::ZERO, "first failure")
        .await
        .unwrap();
    let other_claim = claim_one(&a, "worker-a", LONG).await;
    assert_eq!(other_claim.delivery(), &other);
    let second = claim_one(&b, "worker-b", LONG).await;
    assert_eq!((second.delivery(), second.attempt()), (&poison, 2));
    b.dead_letter(&second, "handler answered 500 twice")
        .await
        .unwrap();
    a.dead_letter(&other_claim, "handler answered 422")
        .await
        .unwrap();
    assert_eq!(counts(&a).await, (0, 2));
    assert!(a.claim("worker-a", 10, LONG).await.unwrap().is_empty());

    let dead = b.dead_letters(10).await.unwrap();
    assert_eq!(dead.len(), 2);
    assert_eq!(dead[0].delivery(), &poison);
    assert_eq!(dead[0].attempts(), 2);
    assert_eq!(dead[0].last_error(), "handler answered 500 twice");
    assert_eq!(dead[1].delivery(), &other);
    assert_eq!(dead[1].attempts(), 1);
    assert_eq!(dead[1].last_error(), "handler answered 422");
    assert!(dead[0].dead_at_ms() <= dead[1].dead_at_ms());
    // Redis's clock and ours are the same machine's here.
    assert!(dead[0].dead_at_ms() + 1000 >= started_ms);
    assert_eq!(b.dead_letters(1).await.unwrap().len(), 1);
    assert!(b.dead_letters(0).await.unwrap().is_empty());

    // Still a duplicate while dead.
    assert_eq!(a.append(&poison).await.unwrap(), Appended::Duplicate);

    assert!(!a.requeue("no-such-delivery").await.unwrap());
    assert!(a.requeue(poison.id()).await.unwrap());
    assert!(!b.requeue(poison.id()).await.unwrap());
    assert_eq!(counts(&a).await, (1, 1));
    let dead = a.dead_letters(10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].delivery(), &other);

    let again = claim_one(&b, "worker-b", LONG).await;
    assert_eq!((again.delivery(), again.attempt()), (&poison, 1));
    b.complete(&again).await.unwrap();
    assert_eq!(counts(&a).await, (0, 1));
    // A done delivery is not requeued.
    assert!(!a.requeue(poison.id()).await.unwrap());
    assert_eq!(counts(&a).await, (0, 1));
}

/// A released claim is claimable again at once by anyone, its attempt not counted.
pub async fn a_released_claim_is_claimable_at_once(a: RedisInbox, b: RedisInbox) {
    let sent = delivery(&["7e1ea5e"], "released");
    a.append(&sent).await.unwrap();
    let held = claim_one(&a, "worker-a", LONG).await;
    assert_eq!(held.attempt(), 1);
    a.release(&held).await.unwrap();
    let again = b.claim("worker-b", 10, LONG).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].delivery(), again[0].attempt()), (&sent, 1));
    // Released twice: the second is stale and does not free the new claim.
    a.release(&held).await.unwrap();
    assert!(a.claim("worker-a", 10, LONG).await.unwrap().is_empty());
    b.complete(&again[0]).await.unwrap();
    assert_eq!(counts(&a).await, (0, 0));
}

/// Stats count what is waiting or held, and dead letters, and age the oldest.
pub async fn stats_count_and_age_what_waits(a: RedisInbox, b: RedisInbox) {
    assert_eq!(a.stats().await.unwrap(), InboxStats::default());
    for (ids, body) in [
        (["57a701"], "one"),
        (["57a702"], "two"),
        (["57a703"], "three"),
    ] {
        a.append(&delivery(&ids, body)).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let stats = b.stats().await.unwrap();
    assert_eq!((stats.pending, stats.dead), (3, 0));
    assert!(
        (300..60_000).contains(&stats.oldest_pending_age_ms),
        "{stats:?}"
    );

    let held = claim_one(&b, "worker-b", LONG).await;
    // Held is still pending.
    assert_eq!(counts(&a).await, (3, 0));
    b.dead_letter(&held, "gave up").await.unwrap();
    assert_eq!(counts(&a).await, (2, 1));
    let next = claim_one(&b, "worker-b", LONG).await;
    b.complete(&next).await.unwrap();
    assert_eq!(counts(&a).await, (1, 1));
    let last = claim_one(&a, "worker-a", LONG).await;
    a.complete(&last).await.unwrap();
    let stats = a.stats().await.unwrap();
    assert_eq!(
        (stats.pending, stats.oldest_pending_age_ms, stats.dead),
        (0, 0, 1)
    );
}

/// Now, in Unix milliseconds.
pub fn unix_ms() -> u64 {
    u64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}
