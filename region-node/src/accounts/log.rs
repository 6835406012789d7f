//! The account log of a region: every account change the region makes, in
//! the order it made them, as a gapless sequence of
//! [`LogEntry`](protocol::peer::LogEntry)s with log id `@accounts/<region>`.
//!
//! A change and its log entry are written in one store transaction, so the
//! log never misses a change nor holds one that did not happen. Reading the
//! log's counter in that transaction serializes the account writes of one
//! region; they are rare (register, login, logout), so that costs little
//! and keeps the log gapless without a sequencer task.

use protocol::Hlc;
use protocol::peer::{EntryBody, LogEntry};

use super::Error;
use super::records::{self, encode};

/// The prefix of every account log id; the rest is the region's name.
pub const ACCOUNT_LOG_PREFIX: &str = "@accounts/";

/// The id of `region`'s account log.
pub fn log_id(region: &str) -> String {
    format!("{ACCOUNT_LOG_PREFIX}{region}")
}

/// The region whose account log `log_id` is; `bad_request` for any other id.
pub fn region_of(log_id: &str) -> Result<&str, Error> {
    log_id
        .strip_prefix(ACCOUNT_LOG_PREFIX)
        .filter(|region| !region.is_empty())
        .ok_or_else(|| Error::invalid(format!("{log_id:?} is not an account log")))
}

pub use protocol::records::AccountEvent;

/// Reads an account event out of a log entry.
pub trait DecodeAccountEvent {
    /// The entry's event; `bad_request` for an entry of another kind.
    fn account_event(&self) -> Result<&AccountEvent, Error>;
}

impl DecodeAccountEvent for LogEntry {
    fn account_event(&self) -> Result<&AccountEvent, Error> {
        match &self.body {
            EntryBody::Account { event } => Ok(event),
            EntryBody::Message { .. } => Err(Error::invalid(format!(
                "entry {} of {} is not an account event",
                self.seq, self.chat_id
            ))),
        }
    }
}

/// The last `seq` of `region`'s account log held here (0 when empty). A
/// non-snapshot read, so concurrent appends to one log conflict and retry.
pub(crate) async fn last_seq(
    tx: &store::Transaction,
    region: &str,
    snapshot: bool,
) -> Result<u64, Error> {
    let key = records::acctlog_last_key(region);
    let bytes = if snapshot {
        tx.get_snapshot(&key).await?
    } else {
        tx.get(&key).await?
    };
    Ok(bytes.map_or(0, |b| {
        u64::try_from(store::decode_counter(&b)).unwrap_or_default()
    }))
}

/// Appends `event` to `region`'s own account log in `tx`; answers its `seq`.
pub(crate) async fn append(
    tx: &store::Transaction,
    region: &str,
    hlc: Hlc,
    event: &AccountEvent,
) -> Result<u64, Error> {
    let seq = last_seq(tx, region, false).await? + 1;
    let entry = LogEntry {
        chat_id: log_id(region),
        seq,
        hlc,
        body: EntryBody::Account {
            event: event.clone(),
        },
    };
    store_entry(tx, region, &entry);
    tx.set(&records::acctlog_last_key(region), &seq.to_le_bytes());
    Ok(seq)
}

/// Writes one entry of `region`'s account log (without moving its counter).
pub(crate) fn store_entry(tx: &store::Transaction, region: &str, entry: &LogEntry) {
    tx.set(&records::acctlog_key(region, entry.seq), &encode(entry));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_ids_name_their_region() {
        assert_eq!(log_id("eu-west"), "@accounts/eu-west");
        assert_eq!(region_of(&log_id("eu-west")).unwrap(), "eu-west");
        assert!(region_of("@accounts/").is_err());
        assert!(region_of("c_0123").is_err());
    }

    #[test]
    fn events_are_tagged_json() {
        let event = AccountEvent::DeviceRevoked {
            user_id: "u_1".into(),
            device_id: "d_1".into(),
            revoked_at: 7,
        };
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "event": "device_revoked",
                "user_id": "u_1",
                "device_id": "d_1",
                "revoked_at": 7,
            })
        );
        let entry = LogEntry {
            chat_id: log_id("a"),
            seq: 1,
            hlc: Hlc::new(1, 0),
            body: EntryBody::Account {
                event: event.clone(),
            },
        };
        assert_eq!(entry.account_event().unwrap(), &event);
        assert!(serde_json::from_str::<AccountEvent>("{\"event\":\"nope\"}").is_err());
    }

    #[tokio::test]
    async fn appends_are_gapless_per_region() {
        let db = store::Database::in_memory().unwrap();
        let event = AccountEvent::DeviceRevoked {
            user_id: "u".into(),
            device_id: "d".into(),
            revoked_at: 0,
        };
        for expected in 1..=3u64 {
            let seq = db
                .run(|tx| {
                    let event = event.clone();
                    async move { append(&tx, "a", Hlc::new(expected, 0), &event).await }
                })
                .await
                .unwrap();
            assert_eq!(seq, expected);
        }
        let tx = db.begin();
        assert_eq!(last_seq(&tx, "a", true).await.unwrap(), 3);
        assert_eq!(last_seq(&tx, "b", true).await.unwrap(), 0);
    }
}
