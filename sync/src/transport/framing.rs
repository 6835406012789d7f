//! Length-prefixed frames on QUIC streams (u32 big-endian length, then the
//! body) and the hello exchanged when a connection opens.

use bytes::Bytes;
use protocol::Hlc;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::error::FrameError;

/// The largest hello we accept; a region name and a timestamp fit easily.
pub(crate) const MAX_HELLO: usize = 4 * 1024;

/// What each side says first: who it is and what time it thinks it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Hello {
    pub region: String,
    pub hlc: Hlc,
}

impl Hello {
    pub(crate) fn encode(&self) -> Bytes {
        // A struct of a string and a u64 newtype always serializes.
        Bytes::from(serde_json::to_vec(self).expect("hello serializes to JSON"))
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}

/// Writes one frame. The length check is the caller's contract too, but a
/// frame the peer would reject must never leave.
pub(crate) async fn write_frame<W: AsyncWrite + Unpin>(
    w: &mut W,
    body: &[u8],
    max: usize,
) -> Result<(), FrameError> {
    let len = u32::try_from(body.len())
        .ok()
        .filter(|&l| (l as usize) <= max)
        .ok_or(FrameError::TooLarge {
            len: body.len(),
            max,
        })?;
    w.write_all(&len.to_be_bytes()).await?;
    w.write_all(body).await?;
    Ok(())
}

/// Reads one frame; `None` when the stream ended cleanly between frames.
pub(crate) async fn read_frame<R: AsyncRead + Unpin>(
    r: &mut R,
    max: usize,
) -> Result<Option<Bytes>, FrameError> {
    let mut header = [0u8; 4];
    let mut filled = 0;
    while filled < header.len() {
        let n = r.read(&mut header[filled..]).await?;
        if n == 0 {
            return if filled == 0 {
                Ok(None)
            } else {
                Err(FrameError::Truncated)
            };
        }
        filled += n;
    }
    let len = u32::from_be_bytes(header) as usize;
    if len > max {
        return Err(FrameError::TooLarge { len, max });
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body).await.map_err(|e| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            FrameError::Truncated
        } else {
            FrameError::Io(e)
        }
    })?;
    Ok(Some(Bytes::from(body)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn run<T>(f: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
            .block_on(f)
    }

    proptest! {
        #[test]
        fn frames_round_trip_in_order(bodies in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..20)) {
            let read = run(async {
                let (mut a, mut b) = tokio::io::duplex(64);
                let writer = {
                    let bodies = bodies.clone();
                    tokio::spawn(async move {
                        for body in &bodies {
                            write_frame(&mut a, body, 1024).await.expect("write");
                        }
                    })
                };
                let mut read = Vec::new();
                while let Some(frame) = read_frame(&mut b, 1024).await.expect("read") {
                    read.push(frame.to_vec());
                }
                writer.await.expect("writer");
                read
            });
            prop_assert_eq!(read, bodies);
        }
    }

    #[test]
    fn oversized_frames_are_refused_both_ways() {
        run(async {
            let mut sink = Vec::new();
            let err = write_frame(&mut sink, &[0u8; 11], 10).await;
            assert!(matches!(
                err,
                Err(FrameError::TooLarge { len: 11, max: 10 })
            ));
            assert!(sink.is_empty(), "nothing written for a refused frame");

            let mut wire: &[u8] = &[0, 0, 0, 11, 1, 2, 3];
            let err = read_frame(&mut wire, 10).await;
            assert!(matches!(
                err,
                Err(FrameError::TooLarge { len: 11, max: 10 })
            ));
        });
    }

    #[test]
    fn a_stream_cut_inside_a_frame_is_truncated() {
        run(async {
            let mut header_only: &[u8] = &[0, 0];
            assert!(matches!(
                read_frame(&mut header_only, 10).await,
                Err(FrameError::Truncated)
            ));
            let mut short_body: &[u8] = &[0, 0, 0, 3, 1];
            assert!(matches!(
                read_frame(&mut short_body, 10).await,
                Err(FrameError::Truncated)
            ));
        });
    }

    #[test]
    fn hello_round_trips_with_hex_clock() {
        let hello = Hello {
            region: "eu-west".into(),
            hlc: Hlc::new(1_700_000_000_000, 3),
        };
        let bytes = hello.encode();
        assert_eq!(Hello::decode(&bytes).expect("decode"), hello);
        assert!(Hello::decode(b"{\"region\":1}").is_err());
    }
}
