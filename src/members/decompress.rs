//! Streaming decompression of `tar+gzip` and `tar+zstd` layers, chunk by chunk, never
//! holding a layer in memory.

use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt};
use tokio::io::BufReader;
use tokio_util::io::{ReaderStream, StreamReader};

use super::Compression;

/// The decompressed bytes of a layer's byte stream.
pub fn decompressed(
    stream: BoxStream<'static, std::io::Result<Bytes>>,
    compression: Compression,
) -> BoxStream<'static, std::io::Result<Bytes>> {
    let reader = BufReader::new(StreamReader::new(stream));
    match compression {
        Compression::None => ReaderStream::new(reader).boxed(),
        Compression::Gzip => {
            let mut decoder = async_compression::tokio::bufread::GzipDecoder::new(reader);
            decoder.multiple_members(true);
            ReaderStream::new(decoder).boxed()
        }
        Compression::Zstd => {
            ReaderStream::new(async_compression::tokio::bufread::ZstdDecoder::new(reader)).boxed()
        }
    }
}
