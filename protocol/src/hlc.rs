//! The wire form of a hybrid logical clock timestamp: 48 bits of
//! milliseconds and 16 bits of logical counter packed in a `u64`, written as
//! 16 lowercase hex digits so that string order is clock order.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A packed HLC timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Hlc(pub u64);

impl Hlc {
    /// Packs milliseconds and a logical counter.
    pub fn new(millis: u64, logical: u16) -> Self {
        Self(((millis & 0xFFFF_FFFF_FFFF) << 16) | u64::from(logical))
    }

    /// The physical part, milliseconds since the Unix epoch.
    pub fn millis(self) -> u64 {
        self.0 >> 16
    }

    /// The logical counter.
    pub fn logical(self) -> u16 {
        (self.0 & 0xFFFF) as u16
    }

    /// Parses the 16-hex-digit wire form.
    pub fn parse(text: &str) -> Option<Self> {
        if text.len() != 16 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        u64::from_str_radix(text, 16).ok().map(Self)
    }
}

impl std::fmt::Display for Hlc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl Serialize for Hlc {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Hlc {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Hlc::parse(&text).ok_or_else(|| serde::de::Error::custom("hlc must be 16 hex digits"))
    }
}

/// In the OpenAPI spec an HLC is its wire form: 16 lowercase hex digits.
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Hlc {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::Type::String)
            .pattern(Some("^[0-9a-f]{16}$"))
            .description(Some(
                "hybrid logical clock: 48 bits of milliseconds, 16 of counter, as hex",
            ))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Hlc {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_order_is_clock_order() {
        let a = Hlc::new(1_700_000_000_000, 5);
        let b = Hlc::new(1_700_000_000_000, 6);
        let c = Hlc::new(1_700_000_000_001, 0);
        let (sa, sb, sc) = (a.to_string(), b.to_string(), c.to_string());
        assert!(sa < sb && sb < sc);
        assert_eq!(sa.len(), 16);
        assert_eq!(Hlc::parse(&sa), Some(a));
        assert_eq!((c.millis(), c.logical()), (1_700_000_000_001, 0));
        assert_eq!(serde_json::to_string(&a).unwrap(), format!("\"{sa}\""));
        assert!(serde_json::from_str::<Hlc>("\"xyz\"").is_err());
    }
}
