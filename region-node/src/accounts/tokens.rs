//! Access tokens (HS256 JWTs, short-lived) and refresh tokens (random,
//! stored only as SHA-256 hashes).

use std::time::Duration;

use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::Error;

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
    pub fn issue(&self, user_id: &str, device_id: &str) -> Result<String, Error> {
        let now = crate::clock::now_ms() / 1000;
        let claims = Claims {
            sub: user_id.to_owned(),
            did: device_id.to_owned(),
            iss: self.region.clone(),
            iat: now,
            exp: now + self.ttl.as_secs(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(Error::from)
    }

    /// The claims of a well-signed, unexpired token.
    pub fn verify(&self, token: &str) -> Result<Claims, Error> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
                    Error::unauthorized("access token expired")
                }
                _ => Error::unauthorized("invalid access token"),
            })
    }
}

/// A fresh random refresh token of `region`: `<region>.` and 256 random
/// bits in URL-safe base64. Refresh tokens are kept only where they were
/// issued; the prefix tells another region where to send the client.
pub fn new_refresh_token(region: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!(
        "{region}.{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// The region that issued a refresh token, if it names one (tokens issued
/// before regions formed a mesh do not).
pub fn refresh_token_region(token: &str) -> Option<&str> {
    token
        .split_once('.')
        .map(|(region, _)| region)
        .filter(|region| !region.is_empty())
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
    fn a_token_is_good_in_every_region_sharing_the_secret() {
        let secret = b"0123456789abcdef0123456789abcdef";
        let eu = TokenIssuer::new(secret, Duration::from_secs(60), "eu-west");
        let us = TokenIssuer::new(secret, Duration::from_secs(60), "us-east");
        let claims = us.verify(&eu.issue("u_1", "d_1").unwrap()).unwrap();
        assert_eq!(claims.iss, "eu-west");
    }

    #[test]
    fn refresh_tokens_are_random_and_hash_stably() {
        let a = new_refresh_token("eu-west");
        assert_ne!(a, new_refresh_token("eu-west"));
        assert_eq!(hash_refresh_token(&a), hash_refresh_token(&a));
        assert_eq!(hash_refresh_token(&a).len(), 64);
    }

    #[test]
    fn refresh_tokens_name_their_region() {
        assert_eq!(
            refresh_token_region(&new_refresh_token("eu-west")),
            Some("eu-west")
        );
        assert_eq!(refresh_token_region("bm90IGEgcmVnaW9u"), None);
        assert_eq!(refresh_token_region(".abc"), None);
    }
}
