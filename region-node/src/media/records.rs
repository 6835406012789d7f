//! Media metadata in the region's store, one record per media under
//! `("media", media_id)`.

use protocol::media::MediaInfo;
use store::Database;
use store::tuple::pack;

use super::Error;
use crate::codec::{decode, encode};

fn key(media_id: &str) -> Vec<u8> {
    pack(&("media", media_id))
}

/// Records a new media.
pub async fn put(db: &Database, info: &MediaInfo) -> Result<(), Error> {
    let bytes = encode(info);
    let key = key(&info.media_id);
    db.run(|tx| {
        let (key, bytes) = (key.clone(), bytes.clone());
        async move {
            tx.set(&key, &bytes);
            Ok::<_, Error>(())
        }
    })
    .await
}

/// The media `media_id`, if recorded.
pub async fn get(db: &Database, media_id: &str) -> Result<Option<MediaInfo>, Error> {
    let tx = db.begin();
    match tx.get_snapshot(&key(media_id)).await? {
        Some(bytes) => Ok(Some(decode(&bytes)?)),
        None => Ok(None),
    }
}
