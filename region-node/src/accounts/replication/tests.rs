//! Two regions on in-memory stores exchanging account logs by hand, the
//! way the mesh driver does over QUIC.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use protocol::ErrorCode;
use protocol::Hlc;
use protocol::auth::{LoginRequest, RegisterRequest};
use protocol::records::SettingKind;

use super::*;
use crate::accounts::{Accounts, Principal};
use crate::config::AuthConfig;
use crate::hlc::HlcClock;

const HOME: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn auth_config() -> AuthConfig {
    AuthConfig {
        access_token_ttl: Duration::from_secs(60),
        argon2_memory_kib: 64,
        argon2_iterations: 1,
        login_failures_per_username: 10,
        login_failures_per_address: 100,
        login_throttle_window: Duration::from_secs(60),
    }
}

async fn region(name: &str) -> (Database, Accounts) {
    let db = Database::in_memory().unwrap();
    let accounts = Accounts::open(
        db.clone(),
        &auth_config(),
        name,
        Arc::new(HlcClock::default()),
        None,
    )
    .await
    .unwrap();
    (db, accounts)
}

async fn register(accounts: &Accounts, username: &str) -> String {
    accounts
        .register(RegisterRequest {
            username: username.into(),
            password: "correct horse".into(),
            display_name: None,
        })
        .await
        .unwrap()
}

fn login_request(username: &str, password: &str) -> LoginRequest {
    LoginRequest {
        username: username.into(),
        password: password.into(),
        device_name: Some("phone".into()),
    }
}

/// Ships everything of `from`'s log that `to` lacks, in runs of `batch`.
async fn ship(from: &Database, from_region: &str, to: &Database, batch: usize) -> u64 {
    let id = log_id(from_region);
    loop {
        let cursor = replica_cursor(to, from_region).await.unwrap();
        let entries = read(from, &id, cursor, batch).await.unwrap();
        if entries.is_empty() {
            return cursor;
        }
        apply(to, &id, &entries).await.unwrap();
    }
}

async fn device_exists(db: &Database, user_id: &str, device_id: &str) -> bool {
    db.begin()
        .get(&records::device_key(user_id, device_id))
        .await
        .unwrap()
        .is_some()
}

#[tokio::test]
async fn an_account_made_in_one_region_works_in_another() {
    let (db_a, a) = region("a").await;
    let (db_b, b) = region("b").await;
    let alice = register(&a, "alice").await;
    let kept = a
        .login(login_request("alice", "correct horse"), HOME)
        .await
        .unwrap();
    let gone = a
        .login(login_request("alice", "correct horse"), HOME)
        .await
        .unwrap();
    a.revoke_device(&alice, &gone.device_id).await.unwrap();
    assert_eq!(homed(&db_a, "a").await.unwrap(), (log_id("a"), 4));

    assert_eq!(ship(&db_a, "a", &db_b, 3).await, 4);
    assert_eq!(replica_cursor(&db_b, "a").await.unwrap(), 4);
    assert_eq!(homed(&db_b, "b").await.unwrap(), (log_id("b"), 0));

    let user = b.user_by_username("alice").await.unwrap().unwrap();
    assert_eq!(user.user_id, alice);
    assert!(device_exists(&db_b, &alice, &kept.device_id).await);
    assert!(!device_exists(&db_b, &alice, &gone.device_id).await);
    let wrong = b
        .login(login_request("alice", "wrong horse"), HOME)
        .await
        .unwrap_err();
    assert_eq!(wrong.code(), ErrorCode::Unauthorized);
    let in_b = b
        .login(login_request("alice", "correct horse"), HOME)
        .await
        .unwrap();
    assert_eq!(in_b.user_id, alice);
    // The login in b is b's own account change.
    assert_eq!(homed(&db_b, "b").await.unwrap().1, 1);
    let err = b
        .register(RegisterRequest {
            username: "alice".into(),
            password: "another horse".into(),
            display_name: None,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Conflict);
}

#[tokio::test]
async fn a_device_revoked_in_another_region_is_revoked_at_home() {
    let (db_a, a) = region("a").await;
    let (db_b, b) = region("b").await;
    let alice = register(&a, "alice").await;
    let tokens = a
        .login(login_request("alice", "correct horse"), HOME)
        .await
        .unwrap();
    ship(&db_a, "a", &db_b, 10).await;
    b.revoke_device(&alice, &tokens.device_id).await.unwrap();
    ship(&db_b, "b", &db_a, 10).await;
    assert!(!device_exists(&db_a, &alice, &tokens.device_id).await);
    let err = a.authenticate(&tokens.access_token).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Unauthorized);
    let err = a.refresh(&tokens.refresh_token).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Unauthorized);
}

#[tokio::test]
async fn apply_is_idempotent_and_refuses_gaps() {
    let (db_a, a) = region("a").await;
    let (db_b, _b) = region("b").await;
    register(&a, "alice").await;
    register(&a, "bob").await;
    register(&a, "carol").await;
    let id = log_id("a");
    let all = read(&db_a, &id, 0, 100).await.unwrap();
    assert_eq!(all.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert_eq!(read(&db_a, &id, 1, 1).await.unwrap(), all[1..2].to_vec());
    assert!(read(&db_a, &id, 3, 100).await.unwrap().is_empty());

    let gap = apply(&db_b, &id, &all[1..]).await.unwrap_err();
    assert_eq!(gap.code(), ErrorCode::Conflict);
    assert_eq!(replica_cursor(&db_b, "a").await.unwrap(), 0);
    assert!(
        db_b.begin()
            .get(&records::username_key("bob"))
            .await
            .unwrap()
            .is_none()
    );

    assert_eq!(apply(&db_b, &id, &all[..2]).await.unwrap(), 2);
    assert_eq!(apply(&db_b, &id, &all[..2]).await.unwrap(), 2);
    assert_eq!(apply(&db_b, &id, &all).await.unwrap(), 3);
    assert_eq!(apply(&db_b, &id, &all).await.unwrap(), 3);
    assert_eq!(apply(&db_b, &id, &[]).await.unwrap(), 3);
    assert_eq!(read(&db_b, &id, 0, 100).await.unwrap(), all);

    let mut holey = all.clone();
    holey.remove(1);
    let err = apply(&db_b, &id, &holey).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::BadRequest);
    let err = apply(&db_b, &log_id("c"), &all).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::BadRequest);
    let err = apply(&db_b, "c_123", &all).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::BadRequest);
}

fn entry(region: &str, seq: u64, event: &AccountEvent) -> LogEntry {
    LogEntry {
        chat_id: log_id(region),
        seq,
        hlc: Hlc::new(seq, 0),
        body: protocol::peer::EntryBody::Account {
            event: event.clone(),
        },
    }
}

fn user(user_id: &str, username: &str, created_at: u64) -> UserRecord {
    UserRecord {
        user_id: user_id.into(),
        username: username.into(),
        display_name: username.into(),
        password_hash: "$argon2id$not-checked-here".into(),
        created_at,
        home_region: String::new(),
        deleted_at: None,
    }
}

#[tokio::test]
async fn a_tombstone_outlives_a_late_device() {
    let db = Database::in_memory().unwrap();
    let device = DeviceRecord {
        device_id: "d_1".into(),
        name: "phone".into(),
        created_at: 1,
        last_active_at: 1,
    };
    let revoked = AccountEvent::DeviceRevoked {
        user_id: "u_1".into(),
        device_id: "d_1".into(),
        revoked_at: 2,
    };
    let created = AccountEvent::DeviceCreated {
        user_id: "u_1".into(),
        device,
    };
    apply(&db, &log_id("b"), &[entry("b", 1, &revoked)])
        .await
        .unwrap();
    apply(&db, &log_id("a"), &[entry("a", 1, &created)])
        .await
        .unwrap();
    assert!(!device_exists(&db, "u_1", "d_1").await);
}

#[tokio::test]
async fn users_never_change_identity_and_name_clashes_converge() {
    let early = user("u_early", "dana", 10);
    let late = user("u_late", "dana", 20);
    let a_log = [entry(
        "a",
        1,
        &AccountEvent::UserCreated {
            user: early.clone(),
        },
    )];
    let b_log = [entry(
        "b",
        1,
        &AccountEvent::UserCreated { user: late.clone() },
    )];
    let mut holders = Vec::new();
    for a_first in [true, false] {
        let db = Database::in_memory().unwrap();
        if a_first {
            apply(&db, &log_id("a"), &a_log).await.unwrap();
            apply(&db, &log_id("b"), &b_log).await.unwrap();
        } else {
            apply(&db, &log_id("b"), &b_log).await.unwrap();
            apply(&db, &log_id("a"), &a_log).await.unwrap();
        }
        let tx = db.begin();
        holders.push(tx.get(&records::username_key("dana")).await.unwrap());
        assert!(
            tx.get(&records::user_key("u_late"))
                .await
                .unwrap()
                .is_some()
        );
    }
    assert_eq!(holders, vec![Some(b"u_early".to_vec()); 2]);

    let db = Database::in_memory().unwrap();
    let renamed = UserRecord {
        username: "erin".into(),
        ..early.clone()
    };
    apply(&db, &log_id("a"), &a_log).await.unwrap();
    apply(
        &db,
        &log_id("c"),
        &[entry("c", 1, &AccountEvent::UserCreated { user: renamed })],
    )
    .await
    .unwrap();
    let stored: UserRecord = decode(
        &db.begin()
            .get(&records::user_key("u_early"))
            .await
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    // The replica names the region whose log brought the record.
    let from_a = UserRecord {
        home_region: "a".into(),
        ..early.clone()
    };
    assert_eq!(stored, from_a);
    let erin = db
        .begin()
        .get(&records::username_key("erin"))
        .await
        .unwrap();
    assert_eq!(erin, None);
}

#[tokio::test]
async fn logging_out_before_the_login_replicated_sticks() {
    let (db_a, a) = region("a").await;
    let (db_b, b) = region("b").await;
    let alice = register(&a, "alice").await;
    let tokens = a
        .login(login_request("alice", "correct horse"), HOME)
        .await
        .unwrap();
    let who = Principal {
        user_id: alice.clone(),
        device_id: tokens.device_id.clone(),
    };
    let err = b
        .revoke_device(&alice, &tokens.device_id)
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::NotFound);
    b.logout(&who).await.unwrap();
    assert_eq!(
        b.logout(&who).await.unwrap_err().code(),
        ErrorCode::NotFound
    );

    let b_log = read(&db_b, &log_id("b"), 0, 10).await.unwrap();
    assert_eq!(
        revoked_devices(&b_log),
        vec![(alice.clone(), tokens.device_id.clone())]
    );
    ship(&db_a, "a", &db_b, 10).await;
    assert!(!device_exists(&db_b, &alice, &tokens.device_id).await);
    ship(&db_b, "b", &db_a, 10).await;
    assert!(!device_exists(&db_a, &alice, &tokens.device_id).await);
    assert!(revoked_devices(&read(&db_a, &log_id("a"), 0, 10).await.unwrap()).is_empty());
}

#[tokio::test]
async fn a_deletion_holds_in_every_region_whatever_arrives_later() {
    let (db_a, a) = region("a").await;
    let (db_b, b) = region("b").await;
    let (db_c, _) = region("c").await;
    let alice = register(&a, "alice").await;
    let bob = register(&a, "bob").await;
    let at_a = a
        .login(login_request("alice", "correct horse"), HOME)
        .await
        .unwrap();
    ship(&db_a, "a", &db_b, 10).await;
    // Alice blocks Bob at b; then logs in at b and deletes her account
    // there with a wrong password (refused), then the right one.
    b.set_setting(&alice, SettingKind::Block, &bob, 1)
        .await
        .unwrap();
    let at_b = b
        .login(login_request("alice", "correct horse"), HOME)
        .await
        .unwrap();
    let who = Principal {
        user_id: alice.clone(),
        device_id: at_b.device_id.clone(),
    };
    let err = b
        .delete_account(&who, "wrong horse".into())
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Forbidden);
    assert!(b.authenticate(&at_b.access_token).await.is_ok());
    b.delete_account(&who, "correct horse".into())
        .await
        .unwrap();
    assert!(b.authenticate(&at_b.access_token).await.is_err());

    // c hears of the deletion before it hears of Alice at all.
    ship(&db_b, "b", &db_c, 10).await;
    ship(&db_a, "a", &db_c, 10).await;
    ship(&db_b, "b", &db_a, 10).await;
    for db in [&db_a, &db_b, &db_c] {
        let tx = db.begin();
        let user: UserRecord =
            decode(&tx.get(&records::user_key(&alice)).await.unwrap().unwrap()).unwrap();
        assert!(user.deleted_at.is_some());
        assert!(user.display_name.is_empty() && user.password_hash.is_empty());
        assert!(!device_exists(db, &alice, &at_a.device_id).await);
        assert!(!settings::blocks(&tx, &alice, &bob).await.unwrap());
        assert!(is_deleted(&tx, &alice).await.unwrap());
    }
    assert!(a.authenticate(&at_a.access_token).await.is_err());
    let err = a
        .login(login_request("alice", "correct horse"), HOME)
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Unauthorized);
    // The name stays held.
    let err = a
        .register(RegisterRequest {
            username: "alice".into(),
            password: "correct horse".into(),
            display_name: None,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Conflict);
}

#[tokio::test]
async fn settings_converge_on_the_later_write() {
    let (db_a, a) = region("a").await;
    let (db_b, b) = region("b").await;
    let alice = register(&a, "alice").await;
    let bob = register(&a, "bob").await;
    ship(&db_a, "a", &db_b, 10).await;
    a.set_setting(&alice, SettingKind::Contact, &bob, 1)
        .await
        .unwrap();
    b.set_setting(&alice, SettingKind::Contact, &bob, 0)
        .await
        .unwrap();
    b.set_setting(&alice, SettingKind::Mute, "c_1", 99)
        .await
        .unwrap();
    ship(&db_a, "a", &db_b, 10).await;
    ship(&db_b, "b", &db_a, 10).await;
    let mut seen = Vec::new();
    for db in [&db_a, &db_b] {
        let tx = db.begin();
        seen.push((
            settings::value(&tx, SettingKind::Contact, &alice, &bob)
                .await
                .unwrap(),
            settings::value(&tx, SettingKind::Mute, &alice, "c_1")
                .await
                .unwrap(),
        ));
    }
    assert_eq!(seen[0], seen[1]);
    assert_eq!(seen[0].1, 99);
    // Bad input changes nothing.
    for (kind, target) in [(SettingKind::Block, &alice), (SettingKind::Contact, &alice)] {
        let err = a.set_setting(&alice, kind, target, 1).await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::BadRequest);
    }
    let err = a
        .set_setting(&alice, SettingKind::Block, "u_nobody", 1)
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::NotFound);
    assert!(
        settings::set_targets(&db_a, SettingKind::Block, &alice)
            .await
            .unwrap()
            .is_empty()
    );
}
