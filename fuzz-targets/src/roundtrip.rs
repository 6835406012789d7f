//! The round-trip property shared by the JSON decoders.

use std::fmt::Debug;

use serde::{Serialize, de::DeserializeOwned};

/// Decodes `bytes` as JSON; when that succeeds, the value must encode and
/// decode again to an equal value.
pub(crate) fn json<T>(bytes: &[u8])
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let Ok(value) = serde_json::from_slice::<T>(bytes) else {
        return;
    };
    let encoded = serde_json::to_vec(&value).expect("a decoded value encodes");
    let again: T = serde_json::from_slice(&encoded).unwrap_or_else(|e| {
        panic!(
            "{value:?} encodes to {} which does not decode: {e}",
            String::from_utf8_lossy(&encoded)
        )
    });
    assert_eq!(value, again, "a value changed across a JSON round trip");
}
