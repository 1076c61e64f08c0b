//! Bytes kept for a snapshot's life, packed into shared chunks: an allocator rounds each
//! allocation up to its size class (an Item's JSON of 1,160 bytes takes a 1,280-byte
//! block), and packing costs each copy its length instead.

use std::cell::RefCell;

use bytes::{Bytes, BytesMut};

/// The size of a chunk; larger copies get an allocation of their own.
const CHUNK: usize = 64 * 1024;

thread_local! {
    /// This thread's chunk: its unused rest, which the next copies fill.
    static REST: RefCell<BytesMut> = RefCell::new(BytesMut::new());
}

/// A copy of `bytes`, in the current chunk of this thread when it fits. The chunk is
/// freed once every copy in it is dropped.
pub fn pack(bytes: &[u8]) -> Bytes {
    if bytes.len() > CHUNK / 8 {
        return Bytes::copy_from_slice(bytes);
    }
    REST.with_borrow_mut(|rest| {
        if rest.capacity() < bytes.len() {
            *rest = BytesMut::with_capacity(CHUNK);
        }
        rest.extend_from_slice(bytes);
        rest.split().freeze()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_share_a_chunk_and_stay_apart() {
        let texts: Vec<Vec<u8>> = (0..2_000)
            .map(|n| format!("item {n}").into_bytes())
            .collect();
        let packed: Vec<Bytes> = texts.iter().map(|t| pack(t)).collect();
        for (text, copy) in texts.iter().zip(&packed) {
            assert_eq!(&copy[..], &text[..]);
        }
        // Neighbours sit end to end in one allocation.
        let (a, b) = (&packed[10], &packed[11]);
        assert_eq!(a.as_ptr().wrapping_add(a.len()), b.as_ptr());
        let large = vec![7; CHUNK];
        assert_eq!(&pack(&large)[..], &large[..]);
        assert_eq!(&pack(b"")[..], b"");
    }
}
