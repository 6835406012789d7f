//! Choosing the region a client should connect to: pure functions over the
//! topology, a client's hint and the regions' health.
//!
//! The ranking, best first:
//! 1. healthy regions before unhealthy ones (unhealthy regions stay listed,
//!    flagged, so a client can still try them when nothing else answers);
//! 2. regions the client measured an RTT to, by RTT — a measurement beats any
//!    estimate from geography, and a region a client probed without getting
//!    an answer (so sent no RTT for) is a worse bet than one that answered;
//! 3. the other regions by great-circle distance from the client's location;
//! 4. without a location, topology order (stable, so clients agree).

use std::collections::BTreeMap;
use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use crate::topology::{Location, Topology};

/// Mean radius of the Earth in kilometres (IUGG).
const EARTH_RADIUS_KM: f64 = 6371.0088;

/// Largest RTT a client may report, in ms; anything longer is not a measurement.
pub const MAX_RTT_MS: u32 = 600_000;

/// What a client tells us about where it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RouteHint {
    /// The client's approximate location.
    pub location: Option<Location>,
    /// Round-trip times the client measured, by region name, in ms.
    pub rtt_ms: BTreeMap<String, u32>,
}

/// One region in a routing answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RouteEntry {
    /// Region name.
    pub name: String,
    /// The region's HTTP/WebSocket address.
    pub http: SocketAddr,
    /// Great-circle distance from the client, when it gave a location.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distance_km: Option<f64>,
    /// The RTT the client measured to this region, when it gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtt_ms: Option<u32>,
    /// Whether the region is answering heartbeats.
    pub healthy: bool,
}

/// Why a routing hint was rejected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HintError {
    /// Only one of `lat` and `lon` was given.
    #[error("lat and lon must be given together")]
    HalfLocation,
    /// `lat` or `lon` is not a number.
    #[error("{field} is not a number: `{value}`")]
    NotANumber {
        /// `lat` or `lon`.
        field: &'static str,
        /// The value as given.
        value: String,
    },
    /// `lat` or `lon` is out of range.
    #[error("{field} {value} is outside {range}")]
    OutOfRange {
        /// `lat` or `lon`.
        field: &'static str,
        /// The value as given.
        value: f64,
        /// The allowed range.
        range: &'static str,
    },
    /// An `rtt` item is not `region:milliseconds`.
    #[error("rtt item `{0}` is not region:milliseconds (0..={MAX_RTT_MS})")]
    BadRtt(String),
    /// The same region appears twice in `rtt`.
    #[error("rtt names region `{0}` twice")]
    DuplicateRtt(String),
}

impl RouteHint {
    /// Builds a hint from the query strings a client sends: `lat`, `lon`
    /// (degrees) and `rtt` (`eu-west:35,us-east:80`). Empty strings count as
    /// absent.
    pub fn parse(
        lat: Option<&str>,
        lon: Option<&str>,
        rtt: Option<&str>,
    ) -> Result<Self, HintError> {
        let location = match (present(lat), present(lon)) {
            (None, None) => None,
            (Some(lat), Some(lon)) => Some(Location {
                lat: coordinate("lat", lat, 90.0, "-90..=90")?,
                lon: coordinate("lon", lon, 180.0, "-180..=180")?,
            }),
            _ => return Err(HintError::HalfLocation),
        };
        let rtt_ms = match present(rtt) {
            None => BTreeMap::new(),
            Some(rtt) => parse_rtts(rtt)?,
        };
        Ok(Self { location, rtt_ms })
    }
}

/// The trimmed value, or `None` when absent or blank.
fn present(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|value| !value.is_empty())
}

fn coordinate(
    field: &'static str,
    text: &str,
    limit: f64,
    range: &'static str,
) -> Result<f64, HintError> {
    let value: f64 = text.parse().map_err(|_| HintError::NotANumber {
        field,
        value: text.to_owned(),
    })?;
    if !value.is_finite() || value.abs() > limit {
        return Err(HintError::OutOfRange {
            field,
            value,
            range,
        });
    }
    Ok(value)
}

fn parse_rtts(text: &str) -> Result<BTreeMap<String, u32>, HintError> {
    let mut rtts = BTreeMap::new();
    for item in text
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
    {
        let bad = || HintError::BadRtt(item.to_owned());
        let (name, ms) = item.split_once(':').ok_or_else(bad)?;
        let name = name.trim();
        let ms: u32 = ms.trim().parse().map_err(|_| bad())?;
        if name.is_empty() || ms > MAX_RTT_MS {
            return Err(bad());
        }
        if rtts.insert(name.to_owned(), ms).is_some() {
            return Err(HintError::DuplicateRtt(name.to_owned()));
        }
    }
    Ok(rtts)
}

/// Great-circle distance between two points, by the haversine formula.
pub fn distance_km(a: Location, b: Location) -> f64 {
    let (lat1, lat2) = (a.lat.to_radians(), b.lat.to_radians());
    let dlat = lat2 - lat1;
    let dlon = (b.lon - a.lon).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlon / 2.0).sin().powi(2);
    // Rounding can push h a hair past 1 for antipodal points; asin would return NaN.
    2.0 * EARTH_RADIUS_KM * h.sqrt().min(1.0).asin()
}

/// Every region of `topology`, best first for a client with `hint`.
/// `healthy(name)` says whether a region is answering heartbeats. RTTs for
/// regions the topology does not know are ignored: clients may carry a stale
/// region list.
pub fn rank(
    topology: &Topology,
    hint: &RouteHint,
    healthy: impl Fn(&str) -> bool,
) -> Vec<RouteEntry> {
    let mut ranked: Vec<(usize, RouteEntry)> = topology
        .regions
        .iter()
        .enumerate()
        .map(|(index, region)| {
            let entry = RouteEntry {
                name: region.name.clone(),
                http: region.http,
                // Tenths of a km: finer digits are noise for a lat/lon hint.
                distance_km: hint
                    .location
                    .map(|client| (distance_km(client, region.location) * 10.0).round() / 10.0),
                rtt_ms: hint.rtt_ms.get(&region.name).copied(),
                healthy: healthy(&region.name),
            };
            (index, entry)
        })
        .collect();
    ranked.sort_by(|(index_a, a), (index_b, b)| {
        (!a.healthy)
            .cmp(&!b.healthy)
            .then_with(|| cost(a).0.cmp(&cost(b).0))
            .then_with(|| cost(a).1.total_cmp(&cost(b).1))
            .then_with(|| index_a.cmp(index_b))
    });
    ranked.into_iter().map(|(_, entry)| entry).collect()
}

/// How far a region is, as (kind of evidence, amount): measured RTTs first,
/// then estimated distances, then regions we know nothing about.
fn cost(entry: &RouteEntry) -> (u8, f64) {
    match (entry.rtt_ms, entry.distance_km) {
        (Some(rtt), _) => (0, f64::from(rtt)),
        (None, Some(distance)) => (1, distance),
        (None, None) => (2, 0.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topology() -> Topology {
        Topology::from_yaml(include_str!("../../regions.yaml")).unwrap()
    }

    fn names(entries: &[RouteEntry]) -> Vec<&str> {
        entries.iter().map(|e| e.name.as_str()).collect()
    }

    fn at(lat: f64, lon: f64) -> RouteHint {
        RouteHint {
            location: Some(Location { lat, lon }),
            ..RouteHint::default()
        }
    }

    fn all_healthy(_: &str) -> bool {
        true
    }

    #[test]
    fn distance_matches_known_city_pairs() {
        let paris = Location {
            lat: 48.8566,
            lon: 2.3522,
        };
        let london = Location {
            lat: 51.5074,
            lon: -0.1278,
        };
        let d = distance_km(paris, london);
        assert!((d - 343.5).abs() < 2.0, "{d}");
        assert_eq!(distance_km(paris, paris), 0.0);
        let antipode = Location {
            lat: -48.8566,
            lon: -177.6478,
        };
        let half_way_round = std::f64::consts::PI * EARTH_RADIUS_KM;
        assert!((distance_km(paris, antipode) - half_way_round).abs() < 1.0);
    }

    #[test]
    fn a_client_in_paris_goes_to_eu_west() {
        let ranked = rank(&topology(), &at(48.86, 2.35), all_healthy);
        assert_eq!(names(&ranked), ["eu-west", "us-east", "ap-south"]);
        let d = ranked[0].distance_km.unwrap();
        assert!((700.0..900.0).contains(&d), "{d}");
    }

    #[test]
    fn a_client_in_mumbai_goes_to_ap_south() {
        let ranked = rank(&topology(), &at(19.08, 72.88), all_healthy);
        assert_eq!(names(&ranked), ["ap-south", "eu-west", "us-east"]);
    }

    #[test]
    fn a_client_in_new_york_goes_to_us_east() {
        let ranked = rank(&topology(), &at(40.71, -74.0), all_healthy);
        assert_eq!(names(&ranked)[0], "us-east");
    }

    #[test]
    fn an_unhealthy_region_drops_behind_but_stays_listed() {
        let ranked = rank(&topology(), &at(48.86, 2.35), |name| name != "eu-west");
        assert_eq!(names(&ranked), ["us-east", "ap-south", "eu-west"]);
        assert!(!ranked[2].healthy);
        assert!(ranked[..2].iter().all(|e| e.healthy));
    }

    #[test]
    fn measured_rtts_beat_geography() {
        let mut hint = at(48.86, 2.35);
        hint.rtt_ms = BTreeMap::from([("us-east".to_owned(), 40), ("ap-south".to_owned(), 90)]);
        let ranked = rank(&topology(), &hint, all_healthy);
        assert_eq!(names(&ranked), ["us-east", "ap-south", "eu-west"]);
        assert_eq!(ranked[0].rtt_ms, Some(40));
        assert_eq!(ranked[2].rtt_ms, None);
    }

    #[test]
    fn health_still_outranks_a_good_rtt() {
        let hint = RouteHint {
            location: None,
            rtt_ms: BTreeMap::from([("eu-west".to_owned(), 5)]),
        };
        let ranked = rank(&topology(), &hint, |name| name != "eu-west");
        assert_eq!(names(&ranked), ["us-east", "ap-south", "eu-west"]);
    }

    #[test]
    fn without_a_hint_the_order_is_topology_order_healthy_first() {
        let ranked = rank(&topology(), &RouteHint::default(), |name| name != "us-east");
        assert_eq!(names(&ranked), ["eu-west", "ap-south", "us-east"]);
        assert!(ranked.iter().all(|e| e.distance_km.is_none()));
    }

    #[test]
    fn rtts_for_unknown_regions_are_ignored() {
        let hint = RouteHint::parse(None, None, Some("mars:1,ap-south:70")).unwrap();
        let ranked = rank(&topology(), &hint, all_healthy);
        assert_eq!(names(&ranked), ["ap-south", "eu-west", "us-east"]);
    }

    #[test]
    fn parses_a_full_hint() {
        let hint = RouteHint::parse(
            Some("48.86"),
            Some(" 2.35"),
            Some("eu-west:35, us-east:80,"),
        )
        .unwrap();
        assert_eq!(
            hint.location,
            Some(Location {
                lat: 48.86,
                lon: 2.35
            })
        );
        assert_eq!(
            hint.rtt_ms,
            BTreeMap::from([("eu-west".to_owned(), 35), ("us-east".to_owned(), 80)])
        );
        assert_eq!(
            RouteHint::parse(Some(""), None, Some("")).unwrap(),
            RouteHint::default()
        );
    }

    #[test]
    fn rejects_bad_hints() {
        assert_eq!(
            RouteHint::parse(Some("1"), None, None),
            Err(HintError::HalfLocation)
        );
        assert!(matches!(
            RouteHint::parse(Some("north"), Some("1"), None),
            Err(HintError::NotANumber { field: "lat", .. })
        ));
        for (lat, lon) in [("91", "0"), ("0", "-180.5"), ("NaN", "0"), ("0", "inf")] {
            assert!(
                matches!(
                    RouteHint::parse(Some(lat), Some(lon), None),
                    Err(HintError::OutOfRange { .. })
                ),
                "{lat},{lon}"
            );
        }
        for rtt in [
            "eu-west",
            "eu-west:",
            ":5",
            "eu-west:-1",
            "eu-west:1.5",
            "eu-west:600001",
        ] {
            assert!(
                matches!(
                    RouteHint::parse(None, None, Some(rtt)),
                    Err(HintError::BadRtt(_))
                ),
                "{rtt}"
            );
        }
        assert_eq!(
            RouteHint::parse(None, None, Some("a:1,a:2")),
            Err(HintError::DuplicateRtt("a".to_owned()))
        );
    }
}
