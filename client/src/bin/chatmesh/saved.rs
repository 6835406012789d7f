//! Running calls with the saved login, refreshing its tokens once when the
//! access token has expired.

use std::future::Future;
use std::path::Path;

use client::session::{Session, SessionError};
use client::{Client, ClientError};
use protocol::ErrorCode;

/// Runs `call` with the saved session, refreshing the tokens once if the
/// access token has expired.
pub async fn with_session<T, F, Fut>(dir: &Path, call: F) -> anyhow::Result<T>
where
    F: Fn(Client) -> Fut,
    Fut: Future<Output = Result<T, ClientError>>,
{
    let mut session = Session::load(dir)?;
    match call(session.client()?).await {
        Err(e) if e.code() == Some(ErrorCode::Unauthorized) => {
            session.refresh(dir).await.map_err(|e| match e {
                SessionError::Refresh(inner) => {
                    anyhow::anyhow!("session expired; log in again ({inner})")
                }
                other => other.into(),
            })?;
            Ok(call(session.client()?).await?)
        }
        other => Ok(other?),
    }
}
