//! Access tokens (HS256 JWTs, short-lived) and refresh tokens (random,
//! stored only as SHA-256 hashes).

use std::time::Duration;

use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::error::ApiError;

/// What an access token asserts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// User id.
    pub sub: String,
    /// Device id.
    pub did: String,
    /// Issuing region.
    pub iss: String,
    /// Issued at, seconds since the Unix epoch.
    pub iat: u64,
    /// Expiry, seconds since the Unix epoch.
    pub exp: u64,
}

/// Signs and checks access tokens with the node's secret.
#[derive(Clone)]
pub struct TokenIssuer {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
    region: String,
}

impl TokenIssuer {
    /// An issuer signing with `secret` for tokens that live `ttl`.
    pub fn new(secret: &[u8], ttl: Duration, region: &str) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl,
            region: region.to_owned(),
        }
    }

    /// Lifetime of the tokens this issues, in seconds.
    pub fn ttl_secs(&self) -> u64 {
        self.ttl.as_secs()
    }

    /// A signed access token for this device.
    pub fn issue(&self, user_id: &str, device_id: &str) -> Result<String, ApiError> {
        let now = crate::clock::now_ms() / 1000;
        let claims = Claims {
            sub: user_id.to_owned(),
            did: device_id.to_owned(),
            iss: self.region.clone(),
            iat: now,
            exp: now + self.ttl.as_secs(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| ApiError::internal(&format!("sign token: {e}")))
    }

    /// The claims of a well-signed, unexpired token.
    pub fn verify(&self, token: &str) -> Result<Claims, ApiError> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
                    ApiError::unauthorized("access token expired")
                }
                _ => ApiError::unauthorized("invalid access token"),
            })
    }
}

/// A fresh random refresh token (256 bits, URL-safe base64).
pub fn new_refresh_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The hash a refresh token is stored under.
pub fn hash_refresh_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A fresh random signing secret.
pub fn new_secret() -> Vec<u8> {
    let mut bytes = vec![0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_reject_tampering() {
        let issuer = TokenIssuer::new(
            b"0123456789abcdef0123456789abcdef",
            Duration::from_secs(60),
            "local",
        );
        let token = issuer.issue("u_1", "d_1").unwrap();
        let claims = issuer.verify(&token).unwrap();
        assert_eq!((claims.sub.as_str(), claims.did.as_str()), ("u_1", "d_1"));

        let other = TokenIssuer::new(
            b"another secret, another signature",
            Duration::from_secs(60),
            "local",
        );
        assert!(other.verify(&token).is_err());
        assert!(issuer.verify("not.a.token").is_err());
        let mut tampered = token.clone();
        tampered.push('x');
        assert!(issuer.verify(&tampered).is_err());
    }

    #[test]
    fn refresh_tokens_are_random_and_hash_stably() {
        let a = new_refresh_token();
        assert_ne!(a, new_refresh_token());
        assert_eq!(hash_refresh_token(&a), hash_refresh_token(&a));
        assert_eq!(hash_refresh_token(&a).len(), 64);
    }
}
