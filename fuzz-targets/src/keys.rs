//! Store keys: the tuple encoding every key of both store backends uses.

use arbitrary::{Arbitrary, Unstructured};
use store::tuple::{Element, pack, unpack};

/// Unpacks arbitrary bytes as a key; what unpacks must pack to bytes that
/// unpack and pack to the same bytes again.
pub fn tuple_key(bytes: &[u8]) {
    let Ok(elements) = unpack::<Vec<Element>>(bytes) else {
        return;
    };
    let packed = pack(&elements);
    let again = unpack::<Vec<Element>>(&packed).expect("a packed key unpacks");
    assert_eq!(
        pack(&again),
        packed,
        "packing is not stable for {elements:?}"
    );
}

/// Two keys shaped like a chat's message keys, `(chat, seq)`: their bytes
/// must sort like the values, or a range read would miss or misorder entries.
pub fn tuple_order(bytes: &[u8]) {
    let mut input = Unstructured::new(bytes);
    let Ok((a, b)) = <((String, u64), (String, u64))>::arbitrary(&mut input) else {
        return;
    };
    let (key_a, key_b) = (pack(&a), pack(&b));
    assert_eq!(
        a.cmp(&b),
        key_a.cmp(&key_b),
        "{a:?} and {b:?} sort differently as keys"
    );
    let back: (String, u64) = unpack(&key_a).expect("a packed key unpacks");
    assert_eq!(back, a);
}
