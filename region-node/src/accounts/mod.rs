//! Accounts and devices: registration, login, token refresh and rotation,
//! logout, device listing and revocation, and turning a bearer token into
//! an authenticated [`Principal`].
//!
//! Every change to users and devices is also appended to the region's
//! account log in the same transaction, which the mesh ships to every other
//! region, so an account made in one region works in all of them.
//!
//! - [`error`]: what accounts operations answer when they fail.
//! - [`records`]: store layout.
//! - [`password`]: Argon2id hashing off the runtime.
//! - [`profiles`]: profiles editable in any region (automerge).
//! - [`tokens`]: access and refresh tokens.
//! - [`secret`]: where the token signing secret comes from.
//! - [`throttle`]: failed-login throttling.
//! - [`validate`]: field rules.
//! - [`log`]: the region's account log.
//! - [`replication`]: shipping and applying account logs between regions.
//! - [`usernames`]: usernames unique across the mesh.
//! - [`settings`]: contacts, blocks and mutes as last-writer-wins registers;
//!   [`people`]: writing and listing them.
//! - [`deletion`]: deleting an account everywhere.

pub mod deletion;
pub mod error;
pub mod log;
pub mod password;
pub mod people;
pub mod profiles;
pub mod records;
pub mod replication;
pub mod secret;
pub mod settings;
pub mod throttle;
pub mod tokens;
pub mod usernames;
pub mod validate;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use protocol::auth::{DeviceInfo, LoginRequest, RegisterRequest, TokenResponse};
use protocol::users::UserProfile;
use store::{Database, RangeOption};

use crate::clock::now_ms;
use crate::config::AuthConfig;
use crate::hlc::HlcClock;
use crate::link::Link;
pub use error::Error;
use log::AccountEvent;
use records::{DeviceRecord, RefreshRecord, UserRecord, decode, encode};
pub use usernames::claim_username;

/// The authenticated caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The user.
    pub user_id: String,
    /// The device the token was issued to.
    pub device_id: String,
}

/// The accounts service; cheap to clone.
#[derive(Clone)]
pub struct Accounts {
    db: Database,
    region: Arc<str>,
    hlc: Arc<HlcClock>,
    mesh: Option<Link>,
    hasher: password::PasswordHasher,
    issuer: tokens::TokenIssuer,
    logins: throttle::LoginThrottle,
}

/// What a refresh attempt found.
enum RefreshOutcome {
    Rotated(TokenResponse),
    /// The device was revoked; the account log entry's seq.
    Reused(u64),
    Unknown,
}

fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7().simple())
}

impl Accounts {
    /// Opens the service of `region` on `db`; account log entries are
    /// stamped by `hlc`. In a `mesh`, usernames are claimed at their owner,
    /// the mesh learns of each account change, and tokens are signed with
    /// the mesh's shared key (see [`secret`]); else with the region's own,
    /// created on first start.
    pub async fn open(
        db: Database,
        config: &AuthConfig,
        region: &str,
        hlc: Arc<HlcClock>,
        mesh: Option<Link>,
    ) -> Result<Self, Error> {
        let secret = secret::for_region(&db, mesh.as_ref()).await?;
        Ok(Self {
            db,
            region: region.into(),
            hlc,
            mesh,
            hasher: password::PasswordHasher::new(
                config.argon2_memory_kib,
                config.argon2_iterations,
            )?,
            issuer: tokens::TokenIssuer::new(&secret, config.access_token_ttl, region),
            logins: throttle::LoginThrottle::new(
                config.login_failures_per_username,
                config.login_failures_per_address,
                config.login_throttle_window,
            ),
        })
    }

    /// Creates an account; `conflict` if the username is taken,
    /// `home_unreachable` if the region owning the name cannot be asked.
    #[tracing::instrument(skip_all, fields(username = %request.username))]
    pub async fn register(&self, request: RegisterRequest) -> Result<String, Error> {
        validate::username(&request.username)?;
        validate::password(&request.password)?;
        let display_name = request
            .display_name
            .unwrap_or_else(|| request.username.clone());
        validate::display_name(&display_name)?;
        let password_hash = self.hasher.hash(request.password).await?;
        let record = UserRecord {
            user_id: new_id("u"),
            username: request.username,
            display_name,
            password_hash,
            created_at: now_ms(),
            home_region: self.region.to_string(),
            deleted_at: None,
        };
        let claim =
            usernames::claim_at_owner(self.mesh.as_ref(), &record.username, &record.user_id)
                .await?;
        let record = &record;
        let seq = self
            .db
            .run(|tx| async move {
                claim.settle(&tx, &record.username, &record.user_id).await?;
                tx.set(
                    &records::username_key(&record.username),
                    record.user_id.as_bytes(),
                );
                tx.set(&records::user_key(&record.user_id), &encode(record));
                let event = AccountEvent::UserCreated {
                    user: record.clone(),
                };
                self.append(&tx, &event).await
            })
            .await?;
        self.committed(seq);
        tracing::info!(user = %record.user_id, "registered");
        Ok(record.user_id.clone())
    }

    /// Checks the password and creates a new device with fresh tokens.
    #[tracing::instrument(skip_all, fields(username = %request.username))]
    pub async fn login(&self, request: LoginRequest, from: IpAddr) -> Result<TokenResponse, Error> {
        // No such account can exist; refused before it is a key anywhere.
        validate::username(&request.username)?;
        let device_name = request
            .device_name
            .unwrap_or_else(|| "unnamed device".to_owned());
        validate::device_name(&device_name)?;
        let attempt = self
            .logins
            .begin(&request.username, from, Instant::now())
            .map_err(|retry_after| Error::RateLimited { retry_after })?;

        let user = self.user_by_username(&request.username).await?;
        let verified = self
            .hasher
            .verify(
                user.as_ref().map(|u| u.password_hash.clone()),
                request.password,
            )
            .await?;
        let Some(user) = user.filter(|_| verified) else {
            // The attempt's tokens stay taken: this is what counts a failure.
            drop(attempt);
            return Err(Error::unauthorized("wrong username or password"));
        };
        self.logins.succeeded(attempt, Instant::now());

        let now_ms = now_ms();
        let device = DeviceRecord {
            device_id: new_id("d"),
            name: device_name,
            created_at: now_ms,
            last_active_at: now_ms,
        };
        let refresh_token = tokens::new_refresh_token(&self.region);
        let hash = tokens::hash_refresh_token(&refresh_token);
        let (user_id, device_ref, hash_ref) = (&user.user_id, &device, &hash);
        let seq = self
            .db
            .run(|tx| async move {
                tx.set(
                    &records::device_key(user_id, &device_ref.device_id),
                    &encode(device_ref),
                );
                put_refresh(&tx, user_id, &device_ref.device_id, hash_ref);
                let event = AccountEvent::DeviceCreated {
                    user_id: user_id.clone(),
                    device: device_ref.clone(),
                };
                self.append(&tx, &event).await
            })
            .await?;
        self.committed(seq);
        tracing::info!(user = %user.user_id, device = %device.device_id, "logged in");
        Ok(TokenResponse {
            access_token: self.issuer.issue(&user.user_id, &device.device_id)?,
            user_id: user.user_id,
            device_id: device.device_id,
            refresh_token,
            expires_in: self.issuer.ttl_secs(),
        })
    }

    /// Exchanges a refresh token for a new pair. The old token stops working;
    /// presenting it again revokes the device, since someone else holds it.
    #[tracing::instrument(skip_all)]
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenResponse, Error> {
        let hash = tokens::hash_refresh_token(refresh_token);
        let outcome = self
            .db
            .run(|tx| {
                let hash = hash.clone();
                let issuer = self.issuer.clone();
                let region = self.region.clone();
                async move {
                    let Some(bytes) = tx.get(&records::refresh_key(&hash)).await? else {
                        return Ok(RefreshOutcome::Unknown);
                    };
                    let record: RefreshRecord = decode(&bytes)?;
                    let device_key = records::device_key(&record.user_id, &record.device_id);
                    let Some(device_bytes) = tx.get(&device_key).await? else {
                        return Ok(RefreshOutcome::Unknown);
                    };
                    if !record.current {
                        let seq = self
                            .revoke_logged(&tx, &record.user_id, &record.device_id)
                            .await?;
                        return Ok(RefreshOutcome::Reused(seq));
                    }
                    let mut device: DeviceRecord = decode(&device_bytes)?;
                    device.last_active_at = now_ms();
                    tx.set(&device_key, &encode(&device));
                    tx.set(
                        &records::refresh_key(&hash),
                        &encode(&RefreshRecord {
                            current: false,
                            ..record.clone()
                        }),
                    );
                    let refresh_token = tokens::new_refresh_token(&region);
                    put_refresh(
                        &tx,
                        &record.user_id,
                        &record.device_id,
                        &tokens::hash_refresh_token(&refresh_token),
                    );
                    Ok::<_, Error>(RefreshOutcome::Rotated(TokenResponse {
                        access_token: issuer.issue(&record.user_id, &record.device_id)?,
                        user_id: record.user_id,
                        device_id: record.device_id,
                        refresh_token,
                        expires_in: issuer.ttl_secs(),
                    }))
                }
            })
            .await?;
        match outcome {
            RefreshOutcome::Rotated(tokens) => Ok(tokens),
            RefreshOutcome::Reused(seq) => {
                self.committed(seq);
                tracing::warn!("refresh token reused; device revoked");
                Err(Error::unauthorized(
                    "refresh token was already used; the device is revoked",
                ))
            }
            RefreshOutcome::Unknown => match tokens::refresh_token_region(refresh_token) {
                Some(origin) if origin != &*self.region && self.issued_by_peer(origin) => {
                    Err(Error::conflict(format!(
                        "this refresh token was issued by region {origin}; refresh it there"
                    )))
                }
                _ => Err(Error::unauthorized("invalid refresh token")),
            },
        }
    }

    /// The caller behind a bearer token: well signed, unexpired, and its
    /// device not revoked. A device of this region must exist here
    /// (revocation takes effect at once); a device another region of the
    /// mesh logged in may not have been replicated yet, so there only a
    /// tombstone refuses it (revocation takes effect with replication).
    pub async fn authenticate(&self, token: &str) -> Result<Principal, Error> {
        let claims = self.issuer.verify(token)?;
        let tx = self.db.begin();
        let device = tx
            .get_snapshot(&records::device_key(&claims.sub, &claims.did))
            .await?;
        // A device here means a live account (deleting one removes its
        // devices); one not here yet is refused by either tombstone.
        let accepted = match device {
            Some(_) => true,
            None if self.issued_by_peer(&claims.iss) => {
                let revoked = tx
                    .get_snapshot(&records::device_tombstone_key(&claims.sub, &claims.did))
                    .await?;
                let deleted = tx
                    .get_snapshot(&records::user_tombstone_key(&claims.sub))
                    .await?;
                revoked.is_none() && deleted.is_none()
            }
            None => false,
        };
        if !accepted {
            return Err(Error::unauthorized("device has been revoked"));
        }
        Ok(Principal {
            user_id: claims.sub,
            device_id: claims.did,
        })
    }

    /// Whether `region` is another region of this region's mesh.
    fn issued_by_peer(&self, region: &str) -> bool {
        self.mesh.as_ref().is_some_and(|mesh| {
            region != &*self.region && mesh.config().topology.region(region).is_some()
        })
    }

    /// Revokes one of the user's devices; `not_found` if it is not theirs.
    #[tracing::instrument(skip(self))]
    pub async fn revoke_device(&self, user_id: &str, device_id: &str) -> Result<(), Error> {
        self.revoke(user_id, device_id, true).await
    }

    /// Logs the caller's device out. Unlike [`revoke_device`](Self::revoke_device)
    /// this works for a device logged in at another region whose news has not
    /// arrived here yet: the caller's token proves the device exists, and the
    /// tombstone keeps it revoked when the news comes.
    #[tracing::instrument(skip_all, fields(user = %who.user_id, device = %who.device_id))]
    pub async fn logout(&self, who: &Principal) -> Result<(), Error> {
        self.revoke(&who.user_id, &who.device_id, false).await
    }

    async fn revoke(&self, user_id: &str, device_id: &str, must_exist: bool) -> Result<(), Error> {
        let seq = self
            .db
            .run(|tx| async move {
                let present = tx
                    .get(&records::device_key(user_id, device_id))
                    .await?
                    .is_some();
                let revoked = || async {
                    tx.get(&records::device_tombstone_key(user_id, device_id))
                        .await
                        .map(|t| t.is_some())
                };
                if !present && (must_exist || revoked().await?) {
                    return Err(Error::not_found("no such device"));
                }
                self.revoke_logged(&tx, user_id, device_id).await
            })
            .await?;
        self.committed(seq);
        tracing::info!("device revoked");
        Ok(())
    }

    /// The user's devices, oldest first.
    pub async fn devices(&self, who: &Principal) -> Result<Vec<DeviceInfo>, Error> {
        let tx = self.db.begin();
        let rows = tx
            .get_range(RangeOption::subspace(&records::devices_prefix(&who.user_id)).snapshot())
            .await?;
        let mut devices = rows
            .iter()
            .map(|(_, value)| {
                let device: DeviceRecord = decode(value)?;
                Ok(DeviceInfo {
                    current: device.device_id == who.device_id,
                    device_id: device.device_id,
                    name: device.name,
                    created_at: device.created_at,
                    last_active_at: device.last_active_at,
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        devices.sort_by(|a, b| (a.created_at, &a.device_id).cmp(&(b.created_at, &b.device_id)));
        Ok(devices)
    }

    /// A user by id.
    pub async fn user(&self, user_id: &str) -> Result<Option<UserRecord>, Error> {
        let bytes = self
            .db
            .begin()
            .get_snapshot(&records::user_key(user_id))
            .await?;
        bytes.map(|b| decode(&b)).transpose()
    }

    /// Revokes a device in `tx` and logs it; answers the log entry's seq.
    async fn revoke_logged(
        &self,
        tx: &store::Transaction,
        user_id: &str,
        device_id: &str,
    ) -> Result<u64, Error> {
        let revoked_at = now_ms();
        revoke_in(tx, user_id, device_id, revoked_at).await?;
        let event = AccountEvent::DeviceRevoked {
            user_id: user_id.to_owned(),
            device_id: device_id.to_owned(),
            revoked_at,
        };
        self.append(tx, &event).await
    }

    /// Appends `event` to this region's account log in `tx`.
    async fn append(&self, tx: &store::Transaction, event: &AccountEvent) -> Result<u64, Error> {
        log::append(tx, &self.region, self.hlc.now(), event).await
    }

    /// Tells the mesh this region's account log has grown to `seq`.
    fn committed(&self, seq: u64) {
        if let Some(mesh) = &self.mesh {
            mesh.committed(&log::log_id(&self.region), seq);
        }
    }

    /// A user by username; `None` for a deleted account (whose name is
    /// held, see [`deletion`]).
    pub async fn user_by_username(&self, username: &str) -> Result<Option<UserRecord>, Error> {
        let tx = self.db.begin();
        let Some(id) = tx.get_snapshot(&records::username_key(username)).await? else {
            return Ok(None);
        };
        let id = String::from_utf8(id)
            .map_err(|e| Error::CorruptKey(format!("user id of {username}: {e}")))?;
        let bytes = tx.get_snapshot(&records::user_key(&id)).await?;
        let user: Option<UserRecord> = bytes.map(|b| decode(&b)).transpose()?;
        Ok(user.filter(|u| u.deleted_at.is_none()))
    }
}

/// The public face of a user record: for a deleted account, the id and
/// `deleted: true` alone.
pub fn profile(user: &UserRecord) -> UserProfile {
    let deleted = user.deleted_at.is_some();
    let shown = |field: &String| {
        if deleted {
            String::new()
        } else {
            field.clone()
        }
    };
    UserProfile {
        user_id: user.user_id.clone(),
        username: shown(&user.username),
        display_name: shown(&user.display_name),
        status_text: String::new(),
        avatar_media_id: String::new(),
        deleted,
    }
}

fn put_refresh(tx: &store::Transaction, user_id: &str, device_id: &str, hash: &str) {
    let record = RefreshRecord {
        user_id: user_id.to_owned(),
        device_id: device_id.to_owned(),
        current: true,
    };
    tx.set(&records::refresh_key(hash), &encode(&record));
    tx.set(&records::device_refresh_key(user_id, device_id, hash), b"");
}

/// Deletes a device and every refresh token it was ever given, and leaves a
/// tombstone so a late replicated "device created" cannot bring it back.
async fn revoke_in(
    tx: &store::Transaction,
    user_id: &str,
    device_id: &str,
    revoked_at: u64,
) -> Result<(), Error> {
    tx.set(
        &records::device_tombstone_key(user_id, device_id),
        &revoked_at.to_le_bytes(),
    );
    let prefix = records::device_refresh_prefix(user_id, device_id);
    for (key, _) in tx.get_range(RangeOption::subspace(&prefix)).await? {
        let hash = store::tuple::unpack::<(String, String, String, String)>(&key)
            .map_err(|e| Error::CorruptKey(format!("refresh token index: {e}")))?
            .3;
        tx.clear(&records::refresh_key(&hash));
    }
    let all = RangeOption::subspace(&prefix);
    tx.clear_range(&all.begin, &all.end);
    tx.clear(&records::device_key(user_id, device_id));
    Ok(())
}
