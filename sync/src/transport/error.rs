//! The transport's error types: one enum for what the caller's calls can
//! hit, one for certificate handling and one for frame decoding, so callers
//! can tell "peer not connected, retry later" apart from "bad configuration".

use std::io;
use std::path::PathBuf;

use super::Channel;

/// Why a transport call failed.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// No live, admitted connection to this peer right now.
    #[error("peer {peer} is not connected")]
    NotConnected {
        /// The peer region.
        peer: String,
    },
    /// The peer's outbound queue for this channel is full; the caller resends later.
    #[error("send queue to {peer} on {channel:?} is full")]
    QueueFull {
        /// The peer region.
        peer: String,
        /// The channel whose queue is full.
        channel: Channel,
    },
    /// A frame larger than the configured maximum.
    #[error("frame of {len} bytes exceeds the maximum of {max}")]
    FrameTooLarge {
        /// The frame's length.
        len: usize,
        /// The configured maximum.
        max: usize,
    },
    /// A request got no answer within its timeout.
    #[error("request to {peer} timed out")]
    Timeout {
        /// The peer region.
        peer: String,
    },
    /// The peer dropped a request without replying.
    #[error("peer {peer} dropped the request without a reply")]
    RequestDropped {
        /// The peer region.
        peer: String,
    },
    /// Reading or writing a frame failed.
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// The QUIC connection failed.
    #[error("connection: {0}")]
    Connection(#[from] quinn::ConnectionError),
    /// A datagram could not be sent.
    #[error("datagram: {0}")]
    Datagram(#[from] quinn::SendDatagramError),
    /// Binding the UDP socket failed.
    #[error("bind {addr}: {source}")]
    Bind {
        /// The address that could not be bound.
        addr: std::net::SocketAddr,
        /// The OS error.
        source: io::Error,
    },
    /// TLS configuration was rejected by rustls.
    #[error("tls: {0}")]
    Tls(#[from] rustls::Error),
    /// The client certificate verifier could not be built (e.g. an empty CA).
    #[error("client verifier: {0}")]
    Verifier(#[from] rustls::server::VerifierBuilderError),
    /// The TLS configuration lacks the cipher suite QUIC needs for its initial packets.
    #[error("quic crypto: {0}")]
    QuicCrypto(#[from] quinn::crypto::rustls::NoInitialCipherSuite),
    /// Loading or creating certificates failed.
    #[error(transparent)]
    Cert(#[from] CertError),
    /// The configuration is invalid.
    #[error("invalid transport configuration: {0}")]
    Config(String),
}

/// Why loading or creating region certificates failed.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// A PEM file held no usable certificate or key.
    #[error("{path}: {source}")]
    Pem {
        /// The file.
        path: PathBuf,
        /// What was wrong with it.
        source: rustls::pki_types::pem::Error,
    },
    /// Certificate generation or signing failed.
    #[error("certificate generation: {0}")]
    Generate(#[from] rcgen::Error),
    /// The certificate is not valid for the region it is meant for.
    #[error("certificate is not valid for region {region}: {reason}")]
    WrongRegion {
        /// The region.
        region: String,
        /// What rustls said.
        reason: String,
    },
    /// The region name cannot be turned into a DNS name.
    #[error("invalid region name {0:?}: use 1-63 lowercase letters, digits and '-'")]
    RegionName(String),
    /// Another process was creating the dev CA and did not finish in time.
    #[error("dev CA in {0} was not completed by another process")]
    CaIncomplete(PathBuf),
}

/// Why a frame could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The stream failed underneath.
    #[error("stream: {0}")]
    Io(#[from] io::Error),
    /// The stream ended in the middle of a frame.
    #[error("stream ended inside a frame")]
    Truncated,
    /// The length prefix announced more than the maximum.
    #[error("frame of {len} bytes exceeds the maximum of {max}")]
    TooLarge {
        /// The announced length.
        len: usize,
        /// The configured maximum.
        max: usize,
    },
}
