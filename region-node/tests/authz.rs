//! The authorization suite: every HTTP route and every WebSocket frame,
//! called as each kind of caller, against the rule table of
//! `docs/protocol.md` ("Who may do what").
//!
//! Callers: the group's owner, an admin, a plain member, a removed member, a
//! stranger (logged in, never in the chat), a revoked device, an expired
//! token and no token at all. Each chat route runs on a fresh group, so a
//! call that changes the chat (a delete, a removal) cannot hide what the
//! next caller would get.

#![allow(clippy::unwrap_used)]

mod common;

use std::fmt;

use common::http::call;
use common::ws::Ws;
use common::{Node, fast_raw};
use reqwest::Method;
use serde_json::{Value, json};

/// Who calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Caller {
    Owner,
    Admin,
    Member,
    Removed,
    Stranger,
    Revoked,
    Expired,
    Anonymous,
}

use Caller::*;

const CHAT_CALLERS: [Caller; 5] = [Owner, Admin, Member, Removed, Stranger];
const UNAUTHENTICATED: [Caller; 3] = [Revoked, Expired, Anonymous];

/// What the rule table says a call answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// Any 2xx.
    Allowed,
    /// This status and error code.
    Refused(u16, &'static str),
}

use Expect::*;

const FORBIDDEN: Expect = Refused(403, "forbidden");
const NOT_MEMBER: Expect = Refused(403, "not_member");
const NOT_FOUND: Expect = Refused(404, "not_found");
const UNAUTHORIZED: Expect = Refused(401, "unauthorized");

/// Every authenticated route, by what it acts on.
#[derive(Clone, Copy, Debug)]
enum Route {
    GetChat,
    RenameChat,
    AddMembers,
    RemoveMember,
    Leave,
    SetRole,
    Settings,
    DeleteChat,
    Send,
    Edit,
    DeleteMessage,
    React,
    History,
    Read,
    PlacementChat,
    // Not about the chat: allowed to anyone logged in.
    Me,
    UpdateMe,
    Devices,
    RevokeOthersDevice,
    Contacts,
    AddContact,
    RemoveContact,
    Blocks,
    Block,
    Unblock,
    DeleteMeWrongPassword,
    Routing,
    UserById,
    UserByName,
    ListChats,
    CreateGroup,
    Logout,
}

const CHAT_ROUTES: [Route; 15] = [
    Route::GetChat,
    Route::RenameChat,
    Route::AddMembers,
    Route::RemoveMember,
    Route::Leave,
    Route::SetRole,
    Route::Settings,
    Route::DeleteChat,
    Route::Send,
    Route::Edit,
    Route::DeleteMessage,
    Route::React,
    Route::History,
    Route::Read,
    Route::PlacementChat,
];

const ACCOUNT_ROUTES: [Route; 17] = [
    Route::Me,
    Route::UpdateMe,
    Route::Devices,
    Route::RevokeOthersDevice,
    Route::Contacts,
    Route::AddContact,
    Route::RemoveContact,
    Route::Blocks,
    Route::Block,
    Route::Unblock,
    Route::DeleteMeWrongPassword,
    Route::Routing,
    Route::UserById,
    Route::UserByName,
    Route::ListChats,
    Route::CreateGroup,
    Route::Logout,
];

/// The rule table of `docs/protocol.md`, for callers that hold a valid token.
fn rule(route: Route, caller: Caller) -> Expect {
    let member = matches!(caller, Owner | Admin | Member);
    let outsider = matches!(caller, Removed | Stranger);
    match route {
        // Members read and write; admins manage; the owner owns.
        Route::GetChat
        | Route::Settings
        | Route::Send
        | Route::React
        | Route::Read
        | Route::Leave
            if member =>
        {
            Allowed
        }
        // The fixture's message is the owner's: only its sender edits it;
        // its sender or a group admin deletes it.
        Route::Edit if caller == Owner => Allowed,
        Route::DeleteMessage if matches!(caller, Owner | Admin) => Allowed,
        Route::Edit | Route::DeleteMessage if member => FORBIDDEN,
        Route::RenameChat | Route::AddMembers | Route::RemoveMember
            if matches!(caller, Owner | Admin) =>
        {
            Allowed
        }
        Route::SetRole | Route::DeleteChat if caller == Owner => Allowed,
        Route::RenameChat
        | Route::AddMembers
        | Route::RemoveMember
        | Route::SetRole
        | Route::DeleteChat
            if member =>
        {
            FORBIDDEN
        }
        // Former members read history up to their removal.
        Route::History if member || caller == Removed => Allowed,
        // Where a chat lives is not secret from a logged-in user who holds its id.
        Route::PlacementChat => Allowed,
        // Revoking a device of another user: it is not among the caller's.
        Route::RevokeOthersDevice => NOT_FOUND,
        // Deleting an account asks for its password again.
        Route::DeleteMeWrongPassword => FORBIDDEN,
        // Open to anyone, logged in or not; a lone node is not part of a
        // mesh, so it has nothing to route to.
        Route::Routing => NOT_FOUND,
        _ if CHAT_ROUTES.iter().any(|r| same(*r, route)) && outsider => NOT_MEMBER,
        _ => Allowed,
    }
}

fn same(a: Route, b: Route) -> bool {
    std::mem::discriminant(&a) == std::mem::discriminant(&b)
}

/// One group and the people around it.
struct World {
    base: String,
    owner: Account,
    admin: Account,
    member: Account,
    target: Account,
    removed: Account,
    stranger: Account,
    extra: Account,
    revoked_token: String,
}

#[derive(Clone)]
struct Account {
    user_id: String,
    username: String,
    token: String,
}

struct Fixture {
    chat: String,
    /// The `seq` of the owner's text message.
    hello: u64,
}

impl fmt::Debug for Fixture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.chat)
    }
}

async fn account(base: &str, username: &str) -> Account {
    let client = client::Client::new(base).unwrap();
    let user_id = client
        .register(username, "authz password", None)
        .await
        .unwrap();
    let tokens = client
        .login(username, "authz password", None)
        .await
        .unwrap();
    Account {
        user_id,
        username: username.to_owned(),
        token: tokens.access_token,
    }
}

impl World {
    async fn new(base: &str) -> Self {
        let owner = account(base, "owner").await;
        let admin = account(base, "admin").await;
        let member = account(base, "member").await;
        let target = account(base, "target").await;
        let removed = account(base, "removed").await;
        let stranger = account(base, "stranger").await;
        let extra = account(base, "extra").await;
        // A device that logged in, then was revoked from another device.
        let client = client::Client::new(base).unwrap();
        let doomed = client
            .login("member", "authz password", Some("doomed"))
            .await
            .unwrap();
        client
            .with_token(&member.token)
            .revoke_device(&doomed.device_id)
            .await
            .unwrap();
        Self {
            base: base.to_owned(),
            owner,
            admin,
            member,
            target,
            removed,
            stranger,
            extra,
            revoked_token: doomed.access_token,
        }
    }

    fn token(&self, caller: Caller) -> String {
        match caller {
            Owner => self.owner.token.clone(),
            Admin => self.admin.token.clone(),
            Member => self.member.token.clone(),
            Removed => self.removed.token.clone(),
            Stranger => self.stranger.token.clone(),
            Revoked => self.revoked_token.clone(),
            Expired | Anonymous => String::new(),
        }
    }

    fn account(&self, caller: Caller) -> &Account {
        match caller {
            Owner => &self.owner,
            Admin => &self.admin,
            Member => &self.member,
            Removed => &self.removed,
            _ => &self.stranger,
        }
    }

    /// A group: owner, an admin, two plain members (`member`, `target`), a
    /// removed member, one text message.
    async fn fixture(&self) -> Fixture {
        let owner = &self.owner.token;
        let (status, chat) = call(
            Method::POST,
            &self.base,
            owner,
            "/v1/chats",
            Some(json!({"kind": "group", "title": "authz", "members": [
                self.admin.user_id, self.member.user_id, self.target.user_id, self.removed.user_id,
            ]})),
        )
        .await;
        assert_eq!(status, 201, "{chat}");
        let chat = chat["chat_id"].as_str().unwrap().to_owned();
        let (status, body) = call(
            Method::PATCH,
            &self.base,
            owner,
            &format!("/v1/chats/{chat}/members/{}", self.admin.user_id),
            Some(json!({"role": "admin"})),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let (status, body) = call(
            Method::POST,
            &self.base,
            owner,
            &format!("/v1/chats/{chat}/messages"),
            Some(json!({"client_msg_id": "hello", "text": "hello"})),
        )
        .await;
        assert!(status < 300, "{body}");
        let hello = body["seq"].as_u64().unwrap();
        let (status, body) = call(
            Method::DELETE,
            &self.base,
            owner,
            &format!("/v1/chats/{chat}/members/{}", self.removed.user_id),
            None,
        )
        .await;
        assert_eq!(status, 200, "{body}");
        Fixture { chat, hello }
    }

    /// The request `route` makes as `caller`.
    fn request(
        &self,
        route: Route,
        caller: Caller,
        f: &Fixture,
    ) -> (Method, String, Option<Value>) {
        let (chat, hello) = (&f.chat, f.hello);
        let me = &self.account(caller).user_id;
        let (target, extra) = (&self.target.user_id, &self.extra.user_id);
        match route {
            Route::GetChat => (Method::GET, format!("/v1/chats/{chat}"), None),
            Route::RenameChat => (
                Method::PATCH,
                format!("/v1/chats/{chat}"),
                Some(json!({"title": "renamed"})),
            ),
            Route::AddMembers => (
                Method::POST,
                format!("/v1/chats/{chat}/members"),
                Some(json!({"user_ids": [extra]})),
            ),
            Route::RemoveMember => (
                Method::DELETE,
                format!("/v1/chats/{chat}/members/{target}"),
                None,
            ),
            Route::Leave => (
                Method::DELETE,
                format!("/v1/chats/{chat}/members/{me}"),
                None,
            ),
            Route::SetRole => (
                Method::PATCH,
                format!("/v1/chats/{chat}/members/{target}"),
                Some(json!({"role": "admin"})),
            ),
            Route::Settings => (
                Method::PUT,
                format!("/v1/chats/{chat}/settings"),
                Some(json!({"muted_until": 0})),
            ),
            Route::DeleteChat => (Method::DELETE, format!("/v1/chats/{chat}"), None),
            Route::Send => (
                Method::POST,
                format!("/v1/chats/{chat}/messages"),
                Some(json!({"client_msg_id": "authz-send", "text": "hi"})),
            ),
            Route::Edit => (
                Method::PATCH,
                format!("/v1/chats/{chat}/messages/{hello}"),
                Some(json!({"client_msg_id": "authz-edit", "text": "edited"})),
            ),
            Route::DeleteMessage => (
                Method::DELETE,
                format!("/v1/chats/{chat}/messages/{hello}?client_msg_id=authz-delete"),
                None,
            ),
            Route::React => (
                Method::POST,
                format!("/v1/chats/{chat}/messages/{hello}/reactions"),
                Some(json!({"client_msg_id": "authz-react", "emoji": "👍", "on": true})),
            ),
            Route::History => (Method::GET, format!("/v1/chats/{chat}/messages"), None),
            Route::Read => (
                Method::POST,
                format!("/v1/chats/{chat}/read"),
                Some(json!({"seq": 1})),
            ),
            Route::PlacementChat => (Method::GET, format!("/v1/placement/chats/{chat}"), None),
            Route::Me => (Method::GET, "/v1/me".into(), None),
            Route::UpdateMe => (
                Method::PATCH,
                "/v1/me".into(),
                Some(json!({"status_text": "here"})),
            ),
            Route::Devices => (Method::GET, "/v1/devices".into(), None),
            Route::RevokeOthersDevice => {
                // The owner's device id is the owner's own business.
                (Method::DELETE, "/v1/devices/d_not_yours".into(), None)
            }
            Route::Contacts => (Method::GET, "/v1/contacts".into(), None),
            Route::AddContact => (Method::PUT, format!("/v1/contacts/{target}"), None),
            Route::RemoveContact => (Method::DELETE, format!("/v1/contacts/{target}"), None),
            Route::Blocks => (Method::GET, "/v1/blocks".into(), None),
            Route::Block => (Method::PUT, format!("/v1/blocks/{extra}"), None),
            Route::Unblock => (Method::DELETE, format!("/v1/blocks/{extra}"), None),
            Route::DeleteMeWrongPassword => (
                Method::DELETE,
                "/v1/me".into(),
                Some(json!({"password": "not the password"})),
            ),
            Route::Routing => (Method::GET, "/v1/placement/route".into(), None),
            Route::UserById => (Method::GET, format!("/v1/users/{target}"), None),
            Route::UserByName => (
                Method::GET,
                format!("/v1/users?username={}", self.target.username),
                None,
            ),
            Route::ListChats => (Method::GET, "/v1/chats".into(), None),
            Route::CreateGroup => (
                Method::POST,
                "/v1/chats".into(),
                Some(json!({"kind": "group", "title": "mine", "members": [target]})),
            ),
            Route::Logout => (Method::POST, "/v1/auth/logout".into(), None),
        }
    }
}

async fn check(
    base: &str,
    token: &str,
    (method, path, body): (Method, String, Option<Value>),
    expect: Expect,
    what: String,
) -> Option<String> {
    let (status, answer) = call(method, base, token, &path, body).await;
    let ok = match expect {
        Allowed => (200..300).contains(&status),
        Refused(want, code) => status == want && answer["error"]["code"] == code,
    };
    (!ok).then(|| format!("{what}: expected {expect:?}, got {status} {answer}"))
}

#[tokio::test]
async fn every_route_answers_each_caller_as_the_rule_table_says() {
    let node = Node::start().await;
    let world = World::new(&node.base).await;
    let mut wrong = Vec::new();
    for route in CHAT_ROUTES.into_iter().chain(ACCOUNT_ROUTES) {
        for caller in CHAT_CALLERS {
            // Logout ends the caller's device: last, on its own login.
            let token = if matches!(route, Route::Logout) {
                let client = client::Client::new(&node.base).unwrap();
                client
                    .login(&world.account(caller).username, "authz password", None)
                    .await
                    .unwrap()
                    .access_token
            } else {
                world.token(caller)
            };
            let fixture = world.fixture().await;
            let request = world.request(route, caller, &fixture);
            let what = format!("{route:?} as {caller:?} ({} {})", request.0, request.1);
            if let Some(error) = check(&node.base, &token, request, rule(route, caller), what).await
            {
                wrong.push(error);
            }
        }
    }
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}

/// A node whose access tokens live 3 s, its callers, and a token that was
/// valid and has expired.
async fn short_lived_tokens() -> (Node, World, String) {
    let mut raw = fast_raw();
    raw.auth.access_token_ttl_secs = Some(3);
    let node = Node::start_with(raw).await;
    let world = World::new(&node.base).await;
    let expired = account(&node.base, "expiring").await.token;
    // Expiry is checked to the second: wait out the second it ends in too.
    tokio::time::sleep(std::time::Duration::from_millis(4100)).await;
    (node, world, expired)
}

#[tokio::test]
async fn no_route_serves_a_revoked_device_an_expired_token_or_no_token() {
    let (node, world, expired) = short_lived_tokens().await;
    // Refused before any lookup: the chat need not exist.
    let fixture = Fixture {
        chat: "c_0000000000007000800000000000000a".into(),
        hello: 1,
    };
    let mut wrong = Vec::new();
    for route in CHAT_ROUTES.into_iter().chain(ACCOUNT_ROUTES) {
        for caller in UNAUTHENTICATED {
            let token = match caller {
                Expired => expired.clone(),
                _ => world.token(caller),
            };
            let request = world.request(route, Member, &fixture);
            let what = format!("{route:?} as {caller:?}");
            // Routing needs no token (a client asks it before logging in):
            // a bad one is ignored, and a lone node has nothing to route to.
            let expect = match route {
                Route::Routing => NOT_FOUND,
                _ => UNAUTHORIZED,
            };
            if let Some(error) = check(&node.base, &token, request, expect, what).await {
                wrong.push(error);
            }
        }
    }
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}

/// What a WebSocket frame answers: the `sent` frame, an `error` with this
/// code, or nothing before the answer to the frame sent after it.
#[derive(Clone, Debug, PartialEq)]
enum FrameAnswer {
    Sent,
    Error(String),
    Quiet,
}

async fn answer_to(ws: &mut Ws, frame: Value) -> FrameAnswer {
    ws.send(frame).await;
    ws.send(json!({"type": "ping", "nonce": "after"})).await;
    // A connection's frames are answered in order: the frame's answer, if
    // any, comes before the pong, and nothing of it after.
    let mut answer = None;
    loop {
        let next = ws.next().await;
        match next["type"].as_str() {
            Some("sent") => {
                answer.get_or_insert(FrameAnswer::Sent);
            }
            Some("error") => {
                answer.get_or_insert(FrameAnswer::Error(next["code"].as_str().unwrap().into()));
            }
            Some("pong") if next["nonce"] == "after" => {
                return answer.unwrap_or(FrameAnswer::Quiet);
            }
            _ => {}
        }
    }
}

#[tokio::test]
async fn every_frame_answers_each_caller_as_the_rule_table_says() {
    let node = Node::start().await;
    let world = World::new(&node.base).await;
    let mut wrong = Vec::new();
    for caller in CHAT_CALLERS {
        // A fresh group each: the delete below must find the message.
        let fixture = world.fixture().await;
        let (chat, hello) = (&fixture.chat, fixture.hello);
        let forbidden = FrameAnswer::Error("forbidden".into());
        let mut ws = Ws::connect(&node.base, &world.token(caller)).await;
        let member = matches!(caller, Owner | Admin | Member);
        let refused = FrameAnswer::Error("not_member".into());
        let frames = [
            (
                "send",
                json!({"type": "send", "chat_id": chat, "client_msg_id": format!("ws-{caller:?}"), "text": "hi"}),
                if member {
                    FrameAnswer::Sent
                } else {
                    refused.clone()
                },
            ),
            (
                "read",
                json!({"type": "read", "chat_id": chat, "seq": 1}),
                if member {
                    FrameAnswer::Quiet
                } else {
                    refused.clone()
                },
            ),
            (
                "ack",
                json!({"type": "ack", "chat_id": chat, "seq": 1}),
                if member {
                    FrameAnswer::Quiet
                } else {
                    refused.clone()
                },
            ),
            (
                "typing",
                json!({"type": "typing", "chat_id": chat, "active": true}),
                if member {
                    FrameAnswer::Quiet
                } else {
                    refused.clone()
                },
            ),
            (
                "react",
                json!({"type": "react", "chat_id": chat, "client_msg_id": "ws-react", "target_seq": hello, "emoji": "🎉", "on": true}),
                if member {
                    FrameAnswer::Sent
                } else {
                    refused.clone()
                },
            ),
            (
                "edit",
                json!({"type": "edit", "chat_id": chat, "client_msg_id": "ws-edit", "target_seq": hello, "text": "edited"}),
                match caller {
                    Owner => FrameAnswer::Sent,
                    Admin | Member => forbidden.clone(),
                    _ => refused.clone(),
                },
            ),
            (
                "delete",
                json!({"type": "delete", "chat_id": chat, "client_msg_id": "ws-delete", "target_seq": hello}),
                match caller {
                    Owner | Admin => FrameAnswer::Sent,
                    Member => forbidden.clone(),
                    _ => refused.clone(),
                },
            ),
        ];
        for (name, frame, expect) in frames {
            let got = answer_to(&mut ws, frame).await;
            if got != expect {
                wrong.push(format!(
                    "{name} as {caller:?}: expected {expect:?}, got {got:?}"
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}

#[tokio::test]
async fn the_websocket_refuses_a_revoked_device_an_expired_token_and_no_token() {
    let (node, world, expired) = short_lived_tokens().await;
    for (caller, token) in [
        (Revoked, world.revoked_token.clone()),
        (Expired, expired),
        (Anonymous, String::new()),
    ] {
        let url = format!(
            "{}/v1/ws?token={token}",
            node.base.replacen("http", "ws", 1)
        );
        match tokio_tungstenite::connect_async(url).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                assert_eq!(response.status(), 401, "{caller:?}");
            }
            Err(other) => panic!("{caller:?}: {other}"),
            Ok((mut stream, _)) => {
                // Refused after the upgrade: the first frame must not be `ready`.
                use futures::StreamExt as _;
                let first = stream.next().await;
                let text = format!("{first:?}");
                assert!(!text.contains("\"ready\""), "{caller:?} was served: {text}");
            }
        }
    }
}
