//! PDQ perceptual hashing on a luma buffer, bit-exact with Meta's C++ reference
//! (`pdq/cpp` in facebook/ThreatExchange).
//!
//! PDQ turns an image into 256 bits: the luma plane is blurred by a Jarosz
//! tent filter (two passes of box filters along rows and columns), decimated
//! to 64×64, transformed by the 16 lowest non-DC frequencies of a DCT in each
//! direction, and each of the 256 coefficients becomes one bit: set when it is
//! above the median. A quality score (0–100) measures gradient energy so that
//! flat images, whose hashes are noise, can be ignored.
//!
//! Bit-exactness is the point of this crate. Hash lists in the field are made
//! with Meta's tools, and a hash that differs by a few bits loses matches at
//! the margin. Every floating-point operation here happens in the same order
//! and precision as in the reference (f32, no fused multiply-add), which is
//! why some loops look less clever than they could. Loops are only reordered
//! where each output still sees the same sequence of operations.
//!
//! This crate knows nothing of files or decoders: callers hand it luma.
//! `tantalum-media` decodes images into exactly the pixels the reference sees.

mod dihedral;
mod hash256;

pub use dihedral::{Dct16, Dihedral};
pub use hash256::{Hash256, ParseHashError};

/// Images with a side shorter than this get the zero hash and quality 0, as in the reference.
pub const MIN_HASHABLE_DIM: usize = 5;

/// Quality below which hashes are conventionally not matched (Meta's convention).
pub const DEFAULT_QUALITY_THRESHOLD: u8 = 50;

/// The Hamming distance at or below which two PDQ hashes are conventionally a near match.
pub const DEFAULT_MATCH_DISTANCE: u32 = 31;

const JAROSZ_PASSES: usize = 2;
const LUMA_R: f32 = 0.299;
const LUMA_G: f32 = 0.587;
const LUMA_B: f32 = 0.114;

/// What can go wrong when hashing a buffer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PdqError {
    /// The buffer does not hold `width × height` values.
    #[error("luma buffer has {len} values, expected {width}x{height}")]
    BufferSize {
        /// Values in the buffer.
        len: usize,
        /// Declared width.
        width: usize,
        /// Declared height.
        height: usize,
    },
    /// The declared size is beyond what the hasher takes without a buffer
    /// ([`Hasher::MAX_SIDE`]) or than memory can address.
    #[error("an image of {width}x{height} is too large to hash")]
    TooLarge {
        /// Declared width.
        width: usize,
        /// Declared height.
        height: usize,
    },
}

/// A PDQ hash with its quality score.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PdqHash {
    /// The 256-bit hash.
    pub hash: Hash256,
    /// Gradient-energy quality, 0–100.
    pub quality: u8,
}

/// The eight dihedral hashes of one image with its quality score.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DihedralHashes {
    /// Hashes in the order of [`Dihedral::ALL`].
    pub hashes: [Hash256; 8],
    /// Gradient-energy quality, 0–100.
    pub quality: u8,
}

impl DihedralHashes {
    /// The hash of one transform.
    pub fn get(&self, which: Dihedral) -> Hash256 {
        let idx = Dihedral::ALL
            .iter()
            .position(|d| *d == which)
            .expect("ALL lists every transform");
        self.hashes[idx]
    }
}

/// The weights [`luma`] gives R, G and B, for converters that compute it
/// in vectors: `(r · w[0] + g · w[1]) + b · w[2]` in f32, in that order.
pub const LUMA_FROM_RGB: [f32; 3] = [LUMA_R, LUMA_G, LUMA_B];

/// Luma of one RGB pixel, computed as the reference does (f32, in this order).
#[inline(always)]
pub fn luma(r: u8, g: u8, b: u8) -> f32 {
    LUMA_R * r as f32 + LUMA_G * g as f32 + LUMA_B * b as f32
}

/// The 16×64 DCT basis (frequencies 1..=16 of a 64-point DCT-II), built as the
/// reference builds it: an f32 scale factor times an f64 cosine, rounded to f32.
fn dct_matrix() -> &'static [[f32; 64]; 16] {
    static MATRIX: std::sync::OnceLock<[[f32; 64]; 16]> = std::sync::OnceLock::new();
    MATRIX.get_or_init(|| {
        let scale = (2.0f64 / 64.0).sqrt() as f32;
        let mut m = [[0f32; 64]; 16];
        for (i, row) in m.iter_mut().enumerate() {
            for (j, v) in row.iter_mut().enumerate() {
                let angle = (std::f64::consts::PI / 2.0 / 64.0) * (i + 1) as f64 * (2 * j + 1) as f64;
                *v = (scale as f64 * angle.cos()) as f32;
            }
        }
        m
    })
}

/// Computes PDQ hashes. Holds scratch space so a thread can hash many images
/// without allocating each time.
#[derive(Default)]
pub struct Hasher {
    /// The 64 sampled columns after the last row pass, and their column filter.
    narrow: Vec<f32>,
    column_sums: Vec<f32>,
    strips: Strips,
    /// The last rows of the first row pass, which the first column pass
    /// reads, in tiles (see [`RingRows`]).
    ring: Vec<f32>,
    /// Output rows of the first column pass not yet filtered along rows,
    /// transposed as a strip. Its own buffer, because a strip of them can
    /// take more than one strip of input, whose row pass uses the others.
    pending: Vec<f32>,
    /// Rows a caller's fill function writes into, and a 64×64 image
    /// assembled from its rows or strips.
    input: Vec<f32>,
}

/// Where the luma comes from: a whole plane, or a function that writes rows
/// on request.
enum Source<'a> {
    Plane(&'a [f32]),
    Rows(&'a mut dyn FnMut(usize, &mut [f32])),
    Strips(&'a mut dyn FnMut(usize, usize, &mut [f32])),
}

impl Hasher {
    /// Rows [`Hasher::hash_rows`] asks for at a time: even, so a 4:2:0
    /// video frame's rows come in whole chroma pairs.
    pub const ROWS_PER_FILL: usize = STRIP;

    /// The longest side [`Hasher::hash_rows`] takes (2²⁰ pixels, far beyond
    /// any image or video frame format).
    pub const MAX_SIDE: usize = 1 << 20;

    /// A hasher with empty scratch space.
    pub fn new() -> Self {
        Self::default()
    }

    /// Hashes a row-major luma buffer of `width × height` values, as the
    /// reference's `pdqHash256FromFloatLuma` does.
    pub fn hash(&mut self, luma: &[f32], width: usize, height: usize) -> Result<PdqHash, PdqError> {
        check_size(luma, width, height)?;
        Ok(self.hash_source(Source::Plane(luma), width, height))
    }

    /// Hashes a `width × height` image whose luma `fill` writes on request,
    /// without the image ever being held whole: `fill(first_row, rows)`
    /// must write the `rows.len() / width` rows from `first_row` on,
    /// row-major. Rows are asked for in order, each once, in runs of
    /// [`Hasher::ROWS_PER_FILL`] rows starting at a multiple of it (the last
    /// run may be shorter), except that a 64×64 image is asked for whole.
    /// The hash is the one [`Hasher::hash`] gives for the same luma.
    ///
    /// A decoder that converts pixels to luma this way keeps the whole
    /// computation in cache: on video frames that is worth a good part of
    /// the hashing time (`cargo bench -p tantalum-pdq --bench frames`).
    ///
    /// Sides over [`Hasher::MAX_SIDE`] are refused ([`PdqError::TooLarge`]):
    /// with no buffer to show the size is real, a declared size alone must
    /// not make the hasher allocate without bound.
    pub fn hash_rows(
        &mut self,
        width: usize,
        height: usize,
        mut fill: impl FnMut(usize, &mut [f32]),
    ) -> Result<PdqHash, PdqError> {
        check_streamed_size(width, height)?;
        Ok(self.hash_source(Source::Rows(&mut fill), width, height))
    }

    /// Rows [`Hasher::hash_strips`] asks for at a time, and the distance
    /// between a column's values in a strip.
    pub const STRIP_ROWS: usize = STRIP;

    /// Hashes a `width × height` image whose luma `fill` writes a strip of
    /// rows at a time, transposed: `fill(first_row, rows, strip)` must
    /// write the value of row `first_row + i`, column `x`, at
    /// `strip[x * STRIP_ROWS + i]`, for every `i < rows` and every column
    /// ([`store_rows_in_strip`] does that for eight rows and columns).
    /// Strips are asked for in order from row 0, each of
    /// [`Hasher::STRIP_ROWS`] rows but perhaps the last; lanes from `rows`
    /// on are never read, whatever they hold. The hash is the one
    /// [`Hasher::hash`] gives for the same luma.
    ///
    /// The first filter runs along rows with rows side by side in vectors,
    /// so luma is transposed before it is filtered. A converter that makes
    /// luma in registers can transpose it there, sparing a pass over
    /// memory that [`Hasher::hash_rows`] has to make: about 8 % of vPDQ's
    /// own time on video frames.
    ///
    /// Sizes are refused as by [`Hasher::hash_rows`].
    pub fn hash_strips(
        &mut self,
        width: usize,
        height: usize,
        mut fill: impl FnMut(usize, usize, &mut [f32]),
    ) -> Result<PdqHash, PdqError> {
        check_streamed_size(width, height)?;
        Ok(self.hash_source(Source::Strips(&mut fill), width, height))
    }

    fn hash_source(&mut self, mut source: Source<'_>, width: usize, height: usize) -> PdqHash {
        if width < MIN_HASHABLE_DIM || height < MIN_HASHABLE_DIM {
            return PdqHash {
                hash: Hash256::ZERO,
                quality: 0,
            };
        }
        let block = if width == 64 && height == 64 {
            // The reference skips the blur for inputs already 64×64 (only on
            // this path: its dihedral path always blurs).
            let mut b = [[0f32; 64]; 64];
            let plane = match &mut source {
                Source::Plane(plane) => plane,
                Source::Rows(fill) => {
                    self.input.resize(64 * 64, 0.0);
                    fill(0, &mut self.input[..64 * 64]);
                    &self.input[..64 * 64]
                }
                Source::Strips(fill) => {
                    self.input.resize(64 * 64, 0.0);
                    self.strips.fit(64);
                    for first in (0..64).step_by(STRIP) {
                        fill(first, STRIP, &mut self.strips.rows);
                        from_strip(&self.strips.rows, 64, &mut self.input[first * 64..(first + STRIP) * 64]);
                    }
                    &self.input[..64 * 64]
                }
            };
            for (row, src) in b.iter_mut().zip(plane.chunks_exact(64)) {
                row.copy_from_slice(src);
            }
            b
        } else {
            self.blur_and_decimate(source, width, height)
        };
        let quality = quality_metric(&block);
        let dct = dct64_to_16(&block);
        PdqHash {
            hash: bits_from_dct(&dct),
            quality,
        }
    }

    /// Hashes a luma buffer and derives all eight dihedral hashes from one DCT,
    /// as the reference's `pdqDihedralHash256esFromFloatLuma` does.
    pub fn hash_dihedral(&mut self, luma: &[f32], width: usize, height: usize) -> Result<DihedralHashes, PdqError> {
        check_size(luma, width, height)?;
        if width < MIN_HASHABLE_DIM || height < MIN_HASHABLE_DIM {
            return Ok(DihedralHashes {
                hashes: [Hash256::ZERO; 8],
                quality: 0,
            });
        }
        let block = self.blur_and_decimate(Source::Plane(luma), width, height);
        let quality = quality_metric(&block);
        let dct = dct64_to_16(&block);
        let mut hashes = [Hash256::ZERO; 8];
        for (out, d) in hashes.iter_mut().zip(Dihedral::ALL) {
            *out = bits_from_dct(&d.apply(&dct));
        }
        Ok(DihedralHashes { hashes, quality })
    }

    /// Two passes of box filters along rows then columns, then 64×64 sampling.
    ///
    /// The image streams through the passes a strip of [`STRIP`] rows at a
    /// time: row filter, then the column filter as far as the rows so far
    /// allow, then the second row filter on each finished strip of its
    /// output. Only a strip, the column filter's window of rows and the 64
    /// sampled columns are held, so a video frame is filtered in the cache
    /// instead of being carried through memory four times. Every value sees
    /// the same operations in the same order as in the reference's
    /// pass-by-pass loops (the tests compare them bit for bit).
    fn blur_and_decimate(&mut self, mut source: Source<'_>, width: usize, height: usize) -> [[f32; 64]; 64] {
        const { assert!(JAROSZ_PASSES == 2, "the streamed passes are written out for two") };
        let window_along_rows = jarosz_window(width, 64);
        let window_along_cols = jarosz_window(height, 64);
        // The last row pass only has to produce the 64 columns decimation
        // reads: its row sums still run over every pixel in order, but only
        // those columns are divided, stored and filtered down.
        let columns: [usize; 64] = std::array::from_fn(|j| decimation_index(j, width));
        // The column filter needs its window of rows behind the strip being
        // written; a multiple of STRIP so that no strip wraps around.
        // Steps go eight at a time, so a group may still need rows up to
        // seven steps older than one step at a time would.
        let ring_rows = (window_along_cols + STRIP + GROUP).div_ceil(STRIP) * STRIP;
        let Hasher {
            narrow,
            column_sums,
            strips,
            ring,
            pending,
            input,
        } = self;
        strips.fit(width);
        let padded = width.div_ceil(GROUP) * GROUP;
        ring.resize(ring_rows * padded, 0.0);
        pending.resize(STRIP * width, 0.0);
        narrow.resize(2 * 64 * height, 0.0);
        let (narrow, narrow_out) = narrow.split_at_mut(64 * height);
        let mut column_pass = ColumnStream::new(height, width, window_along_cols, column_sums);
        for first in (0..height).step_by(STRIP) {
            let rows = STRIP.min(height - first);
            match &mut source {
                Source::Plane(plane) => {
                    to_strip(&plane[first * width..(first + rows) * width], width, &mut strips.rows)
                }
                Source::Rows(fill) => {
                    input.resize(STRIP * width, 0.0);
                    fill(first, &mut input[..rows * width]);
                    to_strip(&input[..rows * width], width, &mut strips.rows);
                }
                Source::Strips(fill) => fill(first, rows, &mut strips.rows[..width * STRIP]),
            }
            let slot = first % ring_rows;
            box_strip_to_tiles(
                &strips.rows,
                &mut ring[slot * padded..(slot + STRIP) * padded],
                rows,
                width,
                window_along_rows,
            );
            let input = RingRows {
                ring,
                ring_rows,
                available: first + rows,
            };
            while let Some((done_first, done_rows)) = column_pass.run(input, pending) {
                box_strip_at(
                    pending,
                    &mut strips.filtered[..64 * STRIP],
                    width,
                    window_along_rows,
                    &columns,
                    &mut strips.sums,
                );
                let out = &mut narrow[done_first * 64..(done_first + done_rows) * 64];
                from_strip(&strips.filtered[..64 * STRIP], 64, out);
            }
        }
        box_columns(
            narrow,
            &mut narrow_out[..64 * height],
            64,
            height,
            window_along_cols,
            column_sums,
        );
        let filtered = &narrow_out[..64 * height];
        let mut block = [[0f32; 64]; 64];
        for (out_i, row) in block.iter_mut().enumerate() {
            let in_i = decimation_index(out_i, height);
            row.copy_from_slice(&filtered[in_i * 64..(in_i + 1) * 64]);
        }
        block
    }
}

/// The first row pass's output so far, for every row below `available`
/// that the column filter may still read: row `r` at slot `r % ring_rows`,
/// in tiles (see [`ToTiles`]): each run of [`STRIP`] slots holds tiles of
/// eight columns of its [`STRIP`] rows, the row's eight values contiguous
/// in its tile. The column filter reads eight columns of a row at a time,
/// so the tiles serve it as well as rows would, and the row filter can
/// write them whole.
#[derive(Clone, Copy)]
struct RingRows<'a> {
    ring: &'a [f32],
    ring_rows: usize,
    available: usize,
}

/// The first pass's column filter ([`box_columns`]) run as its input rows
/// arrive. It takes the same steps in the same order, so every output is bit
/// for bit the same, but it reads its input from a ring of the last rows and
/// hands its output over a strip at a time.
struct ColumnStream<'a> {
    phases: BoxPhases,
    height: usize,
    width: usize,
    step: usize,
    li: usize,
    ri: usize,
    oi: usize,
    count: usize,
    sums: &'a mut Vec<f32>,
}

impl<'a> ColumnStream<'a> {
    fn new(height: usize, width: usize, window: usize, sums: &'a mut Vec<f32>) -> Self {
        sums.clear();
        sums.resize(width, 0.0);
        ColumnStream {
            phases: BoxPhases::new(height, window),
            height,
            width,
            step: 0,
            li: 0,
            ri: 0,
            oi: 0,
            count: 0,
            sums,
        }
    }

    /// Takes steps while the input rows they read are below
    /// `input.available`, writing output row `o` transposed into lane
    /// `o % STRIP` of `strip` (as [`to_strip`] would lay it out), eight
    /// rows at a time. Stops with `Some((first, rows))` when a strip of
    /// output is complete (the last may be shorter), which the caller must
    /// take before calling again; `None` when it needs more input or is done.
    fn run(&mut self, input: RingRows<'_>, strip: &mut [f32]) -> Option<(usize, usize)> {
        #[cfg(target_arch = "x86_64")]
        if vector_filters() {
            // SAFETY: the CPU has AVX2, the only requirement of this function.
            return unsafe { self.run_avx2(input, strip) };
        }
        self.run_portable::<false>(input, strip)
    }

    /// The loops compiled for 8-lane vectors, their sliding steps eight at
    /// a time by [`column_slides_avx2`] (identical results: the same
    /// operations on each value in the same order).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn run_avx2(&mut self, input: RingRows<'_>, strip: &mut [f32]) -> Option<(usize, usize)> {
        self.run_portable::<true>(input, strip)
    }

    /// `AVX2` must be true only where the CPU has AVX2 (only `run_avx2`
    /// passes it): it sends full groups of sliding steps to
    /// [`column_slides_avx2`].
    #[inline(always)]
    fn run_portable<const AVX2: bool>(&mut self, input: RingRows<'_>, strip: &mut [f32]) -> Option<(usize, usize)> {
        let RingRows {
            ring,
            ring_rows,
            available,
        } = input;
        let width = self.width;
        let padded = width.div_ceil(GROUP) * GROUP;
        // Row `r` from its first value on: the value at column `x` is at
        // `x / GROUP * TILE + x % GROUP`.
        let row = |r: usize| {
            let slot = r % ring_rows;
            &ring[(slot - slot % STRIP) * padded + slot % STRIP * GROUP..]
        };
        let at = |x: usize| x / GROUP * TILE + x % GROUP;
        let (silent, grown) = (self.phases.grow_silent, self.phases.grow_silent + self.phases.grow);
        let slid = grown + self.phases.slide;
        let total = slid + self.phases.shrink;
        while self.step < silent {
            if self.ri >= available {
                return None;
            }
            let values = row(self.ri);
            for (x, s) in self.sums.iter_mut().enumerate() {
                *s += values[at(x)];
            }
            self.count += 1;
            self.ri += 1;
            self.step += 1;
        }
        while self.step < total {
            // The next (up to) eight steps, each making one output row: the
            // rows they add and subtract and the count they divide by, in
            // the order `box_columns` takes them.
            let rows = GROUP.min(total - self.step);
            let empty: &[f32] = &[];
            let mut adds = [empty; GROUP];
            let mut subs = [empty; GROUP];
            let mut counts = [1f32; GROUP];
            let (mut li, mut ri, mut count) = (self.li, self.ri, self.count);
            for k in 0..rows {
                let step = self.step + k;
                if step < slid && ri >= available {
                    return None;
                }
                if step < grown {
                    count += 1;
                    adds[k] = row(ri);
                    ri += 1;
                } else if step < slid {
                    adds[k] = row(ri);
                    subs[k] = row(li);
                    li += 1;
                    ri += 1;
                } else {
                    count -= 1;
                    subs[k] = row(li);
                    li += 1;
                }
                counts[k] = count as f32;
            }
            let lane = self.oi % STRIP;
            let mut x = 0;
            #[cfg(target_arch = "x86_64")]
            if AVX2 && rows == GROUP && self.step >= grown && self.step + GROUP <= slid {
                debug_assert!(std::arch::is_x86_feature_detected!("avx2"));
                // SAFETY: AVX2, as `AVX2` promises; sizes checked within.
                x = unsafe { column_slides_avx2(&adds, &subs, counts[0], self.sums, strip, lane, width) };
            }
            while x + GROUP <= width {
                // Eight columns' sums through the eight steps, then the 8×8
                // block of outputs stored transposed.
                let mut sums: [f32; GROUP] = self.sums[x..x + GROUP].try_into().expect("8 sums");
                let mut out = [[0f32; GROUP]; GROUP];
                for k in 0..rows {
                    if let Some(add) = adds[k].get(at(x)..at(x) + GROUP) {
                        for (s, &v) in sums.iter_mut().zip(add) {
                            *s += v;
                        }
                    }
                    if let Some(sub) = subs[k].get(at(x)..at(x) + GROUP) {
                        for (s, &v) in sums.iter_mut().zip(sub) {
                            *s -= v;
                        }
                    }
                    for (o, &s) in out[k].iter_mut().zip(&sums) {
                        *o = s / counts[k];
                    }
                }
                self.sums[x..x + GROUP].copy_from_slice(&sums);
                store_transposed(&out, &mut strip[x * STRIP + lane..], STRIP);
                x += GROUP;
            }
            for x in x..width {
                let mut s = self.sums[x];
                for k in 0..rows {
                    if let Some(&v) = adds[k].get(at(x)) {
                        s += v;
                    }
                    if let Some(&v) = subs[k].get(at(x)) {
                        s -= v;
                    }
                    strip[x * STRIP + lane + k] = s / counts[k];
                }
                self.sums[x] = s;
            }
            (self.li, self.ri, self.count) = (li, ri, count);
            self.step += rows;
            self.oi += rows;
            if self.oi.is_multiple_of(STRIP) || self.oi == self.height {
                let done = (self.oi - 1) % STRIP + 1;
                return Some((self.oi - done, done));
            }
        }
        None
    }
}

/// Eight sliding steps of the column filter over every full group of
/// eight columns: each column's sum adds its value in `adds[k]` and
/// subtracts the one in `subs[k]`, then is divided by `count`, as
/// `run_portable` does, with the sums held in a register through the eight
/// steps. Returns the columns done.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn column_slides_avx2(
    adds: &[&[f32]; GROUP],
    subs: &[&[f32]; GROUP],
    count: f32,
    sums: &mut [f32],
    strip: &mut [f32],
    lane: usize,
    width: usize,
) -> usize {
    use core::arch::x86_64::*;
    let groups = width / GROUP;
    if groups == 0 {
        return 0;
    }
    let last = (groups - 1) * TILE + GROUP;
    assert!(adds.iter().chain(subs).all(|r| r.len() >= last));
    assert!(sums.len() >= groups * GROUP);
    assert!(lane + GROUP <= STRIP && strip.len() >= (groups * GROUP - 1) * STRIP + lane + GROUP);
    let c = _mm256_set1_ps(count);
    let dst = strip.as_mut_ptr();
    for (g, sum) in sums[..groups * GROUP].chunks_exact_mut(GROUP).enumerate() {
        let off = g * TILE;
        // SAFETY: eight values at `off` inside every row, and the strip's
        // positions of these columns (asserted above).
        unsafe {
            let columns = slide_eight(
                sum.try_into().expect("8 sums"),
                |k| adds[k].as_ptr().add(off),
                |k| subs[k].as_ptr().add(off),
                c,
            );
            // Output row k of column g * GROUP + j goes to lane `lane + k`
            // of the strip's position g * GROUP + j.
            for (j, column) in columns.into_iter().enumerate() {
                _mm256_storeu_ps(dst.add((g * GROUP + j) * STRIP + lane), column);
            }
        }
    }
    groups * GROUP
}

/// Eight sliding steps of eight sums, each adding the eight values at
/// `add(k)`, subtracting those at `sub(k)` and dividing by `count`; the
/// eight quotients of each sum come back together, transposed (`[j]` lane
/// `k`: sum `j` after step `k`).
///
/// # Safety
/// AVX2, and eight readable values at every `add(k)` and `sub(k)`, k < 8.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn slide_eight(
    sum: &mut [f32; GROUP],
    add: impl Fn(usize) -> *const f32,
    sub: impl Fn(usize) -> *const f32,
    count: core::arch::x86_64::__m256,
) -> [core::arch::x86_64::__m256; GROUP] {
    use core::arch::x86_64::*;
    // SAFETY: the caller's promise.
    unsafe {
        let mut s = _mm256_loadu_ps(sum.as_ptr());
        let mut step = |k: usize| {
            s = _mm256_add_ps(s, _mm256_loadu_ps(add(k)));
            s = _mm256_sub_ps(s, _mm256_loadu_ps(sub(k)));
            _mm256_div_ps(s, count)
        };
        let out = [step(0), step(1), step(2), step(3), step(4), step(5), step(6), step(7)];
        _mm256_storeu_ps(sum.as_mut_ptr(), s);
        transpose_8x8_registers(out)
    }
}

/// `out[j]` lane `k` = `rows[k]` lane `j`: an 8×8 block transposed in
/// registers (24 shuffles, no memory).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
#[inline]
fn transpose_8x8_registers(rows: [core::arch::x86_64::__m256; 8]) -> [core::arch::x86_64::__m256; 8] {
    use core::arch::x86_64::*;
    let [o0, o1, o2, o3, o4, o5, o6, o7] = rows;
    let (t0, t1) = (_mm256_unpacklo_ps(o0, o1), _mm256_unpackhi_ps(o0, o1));
    let (t2, t3) = (_mm256_unpacklo_ps(o2, o3), _mm256_unpackhi_ps(o2, o3));
    let (t4, t5) = (_mm256_unpacklo_ps(o4, o5), _mm256_unpackhi_ps(o4, o5));
    let (t6, t7) = (_mm256_unpacklo_ps(o6, o7), _mm256_unpackhi_ps(o6, o7));
    let (u0, u1) = (_mm256_shuffle_ps::<0x44>(t0, t2), _mm256_shuffle_ps::<0xEE>(t0, t2));
    let (u2, u3) = (_mm256_shuffle_ps::<0x44>(t1, t3), _mm256_shuffle_ps::<0xEE>(t1, t3));
    let (u4, u5) = (_mm256_shuffle_ps::<0x44>(t4, t6), _mm256_shuffle_ps::<0xEE>(t4, t6));
    let (u6, u7) = (_mm256_shuffle_ps::<0x44>(t5, t7), _mm256_shuffle_ps::<0xEE>(t5, t7));
    [
        _mm256_permute2f128_ps::<0x20>(u0, u4),
        _mm256_permute2f128_ps::<0x20>(u1, u5),
        _mm256_permute2f128_ps::<0x20>(u2, u6),
        _mm256_permute2f128_ps::<0x20>(u3, u7),
        _mm256_permute2f128_ps::<0x31>(u0, u4),
        _mm256_permute2f128_ps::<0x31>(u1, u5),
        _mm256_permute2f128_ps::<0x31>(u2, u6),
        _mm256_permute2f128_ps::<0x31>(u3, u7),
    ]
}

/// Whether the filters take their AVX2 forms: on CPUs with AVX2, unless a
/// test has asked this thread for the portable forms, which CPUs without
/// it run and which would otherwise go untested on machines that have it.
#[cfg(target_arch = "x86_64")]
fn vector_filters() -> bool {
    #[cfg(test)]
    if tests::PORTABLE_FILTERS.get() {
        return false;
    }
    std::arch::is_x86_feature_detected!("avx2")
}

/// Output rows the column stream makes together: one 8×8 block per eight
/// columns, transposed in registers on its way into the strip.
const GROUP: usize = 8;
const _: () = assert!(STRIP.is_multiple_of(GROUP));

/// Values in a tile of the first row pass's output: eight columns of a
/// strip's rows (see [`RingRows`]).
const TILE: usize = STRIP * GROUP;

/// `dst[k * stride + j] = block[j][k]`: an 8×8 block stored transposed.
#[inline(always)]
fn store_transposed(block: &[[f32; GROUP]; GROUP], dst: &mut [f32], stride: usize) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx") {
        // SAFETY: the CPU has AVX; the block's 64 values lie inside both (checked within).
        return unsafe { store_transposed_avx(block, dst, stride) };
    }
    for (j, row) in block.iter().enumerate() {
        for (k, &v) in row.iter().enumerate() {
            dst[k * stride + j] = v;
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
unsafe fn store_transposed_avx(block: &[[f32; GROUP]; GROUP], dst: &mut [f32], stride: usize) {
    assert!(dst.len() >= 7 * stride + GROUP);
    // SAFETY: the block's 64 values, and 8 runs of 8 inside `dst` (asserted).
    unsafe { transpose_8x8_avx(block.as_ptr().cast(), GROUP, dst.as_mut_ptr(), stride) }
}

/// Writes eight rows' values at eight columns into a strip as
/// [`Hasher::hash_strips`] lays it out: `rows[i][j]`, the value of row
/// `first_lane + i` (counted from the strip's first row) at column
/// `first_column + j * column_step`, goes to
/// `strip[(first_column + j * column_step) * STRIP_ROWS + first_lane + i]`.
/// A `column_step` of 2 takes the even or odd columns of sixteen, as a
/// converter working in 32-bit lanes on pairs of 16-bit pixels makes them.
///
/// # Panics
/// If a lane or a column falls outside the strip.
#[inline]
pub fn store_rows_in_strip(
    strip: &mut [f32],
    first_lane: usize,
    first_column: usize,
    column_step: usize,
    rows: &[[f32; 8]; 8],
) {
    assert!(first_lane <= STRIP - 8 && column_step > 0, "lanes past the strip");
    // Checked, so that no wrapped product lets a huge step past the test.
    let columns = strip.len() / STRIP;
    let last_column = column_step.checked_mul(7).and_then(|c| c.checked_add(first_column));
    assert!(last_column.is_some_and(|c| c < columns), "columns past the strip");
    let stride = column_step * STRIP;
    let last = (first_column + 7 * column_step) * STRIP + first_lane + 8;
    let dst = &mut strip[first_column * STRIP + first_lane..last];
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx") {
        // SAFETY: the CPU has AVX; eight runs of eight at `stride` fit in
        // `dst` (asserted above), and the block is 8×8.
        return unsafe { transpose_8x8_avx(rows.as_ptr().cast(), 8, dst.as_mut_ptr(), stride) };
    }
    for (i, row) in rows.iter().enumerate() {
        for (j, &v) in row.iter().enumerate() {
            dst[j * stride + i] = v;
        }
    }
}

/// `dst[j * dst_stride + i] = src[i * src_stride + j]` for i, j < 8, in
/// registers.
///
/// # Safety
/// AVX, and eight runs of eight values at both strides inside what the
/// pointers point into.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
#[inline]
unsafe fn transpose_8x8_avx(src: *const f32, src_stride: usize, dst: *mut f32, dst_stride: usize) {
    use core::arch::x86_64::*;
    // SAFETY: the caller's promise.
    unsafe {
        // Rows i and i + 4 share a register (half each), loaded so: the
        // 128-bit lane crossing is done by the loads, which leaves 16
        // shuffles instead of 24 on the one shuffle port.
        let pair = |i: usize, half: usize| {
            let low = _mm_loadu_ps(src.add(i * src_stride + half));
            let high = _mm_loadu_ps(src.add((i + 4) * src_stride + half));
            _mm256_insertf128_ps::<1>(_mm256_castps128_ps256(low), high)
        };
        let store = |j: usize, v: __m256| _mm256_storeu_ps(dst.add(j * dst_stride), v);
        for half in [0, 4] {
            let (a0, a1, a2, a3) = (pair(0, half), pair(1, half), pair(2, half), pair(3, half));
            let (t0, t1) = (_mm256_unpacklo_ps(a0, a1), _mm256_unpackhi_ps(a0, a1));
            let (t2, t3) = (_mm256_unpacklo_ps(a2, a3), _mm256_unpackhi_ps(a2, a3));
            store(half, _mm256_shuffle_ps::<0x44>(t0, t2));
            store(half + 1, _mm256_shuffle_ps::<0xEE>(t0, t2));
            store(half + 2, _mm256_shuffle_ps::<0x44>(t1, t3));
            store(half + 3, _mm256_shuffle_ps::<0xEE>(t1, t3));
        }
    }
}

/// The sizes [`Hasher::hash_rows`] and [`Hasher::hash_strips`] take: with
/// no buffer to show the size is real, a declared size alone must not make
/// the hasher allocate without bound.
fn check_streamed_size(width: usize, height: usize) -> Result<(), PdqError> {
    let addressable = width.checked_mul(height).and_then(|n| n.checked_mul(4)).is_some();
    if width > Hasher::MAX_SIDE || height > Hasher::MAX_SIDE || !addressable {
        return Err(PdqError::TooLarge { width, height });
    }
    Ok(())
}

fn check_size(luma: &[f32], width: usize, height: usize) -> Result<(), PdqError> {
    if width.checked_mul(height) != Some(luma.len()) {
        return Err(PdqError::BufferSize {
            len: luma.len(),
            width,
            height,
        });
    }
    Ok(())
}

fn jarosz_window(old_dim: usize, new_dim: usize) -> usize {
    old_dim.div_ceil(2 * new_dim)
}

fn decimation_index(out: usize, in_len: usize) -> usize {
    (((out as f64 + 0.5) * in_len as f64) / 64.0) as usize
}

/// The phases of the reference's `box1DFloat`: a window that grows from half
/// size, slides, then shrinks, so edges average over the pixels that exist.
struct BoxPhases {
    grow_silent: usize,
    grow: usize,
    slide: usize,
    shrink: usize,
}

impl BoxPhases {
    fn new(len: usize, window: usize) -> Self {
        let half = (window + 2) / 2;
        BoxPhases {
            grow_silent: half - 1,
            grow: window - half + 1,
            slide: len - window,
            shrink: half - 1,
        }
    }
}

/// The reference's `box1DFloat` on one contiguous run, which the row and
/// column filters are checked against.
#[cfg(test)]
fn box_1d(input: &[f32], output: &mut [f32], window: usize) {
    let p = BoxPhases::new(input.len(), window);
    let (mut li, mut ri, mut oi) = (0usize, 0usize, 0usize);
    let mut sum = 0f32;
    let mut count = 0usize;
    for _ in 0..p.grow_silent {
        sum += input[ri];
        count += 1;
        ri += 1;
    }
    for _ in 0..p.grow {
        sum += input[ri];
        count += 1;
        output[oi] = sum / count as f32;
        ri += 1;
        oi += 1;
    }
    for _ in 0..p.slide {
        sum += input[ri];
        sum -= input[li];
        output[oi] = sum / count as f32;
        li += 1;
        ri += 1;
        oi += 1;
    }
    for _ in 0..p.shrink {
        sum -= input[li];
        count -= 1;
        output[oi] = sum / count as f32;
        li += 1;
        oi += 1;
    }
}

/// Rows filtered together: a strip of this many rows is transposed so that
/// its rows become the columns of a narrow plane, which the column filter
/// then runs as vectors (four 8-lane chains, so the adder's latency is
/// hidden). Each row still sees exactly its own operations in its own order.
const STRIP: usize = 32;
const _: () = assert!(STRIP.is_multiple_of(8) && STRIP.is_multiple_of(2));

/// Scratch space of the row filters.
#[derive(Default)]
struct Strips {
    /// A strip transposed: `width` rows of [`STRIP`] values.
    rows: Vec<f32>,
    /// The last row pass's 64 positions of a strip, still transposed.
    filtered: Vec<f32>,
    sums: Vec<f32>,
}

impl Strips {
    fn fit(&mut self, width: usize) {
        self.rows.resize(width * STRIP, 0.0);
        self.filtered.resize(64 * STRIP, 0.0);
    }
}

/// `box_1d` along every row.
#[cfg(test)]
fn box_rows(input: &[f32], output: &mut [f32], width: usize, window: usize, strips: &mut Strips) {
    strips.fit(width);
    strips.filtered.resize(width.max(64) * STRIP, 0.0);
    for (src, dst) in input.chunks(width * STRIP).zip(output.chunks_mut(width * STRIP)) {
        to_strip(src, width, &mut strips.rows);
        box_columns(
            &strips.rows,
            &mut strips.filtered,
            STRIP,
            width,
            window,
            &mut strips.sums,
        );
        from_strip(&strips.filtered, width, dst);
    }
}

/// Like [`box_rows`], but stores only the given (ascending) columns of each
/// row, 64 to a row of `out`. The running sums are the same, so the stored
/// values are bit for bit those [`box_rows`] would store there.
#[cfg(test)]
fn box_rows_at(
    input: &[f32],
    out: &mut [f32],
    width: usize,
    window: usize,
    columns: &[usize; 64],
    strips: &mut Strips,
) {
    strips.fit(width);
    for (src, dst) in input.chunks(width * STRIP).zip(out.chunks_mut(64 * STRIP)) {
        to_strip(src, width, &mut strips.rows);
        box_strip_at(
            &strips.rows,
            &mut strips.filtered[..64 * STRIP],
            width,
            window,
            columns,
            &mut strips.sums,
        );
        from_strip(&strips.filtered[..64 * STRIP], 64, dst);
    }
}

/// Transposes up to [`STRIP`] rows of `width` values into `strip`
/// (`strip[x * STRIP + row] = rows[row * width + x]`). Lanes past the last
/// row keep whatever they held: they are filtered but never read back.
fn to_strip(rows: &[f32], width: usize, strip: &mut [f32]) {
    let lanes = rows.len() / width;
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx") {
        // SAFETY: the CPU has AVX; the indices stay within both slices (checked below).
        return unsafe { transpose_avx(rows, width, lanes, STRIP, strip, width) };
    }
    transpose_scalar(rows, width, lanes, STRIP, strip, 0, width)
}

/// The inverse of [`to_strip`], for as many rows as `rows` holds.
fn from_strip(strip: &[f32], width: usize, rows: &mut [f32]) {
    let lanes = rows.len() / width;
    // Reading the strip as `width` rows of STRIP values, its first `lanes`
    // columns are the rows wanted.
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx") {
        // SAFETY: as in `to_strip`.
        return unsafe { transpose_avx(strip, STRIP, width, width, rows, lanes) };
    }
    transpose_scalar(strip, STRIP, width, width, rows, 0, lanes)
}

/// `dst[c * dst_stride + r] = src[r * src_stride + c]` for `r < src_rows`,
/// `c` from `first_col` to `cols`.
fn transpose_scalar(
    src: &[f32],
    src_stride: usize,
    src_rows: usize,
    dst_stride: usize,
    dst: &mut [f32],
    first_col: usize,
    cols: usize,
) {
    for r in 0..src_rows {
        for c in first_col..cols {
            dst[c * dst_stride + r] = src[r * src_stride + c];
        }
    }
}

/// [`transpose_scalar`] over all `cols` columns, by 8×8 blocks in registers.
/// Pure data movement: the values are copied bit for bit.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
unsafe fn transpose_avx(
    src: &[f32],
    src_stride: usize,
    src_rows: usize,
    dst_stride: usize,
    dst: &mut [f32],
    cols: usize,
) {
    assert!(src_rows == 0 || src.len() >= (src_rows - 1) * src_stride + cols);
    assert!(cols == 0 || dst.len() >= (cols - 1) * dst_stride + src_rows);
    let (full_rows, full_cols) = (src_rows / 8 * 8, cols / 8 * 8);
    let (sp, dp) = (src.as_ptr(), dst.as_mut_ptr());
    // SAFETY: called only with rows r..r+8 and columns c..c+8 inside both
    // slices (the asserts above and the loops below).
    let block = |r: usize, c: usize| unsafe {
        transpose_8x8_avx(
            sp.add(r * src_stride + c),
            src_stride,
            dp.add(c * dst_stride + r),
            dst_stride,
        )
    };
    // The inner loop runs over the short side (a strip's 32 rows or its 32
    // lanes), so each turn of the outer loop fills whole cache lines of the
    // output. Rows outermost over a wide strip wrote every line of the
    // transposed strip a quarter at a time, four times over, from beyond L1:
    // PDQ of a 480×720 frame took 17–20 % longer (`--bench frames`).
    if full_rows < full_cols {
        for c in (0..full_cols).step_by(8) {
            for r in (0..full_rows).step_by(8) {
                block(r, c);
            }
        }
    } else {
        for r in (0..full_rows).step_by(8) {
            for c in (0..full_cols).step_by(8) {
                block(r, c);
            }
        }
    }
    // The columns past the last full block, for the rows done above; then the
    // rows past the last full block, every column.
    transpose_scalar(src, src_stride, full_rows, dst_stride, dst, full_cols, cols);
    for r in full_rows..src_rows {
        for c in 0..cols {
            dst[c * dst_stride + r] = src[r * src_stride + c];
        }
    }
}

/// The column filter of [`box_columns_portable`] over a transposed strip
/// (`lanes` = [`STRIP`] wide, `len` long), dividing and storing only at the
/// positions `columns` names: output row k holds position `columns[k]`.
///
/// The running sums are written out a second time here on purpose: one
/// recurrence shared with [`box_columns_portable`] through a store callback
/// measured 15–25 % slower over whole frames (`cargo bench -p tantalum-pdq
/// --bench frames`), since that one must divide inside its update loop.
fn box_strip_at(strip: &[f32], out: &mut [f32], len: usize, window: usize, columns: &[usize; 64], sums: &mut Vec<f32>) {
    #[cfg(target_arch = "x86_64")]
    if vector_filters() {
        // SAFETY: the CPU has AVX2, the only requirement of this function.
        return unsafe { box_strip_at_avx2(strip, out, len, window, columns) };
    }
    box_strip_at_portable(strip, out, len, window, columns, sums)
}

/// [`box_strip_at_portable`] written for 8-lane vectors, the same
/// operations on each lane in the same order. The strip's 32 sums stay in
/// four registers through the whole row: compiled from the portable loops
/// they went through memory at every step, and the store-to-load latency
/// chained the steps together (`perf record` of `--bench frames`: the pass
/// took 10 % of vPDQ's hashing, 5 % now).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn box_strip_at_avx2(strip: &[f32], out: &mut [f32], len: usize, window: usize, columns: &[usize; 64]) {
    use core::arch::x86_64::*;
    // The phases keep every position read below `len` only for such
    // windows (a wider one would wrap `len - window` around).
    assert!(
        window >= 1 && window <= len,
        "a window of {window} over {len} positions"
    );
    assert!(strip.len() >= len * STRIP && out.len() >= 64 * STRIP);
    let p = BoxPhases::new(len, window);
    let base = strip.as_ptr();
    let dst = out.as_mut_ptr();
    // SAFETY (all loads): the phases read only positions below `len`
    // (the window is asserted within 1..=len), which lie inside `strip`.
    let ld = |i: usize, k: usize| unsafe { _mm256_loadu_ps(base.add(i * STRIP + 8 * k)) };
    // The strip's 32 sums, four vectors kept in registers from step to step.
    let add = |s: [__m256; 4], i: usize| -> [__m256; 4] { std::array::from_fn(|k| _mm256_add_ps(s[k], ld(i, k))) };
    let sub = |s: [__m256; 4], i: usize| -> [__m256; 4] { std::array::from_fn(|k| _mm256_sub_ps(s[k], ld(i, k))) };
    let mut s = [_mm256_setzero_ps(); 4];
    let mut next = 0usize;
    let mut store = |s: [__m256; 4], oi: usize, count: usize| {
        if next < 64 && columns[next] == oi {
            // SAFETY: AVX2 (this function's own requirement); `out` holds 64 positions (asserted).
            next = unsafe { store_at_avx2(&s, dst, columns, next, oi, count) };
        }
    };
    let (mut li, mut ri, mut oi) = (0usize, 0usize, 0usize);
    let mut count = 0usize;
    for _ in 0..p.grow_silent {
        s = add(s, ri);
        count += 1;
        ri += 1;
    }
    for _ in 0..p.grow {
        count += 1;
        s = add(s, ri);
        store(s, oi, count);
        ri += 1;
        oi += 1;
    }
    for _ in 0..p.slide {
        s = sub(add(s, ri), li);
        store(s, oi, count);
        li += 1;
        ri += 1;
        oi += 1;
    }
    for _ in 0..p.shrink {
        count -= 1;
        s = sub(s, li);
        store(s, oi, count);
        li += 1;
        oi += 1;
    }
}

/// Stores the quotients of `s` at every position from `next` on that
/// `columns` names as `oi`; returns the next position. Kept out of line so
/// that its divisions are not hoisted into the loop that calls it.
///
/// # Safety
/// AVX2, and `dst` valid for writes of 64 positions of [`STRIP`] values.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline(never)]
unsafe fn store_at_avx2(
    s: &[core::arch::x86_64::__m256; 4],
    dst: *mut f32,
    columns: &[usize; 64],
    mut next: usize,
    oi: usize,
    count: usize,
) -> usize {
    use core::arch::x86_64::*;
    let c = _mm256_set1_ps(count as f32);
    while next < 64 && columns[next] == oi {
        for (k, &v) in s.iter().enumerate() {
            // SAFETY: the caller's promise: 64 positions of STRIP lanes at `dst`.
            unsafe { _mm256_storeu_ps(dst.add(next * STRIP + 8 * k), _mm256_div_ps(v, c)) };
        }
        next += 1;
    }
    next
}

#[inline(always)]
fn box_strip_at_portable(
    strip: &[f32],
    out: &mut [f32],
    len: usize,
    window: usize,
    columns: &[usize; 64],
    sums: &mut Vec<f32>,
) {
    let p = BoxPhases::new(len, window);
    sums.clear();
    sums.resize(STRIP, 0.0);
    let sums: &mut [f32; STRIP] = sums.as_mut_slice().try_into().expect("STRIP sums");
    let row = |i: usize| -> &[f32; STRIP] { strip[i * STRIP..(i + 1) * STRIP].try_into().expect("strip row") };
    let mut next = 0usize;
    let mut store = |sums: &[f32; STRIP], oi: usize, count: usize| {
        while next < 64 && columns[next] == oi {
            let c = count as f32;
            for (o, s) in out[next * STRIP..(next + 1) * STRIP].iter_mut().zip(sums) {
                *o = *s / c;
            }
            next += 1;
        }
    };
    let (mut li, mut ri, mut oi) = (0usize, 0usize, 0usize);
    let mut count = 0usize;
    for _ in 0..p.grow_silent {
        for (s, &v) in sums.iter_mut().zip(row(ri)) {
            *s += v;
        }
        count += 1;
        ri += 1;
    }
    for _ in 0..p.grow {
        count += 1;
        for (s, &v) in sums.iter_mut().zip(row(ri)) {
            *s += v;
        }
        store(sums, oi, count);
        ri += 1;
        oi += 1;
    }
    for _ in 0..p.slide {
        for ((s, &add), &sub) in sums.iter_mut().zip(row(ri)).zip(row(li)) {
            *s += add;
            *s -= sub;
        }
        store(sums, oi, count);
        li += 1;
        ri += 1;
        oi += 1;
    }
    for _ in 0..p.shrink {
        count -= 1;
        for (s, &sub) in sums.iter_mut().zip(row(li)) {
            *s -= sub;
        }
        store(sums, oi, count);
        li += 1;
        oi += 1;
    }
}

/// `box_1d` down every column at once: each column sees the same operations
/// in the same order as the reference's strided loop, but whole rows are
/// processed together, which the compiler vectorises and the cache likes.
fn box_columns(input: &[f32], output: &mut [f32], width: usize, height: usize, window: usize, sums: &mut Vec<f32>) {
    let output = Plane { output, width };
    #[cfg(target_arch = "x86_64")]
    if vector_filters() {
        // SAFETY: the CPU has AVX2, the only requirement of this function.
        return unsafe { box_columns_avx2(input, output, width, height, window, sums) };
    }
    box_columns_portable(input, output, width, height, window, sums)
}

/// The row filter over a transposed strip (`len` positions of [`STRIP`]
/// lanes, of which the first `lanes` are rows), its output written back
/// as the rows' tiles (see [`ToTiles`]).
///
/// Writing the filtered strip whole and transposing it back into image
/// rows cost about 5 % of vPDQ's own time: the strip is larger than L1 at
/// common video widths, and the rows were written in scattered pieces.
fn box_strip_to_tiles(strip: &[f32], tiles: &mut [f32], lanes: usize, len: usize, window: usize) {
    let output = ToTiles {
        block: [0.0; TILE],
        tiles,
        lanes,
        len,
    };
    #[cfg(target_arch = "x86_64")]
    if vector_filters() {
        // SAFETY: the CPU has AVX2, the only requirement of this function.
        return unsafe { box_lanes_avx2(strip, output, len, window) };
    }
    box_lanes_portable::<false>(strip, output, len, window)
}

/// Where a column filter's output rows go.
trait RowSink {
    /// The `width` values output row `oi` is written into.
    fn row(&mut self, oi: usize) -> &mut [f32];
    /// Row `oi` is written.
    fn done(&mut self, oi: usize);
    /// Where rows `oi..oi + GROUP` may be written at once as a tile (see
    /// [`ToTiles`]), with the lanes that are rows; `None` if not as tiles.
    fn whole_tile(&mut self, _oi: usize) -> Option<(&mut [f32], usize)> {
        None
    }
}

/// Output rows into a row-major plane.
struct Plane<'a> {
    output: &'a mut [f32],
    width: usize,
}

impl RowSink for Plane<'_> {
    #[inline(always)]
    fn row(&mut self, oi: usize) -> &mut [f32] {
        &mut self.output[oi * self.width..(oi + 1) * self.width]
    }

    #[inline(always)]
    fn done(&mut self, _oi: usize) {}
}

/// Output rows of a transposed strip (positions of [`STRIP`] lanes) into
/// tiles of the rows they are the lanes of: eight positions at a time,
/// value `(lane, position)` at `position / GROUP * TILE + lane * GROUP +
/// position % GROUP`. Where eight sliding steps fill a tile, the AVX2 form
/// writes it whole from registers ([`RowSink::whole_tile`]); other tiles
/// are assembled in a block that stays in L1, then written whole.
struct ToTiles<'a> {
    block: [f32; TILE],
    tiles: &'a mut [f32],
    lanes: usize,
    len: usize,
}

impl RowSink for ToTiles<'_> {
    #[inline(always)]
    fn row(&mut self, oi: usize) -> &mut [f32] {
        let j = oi % GROUP;
        &mut self.block[j * STRIP..(j + 1) * STRIP]
    }

    #[inline(always)]
    fn done(&mut self, oi: usize) {
        if oi % GROUP != GROUP - 1 && oi + 1 != self.len {
            return;
        }
        let positions = oi % GROUP + 1;
        let tile = &mut self.tiles[oi / GROUP * TILE..][..TILE];
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx") {
            // SAFETY: the CPU has AVX; the indices stay within both slices (checked within).
            return unsafe { transpose_avx(&self.block, STRIP, positions, GROUP, tile, self.lanes) };
        }
        transpose_scalar(&self.block, STRIP, positions, GROUP, tile, 0, self.lanes)
    }

    #[inline(always)]
    fn whole_tile(&mut self, oi: usize) -> Option<(&mut [f32], usize)> {
        if !oi.is_multiple_of(GROUP) || oi + GROUP > self.len {
            return None;
        }
        Some((&mut self.tiles[oi / GROUP * TILE..][..TILE], self.lanes))
    }
}

/// The same loops compiled for 8-lane vectors. Adds, subtractions and
/// divisions are per lane and IEEE either way (no fused multiply-add is
/// enabled), so the results are identical to the portable build.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn box_columns_avx2(
    input: &[f32],
    output: impl RowSink,
    width: usize,
    height: usize,
    window: usize,
    sums: &mut Vec<f32>,
) {
    box_columns_portable(input, output, width, height, window, sums)
}

/// [`box_lanes_portable`] compiled for 8-lane vectors, whole tiles of
/// sliding steps by [`lane_slides_avx2`] (identical results: the same
/// operations on each value in the same order).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn box_lanes_avx2(input: &[f32], output: impl RowSink, height: usize, window: usize) {
    box_lanes_portable::<true>(input, output, height, window)
}

/// [`box_columns_portable`] over a transposed strip, [`STRIP`] lanes wide:
/// the sums are a local array of known size, which the compiler keeps in
/// registers from step to step. In `box_columns_portable` they live in a
/// buffer the output might alias, so every step stored and reloaded them,
/// and that store-to-load latency bound the pass (`--bench frames`:
/// 480×720 frames 6 % faster, 1280×720 12 %).
///
/// `AVX2` must be true only where the CPU has AVX2 (only `box_lanes_avx2`
/// passes it): it sends eight sliding steps at a time to
/// [`lane_slides_avx2`] wherever the sink takes them as a whole tile.
#[inline(always)]
fn box_lanes_portable<const AVX2: bool>(input: &[f32], mut output: impl RowSink, height: usize, window: usize) {
    const W: usize = STRIP;
    let p = BoxPhases::new(height, window);
    let mut sums = [0f32; W];
    let row = |i: usize| -> &[f32; W] { input[i * W..(i + 1) * W].try_into().expect("row") };
    let (mut li, mut ri, mut oi) = (0usize, 0usize, 0usize);
    let mut count = 0usize;
    for _ in 0..p.grow_silent {
        let add = row(ri);
        for k in 0..W {
            sums[k] += add[k];
        }
        count += 1;
        ri += 1;
    }
    let mut out = [0f32; W];
    for _ in 0..p.grow {
        count += 1;
        let c = count as f32;
        let add = row(ri);
        for k in 0..W {
            sums[k] += add[k];
            out[k] = sums[k] / c;
        }
        output.row(oi).copy_from_slice(&out);
        output.done(oi);
        ri += 1;
        oi += 1;
    }
    let c = count as f32;
    let mut left = p.slide;
    while left > 0 {
        #[cfg(target_arch = "x86_64")]
        if AVX2 && left >= GROUP {
            if let Some((tile, lanes)) = output.whole_tile(oi) {
                debug_assert!(std::arch::is_x86_feature_detected!("avx2"));
                // SAFETY: AVX2, as `AVX2` promises; the rows are checked within.
                unsafe { lane_slides_avx2(input, li, ri, c, &mut sums, tile, lanes) };
                li += GROUP;
                ri += GROUP;
                oi += GROUP;
                left -= GROUP;
                continue;
            }
        }
        let (add, sub) = (row(ri), row(li));
        for k in 0..W {
            sums[k] += add[k];
            sums[k] -= sub[k];
            out[k] = sums[k] / c;
        }
        output.row(oi).copy_from_slice(&out);
        output.done(oi);
        li += 1;
        ri += 1;
        oi += 1;
        left -= 1;
    }
    for _ in 0..p.shrink {
        count -= 1;
        let c = count as f32;
        let sub = row(li);
        for k in 0..W {
            sums[k] -= sub[k];
            out[k] = sums[k] / c;
        }
        output.row(oi).copy_from_slice(&out);
        output.done(oi);
        li += 1;
        oi += 1;
    }
}

/// Eight sliding steps of the strip row pass, positions `ri - li` apart:
/// each lane's sum adds its value at `ri + k`, subtracts the one at
/// `li + k` and is divided by `count`, as `box_lanes_portable` does; the
/// eight outputs of each lane, transposed in registers, are written to its
/// row of the tile (the first `lanes` lanes only).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn lane_slides_avx2(
    input: &[f32],
    li: usize,
    ri: usize,
    count: f32,
    sums: &mut [f32; STRIP],
    tile: &mut [f32],
    lanes: usize,
) {
    use core::arch::x86_64::*;
    assert!(li < ri && input.len() >= (ri + GROUP) * STRIP && tile.len() >= TILE && lanes <= STRIP);
    let c = _mm256_set1_ps(count);
    let (src, dst) = (input.as_ptr(), tile.as_mut_ptr());
    for (v, sum) in sums.chunks_exact_mut(GROUP).enumerate() {
        // SAFETY: positions up to ri + 7 and lanes below STRIP lie inside
        // `input`, and lanes' rows inside the tile (asserted above).
        unsafe {
            let lanes_out = slide_eight(
                sum.try_into().expect("8 sums"),
                |k| src.add((ri + k) * STRIP + v * GROUP),
                |k| src.add((li + k) * STRIP + v * GROUP),
                c,
            );
            for (j, lane) in lanes_out.into_iter().enumerate() {
                if v * GROUP + j < lanes {
                    _mm256_storeu_ps(dst.add((v * GROUP + j) * GROUP), lane);
                }
            }
        }
    }
}

#[inline(always)]
fn box_columns_portable(
    input: &[f32],
    mut output: impl RowSink,
    width: usize,
    height: usize,
    window: usize,
    sums: &mut Vec<f32>,
) {
    let p = BoxPhases::new(height, window);
    sums.clear();
    sums.resize(width, 0.0);
    let row = |i: usize| &input[i * width..(i + 1) * width];
    let (mut li, mut ri, mut oi) = (0usize, 0usize, 0usize);
    let mut count = 0usize;
    for _ in 0..p.grow_silent {
        for (s, &v) in sums.iter_mut().zip(row(ri)) {
            *s += v;
        }
        count += 1;
        ri += 1;
    }
    for _ in 0..p.grow {
        count += 1;
        let c = count as f32;
        for ((s, &v), o) in sums.iter_mut().zip(row(ri)).zip(output.row(oi)) {
            *s += v;
            *o = *s / c;
        }
        output.done(oi);
        ri += 1;
        oi += 1;
    }
    let c = count as f32;
    for _ in 0..p.slide {
        for (((s, &add), &sub), o) in sums.iter_mut().zip(row(ri)).zip(row(li)).zip(output.row(oi)) {
            *s += add;
            *s -= sub;
            *o = *s / c;
        }
        output.done(oi);
        li += 1;
        ri += 1;
        oi += 1;
    }
    for _ in 0..p.shrink {
        count -= 1;
        let c = count as f32;
        for ((s, &sub), o) in sums.iter_mut().zip(row(li)).zip(output.row(oi)) {
            *s -= sub;
            *o = *s / c;
        }
        output.done(oi);
        li += 1;
        oi += 1;
    }
}

/// The reference's image-domain quality: summed absolute neighbour
/// differences on the 64×64 block, in percent of full scale, over 90.
fn quality_metric(block: &[[f32; 64]; 64]) -> u8 {
    let step = |u: f32, v: f32| -> i32 { (((u - v) * 100.0) / 255.0) as i32 };
    let mut gradient_sum: i32 = 0;
    for rows in block.windows(2) {
        for (&u, &v) in rows[0].iter().zip(&rows[1]) {
            gradient_sum += step(u, v).abs();
        }
    }
    for row in block {
        for pair in row.windows(2) {
            gradient_sum += step(pair[0], pair[1]).abs();
        }
    }
    (gradient_sum / 90).min(100) as u8
}

/// B = D·A·Dᵀ with D the 16×64 DCT basis. Each sum runs over k in increasing
/// order, one multiply and one add at a time, as in the reference.
fn dct64_to_16(a: &[[f32; 64]; 64]) -> Dct16 {
    let d = dct_matrix();
    let mut t = [[0f32; 64]; 16];
    for (t_row, d_row) in t.iter_mut().zip(d) {
        for (a_row, &dk) in a.iter().zip(d_row) {
            for (tv, &av) in t_row.iter_mut().zip(a_row) {
                *tv += dk * av;
            }
        }
    }
    let mut b = [[0f32; 16]; 16];
    for (b_row, t_row) in b.iter_mut().zip(&t) {
        for (bv, d_row) in b_row.iter_mut().zip(d) {
            let mut sum = 0f32;
            for (&tv, &dv) in t_row.iter().zip(d_row) {
                sum += tv * dv;
            }
            *bv = sum;
        }
    }
    b
}

/// One bit per coefficient: set when above the median.
fn bits_from_dct(dct: &Dct16) -> Hash256 {
    let flat: &[f32; 256] = dct.as_flattened().try_into().expect("16x16 is 256");
    let median = torben_median(flat);
    let mut hash = Hash256::ZERO;
    for (k, &v) in flat.iter().enumerate() {
        if v > median {
            hash.set_bit(k);
        }
    }
    hash
}

/// Torben's median as the reference computes it: for an even count, the lower
/// median. Kept as the reference wrote it so ties resolve the same way.
fn torben_median(m: &[f32]) -> f32 {
    let n = m.len();
    let half = n.div_ceil(2);
    let mut min = m[0];
    let mut max = m[0];
    for &v in &m[1..] {
        if v < min {
            min = v;
        }
        if v > max {
            max = v;
        }
    }
    loop {
        let guess = (min + max) / 2.0;
        let (mut less, mut greater, mut equal) = (0usize, 0usize, 0usize);
        let mut max_lt_guess = min;
        let mut min_gt_guess = max;
        for &v in m {
            if v < guess {
                less += 1;
                if v > max_lt_guess {
                    max_lt_guess = v;
                }
            } else if v > guess {
                greater += 1;
                if v < min_gt_guess {
                    min_gt_guess = v;
                }
            } else {
                equal += 1;
            }
        }
        if less <= half && greater <= half {
            return if less >= half {
                max_lt_guess
            } else if less + equal >= half {
                guess
            } else {
                min_gt_guess
            };
        } else if less > greater {
            max = max_lt_guess;
        } else {
            min = min_gt_guess;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    thread_local! {
        /// Set by a test to run this thread's filters in their portable forms.
        pub(super) static PORTABLE_FILTERS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }

    #[test]
    fn median_is_lower_median() {
        let v: Vec<f32> = (0..256).map(|i| ((i * 7919) % 256) as f32).collect();
        assert_eq!(torben_median(&v), 127.0);
    }

    #[test]
    fn box_filter_of_constant_is_constant() {
        let input = vec![3.5f32; 100];
        let mut out = vec![0f32; 100];
        for w in 1..10 {
            box_1d(&input, &mut out, w);
            assert!(out.iter().all(|&v| v == 3.5), "window {w}");
        }
    }

    #[test]
    fn lockstep_row_filter_equals_one_row_at_a_time() {
        for (w, h, window) in [
            (37, 19, 3),
            (512, 17, 4),
            (5, 8, 1),
            (64, 9, 2),
            (1280, 16, 10),
            (333, 77, 5),
            (480, 96, 4),
        ] {
            let input: Vec<f32> = (0..w * h).map(|i| ((i * 31) % 255) as f32 * 0.37 + 0.1).collect();
            let mut together = vec![0f32; w * h];
            box_rows(&input, &mut together, w, window, &mut Strips::default());
            for (row, got) in input.chunks_exact(w).zip(together.chunks_exact(w)) {
                let mut alone = vec![0f32; w];
                box_1d(row, &mut alone, window);
                assert!(
                    alone.iter().zip(got).all(|(a, b)| a.to_bits() == b.to_bits()),
                    "{w}x{h} window {window}"
                );
            }
        }
    }

    #[test]
    fn selected_columns_equal_the_full_row_filter() {
        for (w, h, window) in [
            (37, 19, 3),
            (512, 17, 4),
            (5, 11, 1),
            (64, 9, 2),
            (1280, 13, 10),
            (100, 8, 2),
            (333, 77, 5),
            (21, 40, 1),
        ] {
            let input: Vec<f32> = (0..w * h).map(|i| ((i * 31) % 255) as f32 * 0.37 + 0.1).collect();
            let mut full = vec![0f32; w * h];
            box_rows(&input, &mut full, w, window, &mut Strips::default());
            let columns: [usize; 64] = std::array::from_fn(|j| decimation_index(j, w));
            let mut narrow = vec![0f32; 64 * h];
            box_rows_at(&input, &mut narrow, w, window, &columns, &mut Strips::default());
            for r in 0..h {
                for (k, &c) in columns.iter().enumerate() {
                    assert_eq!(
                        narrow[r * 64 + k].to_bits(),
                        full[r * w + c].to_bits(),
                        "{w}x{h} row {r} col {c}"
                    );
                }
            }
        }
    }

    /// The reference's passes one after another over whole planes: `box_1d`
    /// along each row, then down each column, twice; then 64×64 sampling.
    fn blur_pass_by_pass(luma: &[f32], w: usize, h: usize) -> [[f32; 64]; 64] {
        let (along_rows, along_cols) = (jarosz_window(w, 64), jarosz_window(h, 64));
        let mut plane = luma.to_vec();
        let mut rows_done = vec![0f32; w * h];
        for _ in 0..JAROSZ_PASSES {
            for (src, dst) in plane.chunks_exact(w).zip(rows_done.chunks_exact_mut(w)) {
                box_1d(src, dst, along_rows);
            }
            for x in 0..w {
                let column: Vec<f32> = (0..h).map(|y| rows_done[y * w + x]).collect();
                let mut out = vec![0f32; h];
                box_1d(&column, &mut out, along_cols);
                for (y, v) in out.into_iter().enumerate() {
                    plane[y * w + x] = v;
                }
            }
        }
        std::array::from_fn(|i| std::array::from_fn(|j| plane[decimation_index(i, h) * w + decimation_index(j, w)]))
    }

    /// Whether two 64×64 blocks hold the same values bit for bit.
    fn bit_equal(a: &[[f32; 64]; 64], b: &[[f32; 64]; 64]) -> bool {
        a.as_flattened()
            .iter()
            .zip(b.as_flattened())
            .all(|(x, y)| x.to_bits() == y.to_bits())
    }

    #[test]
    fn streamed_passes_equal_the_reference_pass_by_pass() {
        let mut hasher = Hasher::new();
        // Heights around the strip size, a column window wider than a strip
        // (4200 rows: 33; 9000 rows: 71), frames wider than tall and the reverse.
        for (w, h) in [
            (5, 5),
            (37, 19),
            (65, 64),
            (31, 32),
            (40, 33),
            (333, 77),
            (480, 720),
            (1280, 97),
            (1920, 97),
            (2048, 40),
            (100, 4200),
            (7, 9000),
        ] {
            let luma: Vec<f32> = (0..w * h)
                .map(|i| ((i * 2_654_435_761usize) >> 7) as f32 % 255.0 + ((i % w) as f32) * 0.01)
                .collect();
            let expected = blur_pass_by_pass(&luma, w, h);
            let same = |got: &[[f32; 64]; 64]| bit_equal(got, &expected);
            assert!(
                same(&hasher.blur_and_decimate(Source::Plane(&luma), w, h)),
                "{w}x{h} from a plane"
            );
            let mut next_row = 0;
            let mut fill = |first: usize, rows: &mut [f32]| {
                assert_eq!(first, next_row, "rows asked for in order, each once");
                rows.copy_from_slice(&luma[first * w..first * w + rows.len()]);
                next_row += rows.len() / w;
            };
            assert!(
                same(&hasher.blur_and_decimate(Source::Rows(&mut fill), w, h)),
                "{w}x{h} from rows"
            );
            assert_eq!(next_row, h, "{w}x{h}: every row asked for");
            let mut next_row = 0;
            let mut fill = |first: usize, rows: usize, strip: &mut [f32]| {
                assert_eq!(first, next_row, "strips asked for in order, each once");
                assert_eq!(strip.len(), w * STRIP);
                // Garbage in the lanes past the rows, which must not matter.
                strip.fill(f32::NAN);
                for i in 0..rows {
                    for x in 0..w {
                        strip[x * STRIP + i] = luma[(first + i) * w + x];
                    }
                }
                next_row += rows;
            };
            assert!(
                same(&hasher.blur_and_decimate(Source::Strips(&mut fill), w, h)),
                "{w}x{h} from strips"
            );
            assert_eq!(next_row, h, "{w}x{h}: every strip asked for");
        }
    }

    #[test]
    fn portable_filters_stream_as_the_reference_filters_pass_by_pass() {
        // The tests above run the AVX2 forms wherever the CPU has AVX2;
        // these are the forms other CPUs run.
        PORTABLE_FILTERS.set(true);
        let mut hasher = Hasher::new();
        for (w, h) in [(5, 5), (17, 70), (37, 19), (40, 33), (480, 97), (1920, 40), (100, 4200)] {
            let luma: Vec<f32> = (0..w * h)
                .map(|i| ((i * 2_654_435_761usize) >> 7) as f32 % 255.0 + ((i % w) as f32) * 0.01)
                .collect();
            let got = hasher.blur_and_decimate(Source::Plane(&luma), w, h);
            assert!(bit_equal(&got, &blur_pass_by_pass(&luma, w, h)), "{w}x{h}");
        }
        PORTABLE_FILTERS.set(false);
    }

    #[test]
    fn strip_kernels_equal_their_portable_forms() {
        // The row pass over a strip in its two portable forms, and the
        // 64-position pass dispatched against its portable form.
        for (len, window) in [(37, 3), (480, 4), (1280, 10), (9, 9), (64, 1)] {
            let strip: Vec<f32> = (0..len * STRIP)
                .map(|i| ((i * 2_654_435_761usize) >> 9) as f32 % 255.0 * 0.37)
                .collect();
            let same = |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits());
            let (mut lanes, mut columns) = (vec![0f32; len * STRIP], vec![0f32; len * STRIP]);
            let plane = |output| Plane { output, width: STRIP };
            box_lanes_portable::<false>(&strip, plane(&mut lanes), len, window);
            box_columns_portable(&strip, plane(&mut columns), STRIP, len, window, &mut Vec::new());
            assert!(same(&lanes, &columns), "whole strip, {len} long, window {window}");
            let at: [usize; 64] = std::array::from_fn(|j| decimation_index(j, len));
            let (mut dispatched, mut portable) = (vec![0f32; 64 * STRIP], vec![0f32; 64 * STRIP]);
            box_strip_at(&strip, &mut dispatched, len, window, &at, &mut Vec::new());
            box_strip_at_portable(&strip, &mut portable, len, window, &at, &mut Vec::new());
            assert!(
                same(&dispatched, &portable),
                "64 positions, {len} long, window {window}"
            );
        }
    }

    #[test]
    fn special_values_stream_as_the_reference_filters_them() {
        // Values no decoder makes but `hash` takes: signed zeros, subnormals
        // and negatives; then one infinity in the last row. The vector
        // kernels must still do each value's operations in order.
        let specials = [
            -0.0,
            0.0,
            1e-40,
            -1e-40,
            f32::MIN_POSITIVE,
            1.5,
            -2.25,
            1e30,
            -1e30,
            200.0,
        ];
        let mut hasher = Hasher::new();
        for (w, h) in [(480, 96), (37, 70), (1280, 40)] {
            let mut luma: Vec<f32> = (0..w * h)
                .map(|i| specials[((i * 2_654_435_761usize) >> 11) % specials.len()])
                .collect();
            for last_is_infinite in [false, true] {
                if last_is_infinite {
                    luma[w * h - 1] = f32::INFINITY;
                }
                let expected = blur_pass_by_pass(&luma, w, h);
                let got = hasher.blur_and_decimate(Source::Plane(&luma), w, h);
                let finite = got.as_flattened().iter().filter(|v| v.is_finite()).count();
                assert!(finite > 64 * 60, "{w}x{h}: a test of finite values, mostly ({finite})");
                for (a, b) in got.as_flattened().iter().zip(expected.as_flattened()) {
                    // NaN's payload may depend on operand order, which the
                    // reference does not fix either; every other value must
                    // be bit for bit the same.
                    assert!(
                        a.to_bits() == b.to_bits() || a.is_nan() && b.is_nan(),
                        "{w}x{h}: {a} against {b}"
                    );
                }
            }
        }
    }

    #[test]
    fn every_height_streams_as_the_reference_filters_pass_by_pass() {
        // Every last-strip length and every column window up to 70, with
        // heights where the window is just below, at and past a strip.
        let heights = (5..=700).chain(4090..=4200).chain(8180..=8200).chain([8960, 8961]);
        let mut hasher = Hasher::new();
        for h in heights {
            // A narrow width, and one of several tiles with a partial last.
            for w in [5 + h % 3, 17 + h % 7] {
                let luma: Vec<f32> = (0..w * h)
                    .map(|i| ((i * 2_654_435_761usize) >> 9) as f32 % 255.0)
                    .collect();
                let got = hasher.blur_and_decimate(Source::Plane(&luma), w, h);
                assert!(bit_equal(&got, &blur_pass_by_pass(&luma, w, h)), "{w}x{h}");
            }
        }
    }

    #[test]
    fn column_filter_equals_strided_filter() {
        let (w, h) = (37, 53);
        let input: Vec<f32> = (0..w * h).map(|i| ((i * 31) % 255) as f32 * 0.37).collect();
        let mut by_rows = vec![0f32; w * h];
        let mut sums = Vec::new();
        box_columns(&input, &mut by_rows, w, h, 3, &mut sums);
        for j in 0..w {
            let col: Vec<f32> = (0..h).map(|i| input[i * w + j]).collect();
            let mut out = vec![0f32; h];
            box_1d(&col, &mut out, 3);
            for i in 0..h {
                assert_eq!(out[i].to_bits(), by_rows[i * w + j].to_bits());
            }
        }
    }
}
