//! Benign synthetic evidence: generated "photos" (smooth shapes and
//! gradients, nothing depicted), the near-duplicates a messenger or an
//! editor makes of them, archives, and hash lists naming them. Tests and
//! `tantalum demo` build whole evidence trees from it, so no real media is
//! ever needed to show the product working.

mod images;
mod tree;

pub use images::{cropped, flat, flipped, jpeg, photo, png, resized, rotated90, watermarked, Rng};
pub use tree::{write_evidence, Expect, Extras, Layout};
