//! [`Error`]: why an upload or a download was refused or failed.

/// A refused or failed media operation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The upload is over the size limit.
    #[error("the upload is over {limit} bytes")]
    TooLarge {
        /// The limit, in bytes.
        limit: u64,
    },
    /// The upload has no bytes.
    #[error("the upload is empty")]
    Empty,
    /// A request field (file name, content type) is malformed.
    #[error("{0}")]
    Invalid(String),
    /// The bytes are not of the declared content type.
    #[error("the bytes are {sniffed}, not the declared {declared}")]
    TypeMismatch {
        /// The content type the uploader declared.
        declared: String,
        /// What the bytes look like (a content type, or "not a known binary type").
        sniffed: String,
    },
    /// No such media, or not one the caller may read.
    #[error("no such media")]
    NotFound,
    /// The upload's body failed while it arrived (the client went away).
    #[error("reading the upload: {0}")]
    Body(String),
    /// A local file or directory (the spool, the blob directory) failed.
    #[error("local file: {0}")]
    Io(#[from] std::io::Error),
    /// The blob store failed.
    #[error("blob store: {0}")]
    Blobs(#[from] object_store::Error),
    /// The metadata store failed.
    #[error(transparent)]
    Store(#[from] store::StoreError),
    /// A stored metadata record cannot be read.
    #[error(transparent)]
    Corrupt(#[from] crate::codec::CorruptRecord),
}

impl store::AsStoreError for Error {
    fn as_store_error(&self) -> Option<&store::StoreError> {
        match self {
            Self::Store(e) => Some(e),
            _ => None,
        }
    }
}
