//! The member index of an uncompressed tar, read from its 512-byte headers only:
//! ustar names with prefixes, GNU long names (`L`) and PAX extended headers (`x`, `g`)
//! for `path` and `size`. Member data is jumped over, so an index of a 20 GB layer
//! costs a few requests per member at most, and one request for many small members.

use std::future::Future;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use futures::stream::BoxStream;
use tokio::sync::Mutex;

/// Bytes read per request while walking the headers.
const CHUNK: u64 = 64 * 1024;
/// Longest GNU long name or PAX header accepted.
const MAX_EXTENDED: u64 = 64 * 1024;
/// A tar block.
const BLOCK: u64 = 512;

/// One regular file inside a tar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Its path in the archive (`DATA_S2/S2_10000.npy`).
    pub path: String,
    /// Offset of its first byte in the tar.
    pub offset: u64,
    /// Its length in bytes.
    pub size: u64,
    /// Its first bytes (up to 16), when the header read brought them along.
    pub head: Vec<u8>,
}

/// Reads windows of the tar through `read(offset, length)`, keeping the last one.
struct Reader<R> {
    total: u64,
    read: R,
    window: (u64, Bytes),
}

impl<R> Reader<R> {
    /// Up to `length` bytes at `offset` if the last window holds them; never reads.
    fn peek(&self, offset: u64, length: u64) -> Vec<u8> {
        let (start, bytes) = &self.window;
        let end = start + bytes.len() as u64;
        if offset < *start || offset >= end {
            return Vec::new();
        }
        let from = (offset - start) as usize;
        let to = (offset + length).min(end) - start;
        bytes[from..to as usize].to_vec()
    }
}

impl<R, Fut> Reader<R>
where
    R: FnMut(u64, u64) -> Fut,
    Fut: Future<Output = Result<Bytes, String>>,
{
    /// `length` bytes at `offset`, all inside the tar.
    async fn get(&mut self, offset: u64, length: u64) -> Result<Bytes, String> {
        let (start, bytes) = &self.window;
        if offset >= *start && offset + length <= start + bytes.len() as u64 {
            let from = (offset - start) as usize;
            return Ok(bytes.slice(from..from + length as usize));
        }
        let want = length.max(CHUNK).min(self.total - offset);
        let bytes = (self.read)(offset, want).await?;
        if bytes.is_empty() && self.total == u64::MAX {
            // A stream of unknown length ended: the caller decides whether that is clean.
            return Ok(bytes);
        }
        if (bytes.len() as u64) < length {
            return Err(format!(
                "layer ended at byte {} while reading a header",
                offset + bytes.len() as u64
            ));
        }
        self.window = (offset, bytes.clone());
        Ok(bytes.slice(0..length as usize))
    }
}

/// Pending extended attributes for the next entry.
#[derive(Default)]
struct Extended {
    path: Option<String>,
    size: Option<u64>,
}

/// Indexes the regular files of a tar of `total` bytes; at most `max_members`.
pub async fn index<R, Fut>(total: u64, read: R, max_members: usize) -> Result<Vec<Member>, String>
where
    R: FnMut(u64, u64) -> Fut,
    Fut: Future<Output = Result<Bytes, String>>,
{
    let mut reader = Reader {
        total,
        read,
        window: (0, Bytes::new()),
    };
    let mut members = Vec::new();
    let mut next = Extended::default();
    let mut global = Extended::default();
    let mut position = 0u64;
    while position < total {
        if position + BLOCK > total {
            return Err(format!("truncated header at byte {position}"));
        }
        let header = reader.get(position, BLOCK).await?;
        if header.is_empty() || header.iter().all(|&b| b == 0) {
            break;
        }
        check_sum(&header).map_err(|e| format!("header at byte {position}: {e}"))?;
        let declared =
            octal(&header[124..136]).map_err(|e| format!("header at byte {position}: size {e}"))?;
        let size = next.size.or(global.size).unwrap_or(declared);
        let data = position + BLOCK;
        let name = header_name(&header);
        if data.checked_add(size).is_none_or(|end| end > total) {
            return Err(format!(
                "member {name:?} at byte {position} claims {size} bytes, past the layer's end ({total})"
            ));
        }
        match header[156] {
            b'L' | b'x' | b'g' => {
                if size > MAX_EXTENDED {
                    return Err(format!(
                        "extended header at byte {position} is {size} bytes"
                    ));
                }
                let body = reader.get(data, size).await?;
                match header[156] {
                    b'L' => next.path = Some(c_string(&body)),
                    b'x' => pax(&body, &mut next)
                        .map_err(|e| format!("PAX header at byte {position}: {e}"))?,
                    _ => pax(&body, &mut global)
                        .map_err(|e| format!("PAX header at byte {position}: {e}"))?,
                }
            }
            kind => {
                if matches!(kind, b'0' | 0 | b'7') {
                    let path = next
                        .path
                        .take()
                        .or_else(|| global.path.clone())
                        .unwrap_or(name);
                    let head = reader.peek(data, size.min(16));
                    members.push(Member {
                        path,
                        offset: data,
                        size,
                        head,
                    });
                    if members.len() > max_members {
                        return Err(format!("more than {max_members} members"));
                    }
                }
                next = Extended::default();
            }
        }
        position = data + size.div_ceil(BLOCK) * BLOCK;
    }
    Ok(members)
}

/// Indexes a tar read front to back (a decompressed layer): the same walk as [`index`],
/// with member data read and dropped instead of jumped over.
pub async fn index_stream(
    stream: BoxStream<'static, std::io::Result<Bytes>>,
    max_members: usize,
) -> Result<Vec<Member>, String> {
    let sequential = Arc::new(Mutex::new(Sequential {
        stream,
        position: 0,
        pending: Bytes::new(),
    }));
    let read = move |offset: u64, length: u64| {
        let sequential = Arc::clone(&sequential);
        async move { sequential.lock().await.read(offset, length).await }
    };
    index(u64::MAX, read, max_members).await
}

/// A byte stream read at increasing offsets.
struct Sequential {
    stream: BoxStream<'static, std::io::Result<Bytes>>,
    position: u64,
    pending: Bytes,
}

impl Sequential {
    /// Up to `length` bytes at `offset` (fewer at the end); `offset` never goes back.
    async fn read(&mut self, offset: u64, length: u64) -> Result<Bytes, String> {
        if offset < self.position {
            return Err(format!(
                "read at byte {offset} after byte {}",
                self.position
            ));
        }
        let mut skip = offset - self.position;
        let mut out = BytesMut::new();
        while (out.len() as u64) < length {
            if self.pending.is_empty() {
                match self.stream.next().await {
                    Some(Ok(chunk)) => self.pending = chunk,
                    Some(Err(e)) => return Err(format!("decompressing the layer: {e}")),
                    None if skip > 0 => {
                        return Err(format!(
                            "layer ended at byte {}, inside a member",
                            self.position
                        ));
                    }
                    None => break,
                }
                continue;
            }
            if skip > 0 {
                let n = skip.min(self.pending.len() as u64);
                let _ = self.pending.split_to(n as usize);
                skip -= n;
                self.position += n;
                continue;
            }
            let n = (length - out.len() as u64).min(self.pending.len() as u64);
            out.extend_from_slice(&self.pending.split_to(n as usize));
            self.position += n;
        }
        Ok(out.freeze())
    }
}

/// The ustar name: `prefix/name`, or the plain name for old archives.
fn header_name(header: &[u8]) -> String {
    let name = c_string(&header[0..100]);
    let is_ustar = &header[257..262] == b"ustar";
    let prefix = if is_ustar {
        c_string(&header[345..500])
    } else {
        String::new()
    };
    if prefix.is_empty() {
        name
    } else {
        format!("{prefix}/{name}")
    }
}

/// Text up to the first NUL.
fn c_string(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

/// A numeric field: octal text, or base-256 (high bit set) for large sizes.
fn octal(field: &[u8]) -> Result<u64, String> {
    if field.first().is_some_and(|b| b & 0x80 != 0) {
        let mut value: u64 = u64::from(field[0] & 0x7f);
        for &b in &field[1..] {
            value = value
                .checked_mul(256)
                .and_then(|v| v.checked_add(u64::from(b)))
                .ok_or("too large")?;
        }
        return Ok(value);
    }
    let text = c_string(field);
    let text = text.trim_matches(|c: char| c == ' ' || c == '\0');
    if text.is_empty() {
        return Ok(0);
    }
    u64::from_str_radix(text, 8).map_err(|_| format!("{text:?} is not octal"))
}

/// Checks the header checksum (the sum of its bytes with the checksum field as spaces).
fn check_sum(header: &[u8]) -> Result<(), String> {
    let stored = octal(&header[148..156]).map_err(|e| format!("checksum {e}"))?;
    let sum: u64 = header
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                u64::from(b' ')
            } else {
                u64::from(b)
            }
        })
        .sum();
    if sum == stored {
        Ok(())
    } else {
        Err("checksum mismatch (not a tar header)".to_owned())
    }
}

/// Reads PAX records (`<length> <key>=<value>\n`) for `path` and `size`.
fn pax(body: &[u8], into: &mut Extended) -> Result<(), String> {
    let mut rest = body;
    while !rest.is_empty() && rest[0] != 0 {
        let space = rest
            .iter()
            .position(|&b| b == b' ')
            .ok_or("record without a length")?;
        let length: usize = std::str::from_utf8(&rest[..space])
            .ok()
            .and_then(|l| l.parse().ok())
            .filter(|&l| l > space + 1 && l <= rest.len())
            .ok_or("bad record length")?;
        let record = &rest[space + 1..length];
        let record = record.strip_suffix(b"\n").unwrap_or(record);
        if let Some(eq) = record.iter().position(|&b| b == b'=') {
            let value = String::from_utf8_lossy(&record[eq + 1..]).into_owned();
            match &record[..eq] {
                b"path" => into.path = Some(value),
                b"size" => into.size = Some(value.parse().map_err(|_| format!("size {value:?}"))?),
                _ => {}
            }
        }
        rest = &rest[length..];
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tar built by the `tar` crate: GNU long names or PAX as the builder decides.
    fn archive(files: &[(&str, Vec<u8>)], header: fn() -> tar::Header) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (path, data) in files {
            let mut h = header();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_entry_type(tar::EntryType::Regular);
            builder.append_data(&mut h, path, data.as_slice()).unwrap();
        }
        builder.into_inner().unwrap()
    }

    async fn index_of(bytes: &[u8]) -> Result<Vec<Member>, String> {
        let bytes = Bytes::copy_from_slice(bytes);
        let total = bytes.len() as u64;
        index(
            total,
            |offset, len| {
                let slice = bytes.slice(offset as usize..(offset + len) as usize);
                async move { Ok(slice) }
            },
            100,
        )
        .await
    }

    #[tokio::test]
    async fn ustar_and_gnu_long_names() {
        let long = format!("DATA_S2/{}/S2_10000.npy", "deep".repeat(40));
        let files = [
            ("DATA_S2/S2_10000.npy", vec![1u8; 700]),
            (long.as_str(), vec![2u8; 5]),
            ("ANNOTATIONS/TARGET_10000.npy", vec![]),
            ("META/meta.json", b"{}".to_vec()),
        ];
        for header in [
            tar::Header::new_gnu as fn() -> tar::Header,
            tar::Header::new_ustar,
        ] {
            let bytes = archive(&files, header);
            let members = index_of(&bytes).await.unwrap();
            let paths: Vec<&str> = members.iter().map(|m| m.path.as_str()).collect();
            assert_eq!(paths, files.iter().map(|f| f.0).collect::<Vec<_>>());
            for (member, (_, data)) in members.iter().zip(&files) {
                let start = member.offset as usize;
                assert_eq!(&bytes[start..start + member.size as usize], data.as_slice());
            }
        }
    }

    #[tokio::test]
    async fn pax_path_and_size() {
        // A PAX header naming a path longer than ustar allows, written by hand.
        let path = format!("LABELS/{}.tif", "x".repeat(200));
        let record = |key: &str, value: &str| {
            let body = format!(" {key}={value}\n");
            let mut length = body.len() + 1;
            while format!("{length}{body}").len() != length {
                length += 1;
            }
            format!("{length}{body}")
        };
        let pax_body = record("path", &path);
        let mut builder = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(tar::EntryType::XHeader);
        h.set_size(pax_body.len() as u64);
        h.set_path("PaxHeaders/x").unwrap();
        h.set_cksum();
        builder.append(&h, pax_body.as_bytes()).unwrap();
        let mut h = tar::Header::new_ustar();
        h.set_path("short.tif").unwrap();
        h.set_size(3);
        h.set_cksum();
        builder.append(&h, &b"abc"[..]).unwrap();
        let bytes = builder.into_inner().unwrap();
        let members = index_of(&bytes).await.unwrap();
        assert_eq!(members.len(), 1);
        assert_eq!(members[0].path, path);
        assert_eq!(members[0].size, 3);
        assert_eq!(&bytes[members[0].offset as usize..][..3], b"abc");
    }

    #[tokio::test]
    async fn truncated_and_lying_archives_are_errors() {
        let bytes = archive(
            &[("a.tif", vec![7u8; 2000]), ("b.tif", vec![8u8; 10])],
            tar::Header::new_gnu,
        );
        // Cut in the middle of the first member's data.
        let err = index_of(&bytes[..1500]).await.unwrap_err();
        assert!(err.contains("past the layer's end"), "{err}");
        // Cut in the middle of the second header.
        let err = index_of(&bytes[..512 + 2048 + 100]).await.unwrap_err();
        assert!(err.contains("truncated header"), "{err}");
        // A header claiming more bytes than it has: the size field of the first entry
        // rewritten (checksum fixed), so the next "header" is member data.
        let mut lying = bytes.clone();
        let mut header = tar::Header::from_byte_slice(&lying[..512]).clone();
        header.set_size(100);
        header.set_cksum();
        lying[..512].copy_from_slice(header.as_bytes());
        let err = index_of(&lying).await.unwrap_err();
        assert!(err.contains("checksum"), "{err}");
        // Not a tar at all.
        let err = index_of(&[0x42u8; 1024]).await.unwrap_err();
        assert!(err.contains("header at byte 0"), "{err}");
    }

    #[tokio::test]
    async fn streamed_walk_matches_the_ranged_one() {
        let files = [
            ("a/one.npy", vec![1u8; 3000]),
            ("b/two.tif", vec![2u8; 70_000]),
            ("c.json", b"{}".to_vec()),
        ];
        let bytes = archive(&files, tar::Header::new_gnu);
        let chunks: Vec<std::io::Result<Bytes>> = bytes
            .chunks(777)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        let streamed = index_stream(futures::stream::iter(chunks).boxed(), 100)
            .await
            .unwrap();
        assert_eq!(streamed, index_of(&bytes).await.unwrap());
        // A stream cut inside a member's data.
        let cut: Vec<std::io::Result<Bytes>> = vec![Ok(Bytes::copy_from_slice(&bytes[..5000]))];
        assert!(
            index_stream(futures::stream::iter(cut).boxed(), 100)
                .await
                .is_err()
        );
    }
}
