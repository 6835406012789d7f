//! Which machine an incoming peer message is for.

use protocol::peer::{ForwardSend, PeerMessage};

use super::{outbox, receiver, shipper};

/// An incoming [`PeerMessage`], turned into the input of the machine that
/// handles it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Routed {
    /// For the [`Shipper`](super::Shipper) serving the sending peer
    /// (`hello`, `ack`, `resend`).
    Shipper(shipper::Input),
    /// For the [`Receiver`](super::Receiver) of chats the sending peer homes
    /// (`catalog`, `entries`).
    Receiver(receiver::Input),
    /// For the [`Outbox`](super::Outbox) forwarding to the sending peer
    /// (`forward_result`).
    Outbox(outbox::Input),
    /// For this region's sequencer: a send forwarded by the peer. Answer it
    /// with a `forward_result` once committed (or rejected).
    Sequencer(ForwardSend),
}

/// Routes a message received from a peer.
pub fn route(message: PeerMessage) -> Routed {
    match message {
        PeerMessage::Hello { cursors } => Routed::Shipper(shipper::Input::Hello { cursors }),
        PeerMessage::Ack { chat_id, seq } => Routed::Shipper(shipper::Input::Ack { chat_id, seq }),
        PeerMessage::Resend { chat_id, after_seq } => {
            Routed::Shipper(shipper::Input::Resend { chat_id, after_seq })
        }
        PeerMessage::Catalog { chats } => Routed::Receiver(receiver::Input::Catalog { chats }),
        PeerMessage::Entries { chat_id, entries } => {
            Routed::Receiver(receiver::Input::Entries { chat_id, entries })
        }
        PeerMessage::ForwardResult(result) => Routed::Outbox(outbox::Input::Received(result)),
        PeerMessage::ForwardSend(send) => Routed::Sequencer(send),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use protocol::Hlc;
    use protocol::peer::{ForwardOutcome, ForwardResult};

    use super::*;

    #[test]
    fn each_message_reaches_its_machine() {
        let hello = PeerMessage::Hello {
            cursors: BTreeMap::from([("c".to_string(), 2)]),
        };
        assert!(matches!(
            route(hello),
            Routed::Shipper(shipper::Input::Hello { .. })
        ));
        let ack = PeerMessage::Ack {
            chat_id: "c".into(),
            seq: 1,
        };
        assert!(matches!(
            route(ack),
            Routed::Shipper(shipper::Input::Ack { seq: 1, .. })
        ));
        let resend = PeerMessage::Resend {
            chat_id: "c".into(),
            after_seq: 4,
        };
        assert!(matches!(
            route(resend),
            Routed::Shipper(shipper::Input::Resend { after_seq: 4, .. })
        ));
        let catalog = PeerMessage::Catalog {
            chats: BTreeMap::new(),
        };
        assert!(matches!(
            route(catalog),
            Routed::Receiver(receiver::Input::Catalog { .. })
        ));
        let entries = PeerMessage::Entries {
            chat_id: "c".into(),
            entries: Vec::new(),
        };
        assert!(matches!(
            route(entries),
            Routed::Receiver(receiver::Input::Entries { .. })
        ));
        let result = ForwardResult {
            id: "1".into(),
            outcome: ForwardOutcome::Sequenced {
                seq: 3,
                hlc: Hlc(9),
            },
        };
        assert_eq!(
            route(PeerMessage::ForwardResult(result.clone())),
            Routed::Outbox(outbox::Input::Received(result))
        );
        let send = ForwardSend {
            id: "1".into(),
            chat_id: "c".into(),
            sender_id: "u".into(),
            device_id: "d".into(),
            client_msg_id: "m".into(),
            text: "t".into(),
            hlc: Hlc(1),
            ..Default::default()
        };
        assert_eq!(
            route(PeerMessage::ForwardSend(send.clone())),
            Routed::Sequencer(send)
        );
    }
}
