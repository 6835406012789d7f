//! Law: tuple-encoded keys sort exactly like the tuples they encode, so range reads over
//! tuple keys follow the logical order on every backend.

use proptest::prelude::*;
use store::tuple;

proptest! {
    #[test]
    fn ints_sort_like_their_encoding(a: i64, b: i64) {
        prop_assert_eq!(a.cmp(&b), tuple::pack(&(a,)).cmp(&tuple::pack(&(b,))));
    }

    #[test]
    fn strings_sort_like_their_encoding(a: String, b: String) {
        prop_assert_eq!(a.cmp(&b), tuple::pack(&(&a,)).cmp(&tuple::pack(&(&b,))));
    }

    #[test]
    fn mixed_tuples_sort_like_their_encoding(
        a: (String, i64, String),
        b: (String, i64, String),
    ) {
        prop_assert_eq!(a.cmp(&b), tuple::pack(&a).cmp(&tuple::pack(&b)));
    }

    #[test]
    fn chat_message_keys_sort_by_chat_then_seq(
        chat_a in "[a-z0-9\u{0}]{0,6}", seq_a: u64,
        chat_b in "[a-z0-9\u{0}]{0,6}", seq_b: u64,
    ) {
        let ka = tuple::pack(&("chat", &chat_a, "msg", seq_a));
        let kb = tuple::pack(&("chat", &chat_b, "msg", seq_b));
        prop_assert_eq!((&chat_a, seq_a).cmp(&(&chat_b, seq_b)), ka.cmp(&kb));
    }

    #[test]
    fn subspace_range_holds_exactly_the_keys_under_a_tuple_prefix(
        chat in "[a\u{0}\u{ff}]{0,4}",
        other in "[a\u{0}\u{ff}]{0,4}",
        seq: u64,
    ) {
        let prefix = tuple::pack(&("chat", &chat));
        let range = store::RangeOption::subspace(&prefix);
        let inside = |key: &Vec<u8>| range.begin <= *key && *key < range.end;
        prop_assert!(inside(&tuple::pack(&("chat", &chat, "msg", seq))));
        prop_assert!(inside(&tuple::pack(&("chat", &chat, seq))));
        prop_assert!(!inside(&prefix));
        prop_assert_eq!(other == chat, inside(&tuple::pack(&("chat", &other, "msg", seq))));
    }

    #[test]
    fn byte_prefix_range_holds_every_key_starting_with_the_prefix(
        prefix: Vec<u8>,
        suffix: Vec<u8>,
    ) {
        let range = store::RangeOption::prefix(&prefix);
        let key = [prefix.as_slice(), suffix.as_slice()].concat();
        let is_all_ff = prefix.iter().all(|b| *b == 0xff);
        // An all-0xff prefix has no finite successor; see `prefix_end`.
        if !is_all_ff || suffix.first().is_none_or(|b| *b < 0xff) {
            prop_assert!(range.begin <= key && key < range.end);
        }
    }
}
