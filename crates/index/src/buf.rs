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
// SAFETY: integers and arrays of them have no padding and no invalid values;
// Bits and Line are such arrays whose size is a multiple of their alignment.
unsafe impl Plain for u8 {}
unsafe impl Plain for u32 {}
unsafe impl Plain for u64 {}
unsafe impl Plain for crate::bits::Bits {}
unsafe impl Plain for crate::segment::Line {}

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
        if end > map.len() || !(map.as_ptr() as usize + offset).is_multiple_of(std::mem::align_of::<T>()) {
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

/// A zeroed vector whose pages the kernel is asked to back with 2 MiB huge
/// pages. The index reads its big arrays at random: with 4 KiB pages nearly
/// every probe also misses the TLB, and the page walk costs as much as the
/// read. The advice is a hint; where it is refused nothing changes.
pub fn huge_zeroed<T: Plain>(len: usize) -> Vec<T> {
    let mut v: Vec<T> = Vec::with_capacity(len);
    // Before the first write: the kernel only backs untouched pages with huge ones.
    advise_huge(v.as_mut_ptr().cast(), len * std::mem::size_of::<T>());
    // SAFETY: T is Plain, so all-zero bytes are a valid T.
    v.extend((0..len).map(|_| unsafe { std::mem::zeroed::<T>() }));
    v
}

#[cfg(target_os = "linux")]
fn advise_huge(ptr: *mut u8, bytes: usize) {
    const HUGE: usize = 2 << 20;
    if bytes < 2 * HUGE {
        return;
    }
    let start = (ptr as usize).div_ceil(HUGE) * HUGE;
    let end = (ptr as usize + bytes) / HUGE * HUGE;
    if end > start {
        // SAFETY: the range lies inside an allocation we own; madvise only
        // changes how the kernel backs it.
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_huge(_ptr: *mut u8, _bytes: usize) {}
