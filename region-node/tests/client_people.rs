//! The SDK's people calls against a real node: profile, contacts, blocks,
//! roles, mutes and account deletion, with the server's error codes.

#![allow(clippy::unwrap_used)]

mod common;

use common::Node;
use protocol::ErrorCode;
use protocol::chats::{Role, SystemEvent};
use protocol::users::UpdateProfileRequest;

const PASSWORD: &str = "correct horse";

#[tokio::test]
async fn the_sdk_speaks_every_people_endpoint() {
    let node = Node::start().await;
    let anon = node.client();
    let mut clients = Vec::new();
    for name in ["ann", "bob"] {
        let id = anon.register(name, PASSWORD, None).await.unwrap();
        let tokens = anon.login(name, PASSWORD, None).await.unwrap();
        clients.push((id, anon.with_token(&tokens.access_token)));
    }
    let [(ann_id, ann), (bob_id, bob)] = <[_; 2]>::try_from(clients).ok().unwrap();

    let update = UpdateProfileRequest {
        status_text: Some("on call".into()),
        avatar_media_id: Some("m_1".into()),
        ..Default::default()
    };
    let shown = ann.update_profile(&update).await.unwrap();
    assert_eq!(
        (shown.status_text.as_str(), shown.avatar_media_id.as_str()),
        ("on call", "m_1")
    );
    let bad = UpdateProfileRequest {
        display_name: Some("\u{202E}nna".into()),
        ..Default::default()
    };
    let err = ann.update_profile(&bad).await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::BadRequest));

    ann.add_contact(&bob_id).await.unwrap();
    let contacts = ann.contacts().await.unwrap();
    assert_eq!(contacts.len(), 1);
    assert_eq!(contacts[0].profile.user_id, bob_id);
    ann.remove_contact(&bob_id).await.unwrap();
    assert!(ann.contacts().await.unwrap().is_empty());

    let err = ann.block(&ann_id).await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::BadRequest));
    ann.block(&bob_id).await.unwrap();
    assert_eq!(ann.blocks().await.unwrap()[0].user_id, bob_id);
    let err = bob.create_direct(&ann_id).await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::Blocked));
    ann.unblock(&bob_id).await.unwrap();
    bob.create_direct(&ann_id).await.unwrap();

    let group = ann
        .create_group("g", std::slice::from_ref(&bob_id), None)
        .await
        .unwrap();
    let err = bob
        .set_role(&group.chat_id, &ann_id, Role::Member)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::Forbidden));
    let chat = ann
        .set_role(&group.chat_id, &bob_id, Role::Owner)
        .await
        .unwrap();
    let roles: Vec<_> = chat
        .members
        .iter()
        .map(|m| (m.user_id.clone(), m.role))
        .collect();
    assert!(roles.contains(&(bob_id.clone(), Role::Owner)));
    assert!(roles.contains(&(ann_id.clone(), Role::Admin)));
    let history = ann.history(&group.chat_id, None, None, None).await.unwrap();
    let last = history.messages.last().unwrap();
    assert_eq!(last.event, Some(SystemEvent::OwnerChanged));

    let settings = bob.mute(&group.chat_id, 42).await.unwrap();
    assert_eq!(settings.muted_until, 42);
    assert_eq!(
        bob.chat(&group.chat_id).await.unwrap().muted_until,
        Some(42)
    );
    assert_eq!(bob.chats().await.unwrap()[0].muted_until, 42);

    let err = ann.delete_account("wrong horse").await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::Forbidden));
    ann.delete_account(PASSWORD).await.unwrap();
    let err = ann.me().await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::Unauthorized));
    assert!(bob.user(&ann_id).await.unwrap().deleted);
}
