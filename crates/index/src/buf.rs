//! Arrays that live either in memory or in a memory-mapped index file, so a
//! saved index opens without reading or copying it.

use std::ops::Deref;
use std::sync::Arc;

use memmap2::Mmap;

/// Plain old data: any bit pattern is a valid value and there is no padding.
///
/// # Safety
/// Implement only for types with those two properties.
pub unsafe trait Plain: Copy + 'static {}
// SAFETY: integers and arrays of them have no padding and no invalid values.
unsafe impl Plain for u8 {}
unsafe impl Plain for u32 {}
unsafe impl Plain for u64 {}
unsafe impl Plain for [u64; 4] {}

/// A read-only array, owned or mapped.
pub enum Buf<T: Plain> {
    /// Built in memory.
    Owned(Vec<T>),
    /// A section of a mapped file; offset is aligned for `T`.
    Mapped { map: Arc<Mmap>, offset: usize, len: usize },
}

impl<T: Plain> Buf<T> {
    /// The bytes of the array, for writing it out.
    pub fn as_bytes(&self) -> &[u8] {
        let s: &[T] = self;
        // SAFETY: T is Plain, so its memory is initialised bytes.
        unsafe { std::slice::from_raw_parts(s.as_ptr().cast::<u8>(), std::mem::size_of_val(s)) }
    }

    /// A section of a mapped file, checked for bounds and alignment.
    pub fn mapped(map: &Arc<Mmap>, offset: usize, len: usize) -> Option<Self> {
        let bytes = len.checked_mul(std::mem::size_of::<T>())?;
        let end = offset.checked_add(bytes)?;
        if end > map.len() || (map.as_ptr() as usize + offset) % std::mem::align_of::<T>() != 0 {
            return None;
        }
        Some(Buf::Mapped {
            map: Arc::clone(map),
            offset,
            len,
        })
    }
}

impl<T: Plain> Deref for Buf<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        match self {
            Buf::Owned(v) => v,
            // SAFETY: bounds and alignment were checked in `mapped`; T is Plain;
            // the map is read-only and lives as long as self.
            Buf::Mapped { map, offset, len } => unsafe {
                std::slice::from_raw_parts(map.as_ptr().add(*offset).cast::<T>(), *len)
            },
        }
    }
}

impl<T: Plain> Default for Buf<T> {
    fn default() -> Self {
        Buf::Owned(Vec::new())
    }
}
