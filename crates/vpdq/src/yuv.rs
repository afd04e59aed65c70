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
//! conversion and the luma run as one vectorised pass. The test
//! `every_yuv_triple_converts_as_ffmpeg_does` checks all 2²⁴ (Y, U, V)
//! triples in both ranges against this machine's ffmpeg; the conformance tests then check
//! whole videos against the reference.

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

/// The luma term of a pixel (computed in 16-bit lanes in `luma_rows`).
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

/// One range's conversion, with reusable per-row chroma terms.
pub(crate) struct Converter {
    coefficients: Coefficients,
    red: Vec<i16>,
    green: Vec<i16>,
    blue: Vec<i16>,
    red_half: Vec<i16>,
    green_half: Vec<i16>,
    blue_half: Vec<i16>,
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
        }
    }

    /// Writes PDQ's luma of every pixel of a packed `yuv420p` frame into `luma`.
    #[cfg(test)]
    pub(crate) fn luma(&mut self, frame: &[u8], width: usize, height: usize, luma: &mut [f32]) {
        assert_eq!(luma.len(), width * height);
        self.luma_rows(frame, width, height, 0, luma)
    }

    /// Writes PDQ's luma of the rows from `first_row` on of a packed
    /// `yuv420p` frame into `luma` (`luma.len() / width` rows, an even
    /// number from an even row: chroma rows are shared by pairs).
    pub(crate) fn luma_rows(&mut self, frame: &[u8], width: usize, height: usize, first_row: usize, luma: &mut [f32]) {
        assert!(width.is_multiple_of(2) && height.is_multiple_of(2) && first_row.is_multiple_of(2));
        assert_eq!(frame.len(), frame_bytes(width, height));
        assert!(luma.len().is_multiple_of(2 * width) && first_row * width + luma.len() <= width * height);
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, the only requirement of this function.
            return unsafe { self.luma_avx2(frame, width, height, first_row, luma) };
        }
        self.luma_portable(frame, width, height, first_row, luma)
    }

    /// The same loops compiled for 8-lane vectors; integer arithmetic and
    /// per-lane IEEE float products and sums (no fused multiply-add is
    /// enabled), so the results are those of the portable build.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn luma_avx2(&mut self, frame: &[u8], width: usize, height: usize, first_row: usize, luma: &mut [f32]) {
        self.luma_portable(frame, width, height, first_row, luma)
    }

    #[inline(always)]
    fn luma_portable(&mut self, frame: &[u8], width: usize, height: usize, first_row: usize, luma: &mut [f32]) {
        let half = width / 2;
        let c = self.coefficients;
        let (ys, chroma) = frame.split_at(width * height);
        let (us, vs) = chroma.split_at(half * (height / 2));
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

    #[test]
    fn the_fused_luma_is_pdq_luma_of_the_converted_pixel() {
        let (frame, side) = every_triple();
        let half = side / 2;
        for c in [LIMITED, FULL] {
            let mut luma = vec![0f32; side * side];
            Converter::new(c).luma(&frame, side, side, &mut luma);
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
