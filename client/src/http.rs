//! [`Client`]: typed calls to the HTTP API: the plumbing, accounts, devices
//! and users. The chat endpoints are in [`crate::chats`].

use protocol::ErrorBody;
use protocol::auth::{
    DeviceInfo, DevicesResponse, LoginRequest, RefreshRequest, RegisterRequest, RegisterResponse,
    TokenResponse,
};
use protocol::users::{Me, UserProfile};
use reqwest::{Method, RequestBuilder, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::ClientError;
use crate::tls::Tls;
use crate::url::encode_component;

/// A client of one region's HTTP API, optionally holding an access token.
#[derive(Clone, Debug)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

impl Client {
    /// A client of the server at `base` (e.g. `http://127.0.0.1:8080`),
    /// trusting the system's root certificates for `https://`.
    pub fn new(base: &str) -> Result<Self, ClientError> {
        Self::with_tls(base, &Tls::system())
    }

    /// A client of the server at `base` that verifies `https://` servers
    /// against `tls`.
    pub fn with_tls(base: &str, tls: &Tls) -> Result<Self, ClientError> {
        let base = base.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(ClientError::Url(format!("{base:?} is not an http(s) URL")));
        }
        Ok(Self {
            http: tls.http_client(),
            base,
            token: None,
        })
    }

    /// The same client, authenticated with `access_token`.
    pub fn with_token(&self, access_token: &str) -> Self {
        Self {
            token: Some(access_token.to_owned()),
            ..self.clone()
        }
    }

    /// The server's base URL.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// The access token in use, if any.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// `POST /v1/auth/register`; answers the new user id.
    pub async fn register(
        &self,
        username: &str,
        password: &str,
        display_name: Option<&str>,
    ) -> Result<String, ClientError> {
        let body = RegisterRequest {
            username: username.to_owned(),
            password: password.to_owned(),
            display_name: display_name.map(str::to_owned),
        };
        let answer: RegisterResponse = self
            .send(Method::POST, "/v1/auth/register", Some(&body))
            .await?;
        Ok(answer.user_id)
    }

    /// `POST /v1/auth/login`: a new device and its tokens.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        device_name: Option<&str>,
    ) -> Result<TokenResponse, ClientError> {
        let body = LoginRequest {
            username: username.to_owned(),
            password: password.to_owned(),
            device_name: device_name.map(str::to_owned),
        };
        self.send(Method::POST, "/v1/auth/login", Some(&body)).await
    }

    /// `POST /v1/auth/refresh`: rotated tokens.
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenResponse, ClientError> {
        let body = RefreshRequest {
            refresh_token: refresh_token.to_owned(),
        };
        self.send(Method::POST, "/v1/auth/refresh", Some(&body))
            .await
    }

    /// `POST /v1/auth/logout`: revokes this client's device.
    pub async fn logout(&self) -> Result<(), ClientError> {
        self.send_empty(Method::POST, "/v1/auth/logout").await
    }

    /// `GET /v1/me`.
    pub async fn me(&self) -> Result<Me, ClientError> {
        self.send(Method::GET, "/v1/me", None::<&()>).await
    }

    /// `GET /v1/devices`.
    pub async fn devices(&self) -> Result<Vec<DeviceInfo>, ClientError> {
        let answer: DevicesResponse = self.send(Method::GET, "/v1/devices", None::<&()>).await?;
        Ok(answer.devices)
    }

    /// `DELETE /v1/devices/{device_id}`.
    pub async fn revoke_device(&self, device_id: &str) -> Result<(), ClientError> {
        let path = format!("/v1/devices/{}", encode_component(device_id));
        self.send_empty(Method::DELETE, &path).await
    }

    /// `GET /v1/users/{user_id}`.
    pub async fn user(&self, user_id: &str) -> Result<UserProfile, ClientError> {
        let path = format!("/v1/users/{}", encode_component(user_id));
        self.send(Method::GET, &path, None::<&()>).await
    }

    /// `GET /v1/users?username=`.
    pub async fn user_by_username(&self, username: &str) -> Result<UserProfile, ClientError> {
        let request = self
            .request(Method::GET, "/v1/users")
            .query(&[("username", username)]);
        decode(request.send().await?).await
    }

    /// A request to `path` with the token attached.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let request = self.http.request(method, format!("{}{path}", self.base));
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// Sends `body` (if any) as JSON and decodes the answer as `T`.
    pub(crate) async fn send<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<T, ClientError> {
        let mut request = self.request(method, path);
        if let Some(body) = body {
            request = request.json(body);
        }
        decode(request.send().await?).await
    }

    /// Sends a request without a body; any success answer is `Ok(())`.
    pub(crate) async fn send_empty(&self, method: Method, path: &str) -> Result<(), ClientError> {
        self.send_ignoring_answer(method, path, None::<&()>).await
    }

    /// Sends `body` (if any) as JSON; any success answer is `Ok(())`, whatever
    /// its body.
    pub(crate) async fn send_ignoring_answer<B: Serialize>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<(), ClientError> {
        let mut request = self.request(method, path);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(error_of(response).await)
        }
    }
}

/// Decodes a success body as `T`, or the protocol error of a failure.
pub async fn decode<T: DeserializeOwned>(response: Response) -> Result<T, ClientError> {
    if !response.status().is_success() {
        return Err(error_of(response).await);
    }
    let status = response.status().as_u16();
    let bytes = response.bytes().await?;
    serde_json::from_slice(&bytes).map_err(|_| ClientError::Unexpected {
        status,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    })
}

/// The [`ClientError`] a failed response carries.
pub async fn error_of(response: Response) -> ClientError {
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    match response.bytes().await {
        Ok(bytes) => match serde_json::from_slice::<ErrorBody>(&bytes) {
            Ok(body) => ClientError::Api {
                status,
                code: body.error.code,
                message: body.error.message,
                retry_after,
            },
            Err(_) => ClientError::Unexpected {
                status,
                body: String::from_utf8_lossy(&bytes).into_owned(),
            },
        },
        Err(e) => ClientError::Transport(e),
    }
}
