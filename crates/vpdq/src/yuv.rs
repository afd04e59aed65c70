//! PDQ luma straight from YUV 4:2:0 frames, bit-exact with what the
//! reference gets from swscale.
//!
//! The reference converts each decoded frame to RGB24 with swscale and takes
//! PDQ's luma of that. For a `yuv420p` or `yuvj420p` frame at its own size,
//! swscale takes its unscaled special case, which on x86 is the SIMD
//! converter of `libswscale/x86/yuv_2_rgb.asm`: 16-bit fixed point, `pmulhw`
//! (the high half of a signed product, i.e. a floor), chroma shared by each
//! 2×2 block, no interpolation. Its coefficients are those
//! `ff_yuv2rgb_c_init_tables` derives for BT.601 and the range the pixel
//! format implies, default contrast and saturation, which is what a context
//! made without colour details uses.
//!
//! Taking YUV from ffmpeg halves the bytes the child sends (1.5 bytes a
//! pixel instead of 3), leaves swscale out of the child, and lets the
//! conversion and the luma run as one vectorised pass, whose output goes
//! into PDQ's strips already transposed (`Converter::luma_strip`). The test
//! `every_yuv_triple_converts_as_ffmpeg_does` checks all 2²⁴ (Y, U, V)
//! triples in both ranges against this machine's ffmpeg,
//! `the_fused_luma_is_pdq_luma_of_the_converted_pixel` the plain row-by-row
//! conversion against that, and `strips_hold_the_luma_of_the_rows` the
//! strips against the rows; the conformance tests then check whole videos
//! against the reference.

/// swscale's `pmulhw` coefficients for one range: Y, and the chroma terms
/// of R, G and B (`ff_yuv2rgb_c_init_tables`, BT.601, default contrast and
/// saturation, each rounded to 16 bits from 13 fraction bits).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Coefficients {
    y: i32,
    /// `(Y << 3) - y_offset`: 8·(Y − 16) in limited range, 8·Y in full.
    y_offset: i32,
    v_to_r: i32,
    u_to_b: i32,
    u_to_g: i32,
    v_to_g: i32,
}

/// `yuv420p`: limited ("tv") range, whatever the stream's tags say, as a
/// context made without colour details reads it.
const LIMITED: Coefficients = Coefficients {
    y: 9539,
    y_offset: 128,
    v_to_r: 13075,
    u_to_b: 16525,
    u_to_g: -3209,
    v_to_g: -6660,
};

/// `yuvj420p` (what the decoders give for full-range streams, common from
/// phones): no luma scaling, chroma scaled by 224/255.
const FULL: Coefficients = Coefficients {
    y: 8192,
    y_offset: 0,
    v_to_r: 11485,
    u_to_b: 14516,
    u_to_g: -2819,
    v_to_g: -5850,
};

/// `(C << 3) - C_OFFSET` is 8·(C − 128).
const C_OFFSET: i32 = 1024;

/// The high half of a signed 16×16-bit product, as `pmulhw` gives it. The
/// operands stay within 16 bits (|8·Y| ≤ 2040, |8·(C−128)| ≤ 1024), and so
/// do every sum below, so the assembly's saturating adds never saturate and
/// plain 32-bit arithmetic is the same.
#[inline(always)]
fn mulhi(a: i32, b: i32) -> i32 {
    (a * b) >> 16
}

/// The chroma terms of one 2×2 block: added to the luma term for R, G, B.
#[inline(always)]
fn chroma_terms(u: u8, v: u8, c: &Coefficients) -> (i32, i32, i32) {
    let u = ((u as i32) << 3) - C_OFFSET;
    let v = ((v as i32) << 3) - C_OFFSET;
    (
        mulhi(v, c.v_to_r),
        mulhi(u, c.u_to_g) + mulhi(v, c.v_to_g),
        mulhi(u, c.u_to_b),
    )
}

/// Rows of a strip [`pdq::Hasher::hash_strips`] asks for.
const STRIP_ROWS: usize = pdq::Hasher::STRIP_ROWS;

/// The luma term of a pixel (computed in 16-bit lanes in the conversions).
#[cfg(test)]
fn luma_term(y: u8, c: &Coefficients) -> i32 {
    mulhi(((y as i32) << 3) - c.y_offset, c.y)
}

/// The coefficients for frames of this pixel format and size, where they
/// may be converted here: the unscaled special case needs an even height,
/// and widths that are a multiple of 8 leave the assembly no partial block
/// at the row's end (it would otherwise work on the padding, or leave the
/// last pixels alone).
pub(crate) fn coefficients(pix_fmt: &str, width: u32, height: u32) -> Option<Coefficients> {
    if !(height.is_multiple_of(2) && width.is_multiple_of(8)) {
        return None;
    }
    match pix_fmt {
        "yuv420p" => Some(LIMITED),
        "yuvj420p" => Some(FULL),
        _ => None,
    }
}

/// Bytes of one packed `yuv420p` frame (Y plane, then U, then V).
pub(crate) fn frame_bytes(width: usize, height: usize) -> usize {
    width * height + 2 * (width / 2) * (height / 2)
}

/// A packed `yuv420p` frame split into its planes.
#[derive(Clone, Copy)]
pub(crate) struct Planes<'a> {
    ys: &'a [u8],
    us: &'a [u8],
    vs: &'a [u8],
    width: usize,
    height: usize,
}

impl<'a> Planes<'a> {
    /// The planes of `frame`, which must be a whole packed frame of an
    /// even `width × height`.
    pub(crate) fn of(frame: &'a [u8], width: usize, height: usize) -> Self {
        assert!(width.is_multiple_of(2) && height.is_multiple_of(2));
        assert_eq!(frame.len(), frame_bytes(width, height));
        let (ys, chroma) = frame.split_at(width * height);
        let (us, vs) = chroma.split_at(width / 2 * (height / 2));
        Planes {
            ys,
            us,
            vs,
            width,
            height,
        }
    }
}

/// One range's conversion, with reusable per-row chroma terms.
pub(crate) struct Converter {
    coefficients: Coefficients,
    red: Vec<i16>,
    green: Vec<i16>,
    blue: Vec<i16>,
    red_half: Vec<i16>,
    green_half: Vec<i16>,
    blue_half: Vec<i16>,
    /// Rows converted before being transposed into a strip, where the
    /// conversion is not written for the CPU.
    rows: Vec<f32>,
}

impl Converter {
    pub(crate) fn new(coefficients: Coefficients) -> Self {
        Converter {
            coefficients,
            red: Vec::new(),
            green: Vec::new(),
            blue: Vec::new(),
            red_half: Vec::new(),
            green_half: Vec::new(),
            blue_half: Vec::new(),
            rows: Vec::new(),
        }
    }

    /// Writes PDQ's luma of every pixel of a packed `yuv420p` frame into
    /// `luma`, row by row: the plain form [`Converter::luma_strip`] is
    /// checked against.
    #[cfg(test)]
    pub(crate) fn luma(&mut self, frame: Planes<'_>, luma: &mut [f32]) {
        assert_eq!(luma.len(), frame.width * frame.height);
        self.luma_portable(frame, 0, luma)
    }

    /// Writes PDQ's luma of `rows` rows from `first_row` on (an even row,
    /// an even count) of a frame whose width is a multiple of 8 into `strip` as
    /// [`pdq::Hasher::hash_strips`] asks: row `first_row + i`, column `x`
    /// at `x * STRIP_ROWS + i`. Lanes past `rows` may get anything, which
    /// the hasher ignores.
    pub(crate) fn luma_strip(&mut self, frame: Planes<'_>, first_row: usize, rows: usize, strip: &mut [f32]) {
        assert!(frame.width.is_multiple_of(8));
        assert!(first_row.is_multiple_of(2) && rows.is_multiple_of(2));
        assert!(rows > 0 && rows <= STRIP_ROWS && first_row + rows <= frame.height);
        assert_eq!(strip.len(), frame.width * STRIP_ROWS);
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, and the sizes are the ones checked
            // above and by `Planes::of`.
            return unsafe { self.luma_strip_avx2(frame, first_row, rows, strip) };
        }
        self.luma_strip_portable(frame, first_row, rows, strip)
    }

    /// [`Converter::luma_strip`] where it is not written for the CPU: the
    /// rows converted one by one, then transposed into the strip.
    fn luma_strip_portable(&mut self, frame: Planes<'_>, first_row: usize, rows: usize, strip: &mut [f32]) {
        let mut buffer = std::mem::take(&mut self.rows);
        buffer.resize(rows * frame.width, 0.0);
        self.luma_portable(frame, first_row, &mut buffer);
        for (i, row) in buffer.chunks_exact(frame.width).enumerate() {
            for (x, &l) in row.iter().enumerate() {
                strip[x * STRIP_ROWS + i] = l;
            }
        }
        self.rows = buffer;
    }

    /// Sixteen pixels of a row at a time in 16-bit lanes, as the assembly
    /// computes them; then the even and the odd pixels' R, G and B apart,
    /// in the 32-bit lanes the pairs already share (a mask and a shift, no
    /// widening shuffle), to floats and luma. Eight rows of those make two
    /// 8×8 blocks, of the even and of the odd columns, which go into the
    /// strip transposed.
    ///
    /// Each pixel sees exactly the arithmetic of `luma_portable`: the
    /// 16-bit products and sums (which never leave 16 bits, see `mulhi`),
    /// the clamp to 0..=255, and `pdq::luma`'s products and sums in its
    /// order, with no fused multiply-add.
    ///
    /// # Safety
    /// AVX2, and what [`Converter::luma_strip`] and [`Planes::of`] assert:
    /// the frame's width a multiple of 8, `first_row` and `rows` even with
    /// `0 < rows <= STRIP_ROWS` and `first_row + rows` at most the frame's
    /// height, and `strip` of `width * STRIP_ROWS` values. The loads rely
    /// on them.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn luma_strip_avx2(&mut self, frame: Planes<'_>, first_row: usize, rows: usize, strip: &mut [f32]) {
        use std::arch::x86_64::*;
        let c = self.coefficients;
        let Planes { ys, us, vs, width, .. } = frame;
        let half = width / 2;
        let last_row = first_row + rows - 1;
        let wide = width / 16 * 16;
        let zero = _mm256_setzero_si256();
        let max = _mm256_set1_epi16(255);
        let low_half = _mm256_set1_epi32(0xffff);
        let y_coefficient = _mm256_set1_epi16(c.y as i16);
        let y_offset = _mm256_set1_epi16(c.y_offset as i16);
        let c_offset = _mm256_set1_epi32(C_OFFSET);
        let (v_to_r, u_to_g) = (_mm256_set1_epi16(c.v_to_r as i16), _mm256_set1_epi16(c.u_to_g as i16));
        let (v_to_g, u_to_b) = (_mm256_set1_epi16(c.v_to_g as i16), _mm256_set1_epi16(c.u_to_b as i16));
        let [luma_r, luma_g, luma_b] = pdq::LUMA_FROM_RGB.map(|w| _mm256_set1_ps(w));
        // A 16-bit term in the low half of each 32-bit lane, copied to the
        // high half too: the term of a chroma sample for both its pixels.
        let pair = |t: __m256i| {
            let t = _mm256_and_si256(t, low_half);
            _mm256_or_si256(t, _mm256_slli_epi32::<16>(t))
        };
        // Each R, G, B as floats, even pixels then odd.
        let floats = |t: __m256i| {
            (
                _mm256_cvtepi32_ps(_mm256_and_si256(t, low_half)),
                _mm256_cvtepi32_ps(_mm256_srli_epi32::<16>(t)),
            )
        };
        let luma = |r: __m256, g: __m256, b: __m256| {
            _mm256_add_ps(
                _mm256_add_ps(_mm256_mul_ps(luma_r, r), _mm256_mul_ps(luma_g, g)),
                _mm256_mul_ps(luma_b, b),
            )
        };
        let mut even = [[0f32; 8]; 8];
        let mut odd = [[0f32; 8]; 8];
        // For each group of eight rows: where each row starts in the Y
        // plane, and each pair of rows in the chroma planes. Rows past the
        // strip's last repeat it, to keep reads inside the frame.
        let groups = rows.div_ceil(8);
        let row_of = |group: usize, i: usize| (first_row + 8 * group + i).min(last_row);
        let y_starts: [[usize; 8]; 4] = std::array::from_fn(|g| std::array::from_fn(|i| row_of(g, i) * width));
        let chroma_starts: [[usize; 4]; 4] =
            std::array::from_fn(|g| std::array::from_fn(|p| row_of(g, 2 * p) / 2 * half));
        let (y_plane, u_plane, v_plane) = (ys.as_ptr(), us.as_ptr(), vs.as_ptr());
        // Columns outermost: each turn fills the strip's lines for sixteen
        // columns whole, where rows outermost wrote each line a quarter at
        // a time, four times over.
        for x in (0..wide).step_by(16) {
            for group in 0..groups {
                let lane = 8 * group;
                // The chroma terms of the four chroma rows, each sample's
                // term in both 16-bit halves of its 32-bit lane.
                let mut terms = [[zero; 3]; 4];
                for (terms, &start) in terms.iter_mut().zip(&chroma_starts[group]) {
                    // SAFETY: 8 chroma samples from x / 2 lie within a
                    // chroma row of the frame (x + 16 <= width).
                    let (u, v) = unsafe {
                        (
                            _mm256_cvtepu8_epi32(_mm_loadl_epi64(u_plane.add(start + x / 2).cast())),
                            _mm256_cvtepu8_epi32(_mm_loadl_epi64(v_plane.add(start + x / 2).cast())),
                        )
                    };
                    let u = _mm256_sub_epi32(_mm256_slli_epi32::<3>(u), c_offset);
                    let v = _mm256_sub_epi32(_mm256_slli_epi32::<3>(v), c_offset);
                    // The low halves hold the (sign-extended) 16-bit values,
                    // so the low halves of these products are the terms.
                    *terms = [
                        pair(_mm256_mulhi_epi16(v, v_to_r)),
                        pair(_mm256_add_epi16(
                            _mm256_mulhi_epi16(u, u_to_g),
                            _mm256_mulhi_epi16(v, v_to_g),
                        )),
                        pair(_mm256_mulhi_epi16(u, u_to_b)),
                    ];
                }
                for i in 0..8 {
                    // SAFETY: 16 luma samples from x lie within a row of
                    // the frame.
                    let y =
                        unsafe { _mm256_cvtepu8_epi16(_mm_loadu_si128(y_plane.add(y_starts[group][i] + x).cast())) };
                    let y = _mm256_mulhi_epi16(_mm256_sub_epi16(_mm256_slli_epi16::<3>(y), y_offset), y_coefficient);
                    // Its pair's chroma row (for a repeated last row, the
                    // last pair's: its lane is never read anyway).
                    let [red, green, blue] = terms[i / 2];
                    let clamp = |t: __m256i| _mm256_min_epi16(_mm256_max_epi16(_mm256_add_epi16(y, t), zero), max);
                    let ((r0, r1), (g0, g1), (b0, b1)) =
                        (floats(clamp(red)), floats(clamp(green)), floats(clamp(blue)));
                    // SAFETY: 8 floats into rows of 8.
                    unsafe {
                        _mm256_storeu_ps(even[i].as_mut_ptr(), luma(r0, g0, b0));
                        _mm256_storeu_ps(odd[i].as_mut_ptr(), luma(r1, g1, b1));
                    }
                }
                pdq::store_rows_in_strip(strip, lane, x, 2, &even);
                pdq::store_rows_in_strip(strip, lane, x + 1, 2, &odd);
            }
        }
        // A last eight columns (widths that are a multiple of 8, not 16).
        if wide < width {
            for i in 0..rows {
                let row = first_row + i;
                let y_row = &ys[row * width..(row + 1) * width];
                let (u_row, v_row) = (&us[row / 2 * half..][..half], &vs[row / 2 * half..][..half]);
                for x in wide..width {
                    let (r, g, b) = chroma_terms(u_row[x / 2], v_row[x / 2], &c);
                    let y = mulhi(((y_row[x] as i32) << 3) - c.y_offset, c.y);
                    strip[x * STRIP_ROWS + i] = pdq::luma(
                        (y + r).clamp(0, 255) as u8,
                        (y + g).clamp(0, 255) as u8,
                        (y + b).clamp(0, 255) as u8,
                    );
                }
            }
        }
    }

    /// Writes PDQ's luma of the rows from `first_row` on of a packed
    /// `yuv420p` frame into `luma` (`luma.len() / width` rows, an even
    /// number from an even row: chroma rows are shared by pairs).
    fn luma_portable(&mut self, frame: Planes<'_>, first_row: usize, luma: &mut [f32]) {
        let Planes { ys, us, vs, width, .. } = frame;
        let half = width / 2;
        let c = self.coefficients;
        for terms in [&mut self.red, &mut self.green, &mut self.blue] {
            terms.resize(width, 0);
        }
        for terms in [&mut self.red_half, &mut self.green_half, &mut self.blue_half] {
            terms.resize(half, 0);
        }
        let (y_coefficient, y_offset) = (c.y as i16, c.y_offset as i16);
        let first_pair = first_row / 2;
        let pairs = luma.len() / (2 * width);
        let u_rows = us.chunks_exact(half).skip(first_pair).take(pairs);
        let v_rows = vs.chunks_exact(half).skip(first_pair).take(pairs);
        for (pair, (u_row, v_row)) in u_rows.zip(v_rows).enumerate() {
            // Each chroma sample's terms, then each copied to its two
            // pixels: two simple loops the compiler vectorises, where one
            // loop writing pairs stays scalar.
            for (((&u, &v), r), (g, b)) in u_row
                .iter()
                .zip(v_row)
                .zip(&mut self.red_half)
                .zip(self.green_half.iter_mut().zip(&mut self.blue_half))
            {
                let (red, green, blue) = chroma_terms(u, v, &c);
                // They fit 16 bits (see `mulhi`), as in the assembly's lanes.
                (*r, *g, *b) = (red as i16, green as i16, blue as i16);
            }
            for (full, half) in [
                (&mut self.red, &self.red_half),
                (&mut self.green, &self.green_half),
                (&mut self.blue, &self.blue_half),
            ] {
                for (pair, &t) in full.chunks_exact_mut(2).zip(half.iter()) {
                    pair[0] = t;
                    pair[1] = t;
                }
            }
            for row in [2 * pair, 2 * pair + 1] {
                let out = &mut luma[row * width..(row + 1) * width];
                let frame_row = first_row + row;
                let y_row = &ys[frame_row * width..(frame_row + 1) * width];
                for ((((o, &y), &r), &g), &b) in out
                    .iter_mut()
                    .zip(y_row)
                    .zip(&self.red)
                    .zip(&self.green)
                    .zip(&self.blue)
                {
                    // `luma_term` in 16-bit lanes, as `pmulhw` computes it:
                    // half the vector work of 32-bit lanes.
                    let y = (((((y as i16) << 3) - y_offset) as i32 * y_coefficient as i32) >> 16) as i16;
                    *o = pdq::luma(
                        (y + r).clamp(0, 255) as u8,
                        (y + g).clamp(0, 255) as u8,
                        (y + b).clamp(0, 255) as u8,
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The RGB24 pixel swscale makes of one (Y, U, V) triple.
    fn yuv_to_rgb(y: u8, u: u8, v: u8, c: &Coefficients) -> [u8; 3] {
        let (r, g, b) = chroma_terms(u, v, c);
        let y = luma_term(y, c);
        [
            (y + r).clamp(0, 255) as u8,
            (y + g).clamp(0, 255) as u8,
            (y + b).clamp(0, 255) as u8,
        ]
    }

    /// A 4096×4096 frame holding every (Y, U, V) triple once: each chroma
    /// sample (U, V, j) covers a 2×2 block of Y values 4j..4j+3.
    fn every_triple() -> (Vec<u8>, usize) {
        let side = 4096;
        let half = side / 2;
        let mut frame = vec![0u8; frame_bytes(side, side)];
        let (ys, chroma) = frame.split_at_mut(side * side);
        let (us, vs) = chroma.split_at_mut(half * half);
        for k in 0..half * half {
            let (u, v, j) = ((k >> 14) as u8, (k >> 6) as u8, (k & 63) as u8);
            us[k] = u;
            vs[k] = v;
            let (cy, cx) = (k / half, k % half);
            for (dy, dx) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                ys[(2 * cy + dy) * side + 2 * cx + dx] = 4 * j + (2 * dy + dx) as u8;
            }
        }
        (frame, side)
    }

    /// `luma_strip` against `luma`, strip by strip: on every triple, and on
    /// frames whose width is a multiple of 8 but not 16 and whose last
    /// strip is short.
    #[test]
    fn strips_hold_the_luma_of_the_rows() {
        let (triples, side) = every_triple();
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut noise = |len: usize| -> Vec<u8> {
            (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    (seed >> 32) as u8
                })
                .collect()
        };
        let mut frames = vec![(triples, side, side)];
        for (w, h) in [(8, 2), (24, 30), (40, 34), (16, 66), (488, 98), (480, 720)] {
            frames.push((noise(frame_bytes(w, h)), w, h));
        }
        for (frame, w, h) in &frames {
            let (w, h) = (*w, *h);
            for c in [LIMITED, FULL] {
                let mut converter = Converter::new(c);
                let mut rows = vec![0f32; w * h];
                converter.luma(Planes::of(frame, w, h), &mut rows);
                let mut strip = vec![0f32; w * STRIP_ROWS];
                let mut portable = vec![0f32; w * STRIP_ROWS];
                for first in (0..h).step_by(STRIP_ROWS) {
                    let n = STRIP_ROWS.min(h - first);
                    converter.luma_strip(Planes::of(frame, w, h), first, n, &mut strip);
                    // The fallback too, which this CPU may not take.
                    converter.luma_strip_portable(Planes::of(frame, w, h), first, n, &mut portable);
                    for i in 0..n {
                        for x in 0..w {
                            let expected = rows[(first + i) * w + x].to_bits();
                            let at = x * STRIP_ROWS + i;
                            let row = first + i;
                            assert_eq!(strip[at].to_bits(), expected, "{w}x{h} {c:?}: row {row}, column {x}");
                            assert_eq!(
                                portable[at].to_bits(),
                                expected,
                                "portable, {w}x{h} {c:?}: row {row}, column {x}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn the_fused_luma_is_pdq_luma_of_the_converted_pixel() {
        let (frame, side) = every_triple();
        let half = side / 2;
        for c in [LIMITED, FULL] {
            let mut luma = vec![0f32; side * side];
            Converter::new(c).luma(Planes::of(&frame, side, side), &mut luma);
            for (p, &l) in luma.iter().enumerate() {
                let (row, col) = (p / side, p % side);
                let at = side * side + (row / 2) * half + col / 2;
                let [r, g, b] = yuv_to_rgb(frame[p], frame[at], frame[at + half * half], &c);
                assert_eq!(l.to_bits(), pdq::luma(r, g, b).to_bits(), "{c:?}: pixel {row},{col}");
            }
        }
    }

    /// All 2²⁴ triples, in both ranges, through this machine's ffmpeg as
    /// `hash_video` runs it on the RGB path, against `yuv_to_rgb`.
    #[test]
    fn every_yuv_triple_converts_as_ffmpeg_does() {
        if !crate::ffmpeg_available() {
            assert!(
                std::env::var_os("TANTALUM_REQUIRE_CONFORMANCE").is_none(),
                "ffmpeg is needed to check the YUV conversion"
            );
            eprintln!("skipped: ffmpeg not found");
            return;
        }
        let (frame, side) = every_triple();
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("all.yuv");
        std::fs::write(&input, &frame).unwrap();
        let half = side / 2;
        for pix_fmt in ["yuv420p", "yuvj420p"] {
            let c = coefficients(pix_fmt, side as u32, side as u32).unwrap();
            let out = std::process::Command::new("ffmpeg")
                .args(["-nostdin", "-v", "error", "-f", "rawvideo", "-pix_fmt", pix_fmt])
                .args(["-s", &format!("{side}x{side}"), "-i"])
                .arg(&input)
                .args([
                    "-vf",
                    "scale=flags=area:in_color_matrix=bt601:out_color_matrix=bt601,format=rgb24",
                    "-f",
                    "rawvideo",
                    "-pix_fmt",
                    "rgb24",
                    "-",
                ])
                .output()
                .unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            assert_eq!(out.stdout.len(), side * side * 3);
            let mut wrong = 0usize;
            for (p, rgb) in out.stdout.chunks_exact(3).enumerate() {
                let (row, col) = (p / side, p % side);
                let at = side * side + (row / 2) * half + col / 2;
                let (y, u, v) = (frame[p], frame[at], frame[at + half * half]);
                let ours = yuv_to_rgb(y, u, v, &c);
                if ours != [rgb[0], rgb[1], rgb[2]] {
                    if wrong < 5 {
                        eprintln!("{pix_fmt} Y={y} U={u} V={v}: ffmpeg {rgb:?}, ours {ours:?}");
                    }
                    wrong += 1;
                }
            }
            assert_eq!(wrong, 0, "{pix_fmt}: triples converted differently from ffmpeg");
        }
    }
}
