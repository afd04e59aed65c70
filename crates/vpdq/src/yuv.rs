//! PDQ luma straight from YUV 4:2:0 frames, bit-exact with what the
//! reference gets from swscale.
//!
//! The reference converts each decoded frame to RGB24 with swscale and takes
//! PDQ's luma of that. For a `yuv420p` frame at its own size, swscale takes
//! its unscaled special case, which on x86 is the SIMD converter of
//! `libswscale/x86/yuv_2_rgb.asm`: 16-bit fixed point, `pmulhw` (the high
//! half of a signed product, i.e. a floor), chroma shared by each 2×2 block,
//! no interpolation. Its coefficients are those `ff_yuv2rgb_c_init_tables`
//! derives for BT.601, limited range, default contrast and saturation, which
//! is what a context made without colour details uses.
//!
//! Taking YUV from ffmpeg halves the bytes through the pipe (1.5 bytes a
//! pixel instead of 3), leaves swscale out of the child, and lets the
//! conversion and the luma run as one vectorised pass. The test
//! `every_yuv_triple_converts_as_ffmpeg_does` checks all 2²⁴ (Y, U, V)
//! triples against this machine's ffmpeg; the conformance tests then check
//! whole videos against the reference.

/// `pmulhw` coefficients: Y, and the chroma terms of R, G and B.
const Y_COEFF: i32 = 9539;
/// `(Y << 3) - Y_OFFSET` is 8·(Y − 16).
const Y_OFFSET: i32 = 128;
const V_TO_R: i32 = 13075;
const U_TO_B: i32 = 16525;
const U_TO_G: i32 = -3209;
const V_TO_G: i32 = -6660;
/// `(C << 3) - C_OFFSET` is 8·(C − 128).
const C_OFFSET: i32 = 1024;

/// The high half of a signed 16×16-bit product, as `pmulhw` gives it. The
/// operands stay within 16 bits (|8·(Y−16)| ≤ 1912, |8·(C−128)| ≤ 1024), and
/// so do every sum below, so the assembly's saturating adds never saturate
/// and plain 32-bit arithmetic is the same.
#[inline(always)]
fn mulhi(a: i32, b: i32) -> i32 {
    (a * b) >> 16
}

/// The chroma terms of one 2×2 block: added to the luma term for R, G, B.
#[inline(always)]
fn chroma_terms(u: u8, v: u8) -> (i32, i32, i32) {
    let u = ((u as i32) << 3) - C_OFFSET;
    let v = ((v as i32) << 3) - C_OFFSET;
    (mulhi(v, V_TO_R), mulhi(u, U_TO_G) + mulhi(v, V_TO_G), mulhi(u, U_TO_B))
}

#[inline(always)]
fn luma_term(y: u8) -> i32 {
    mulhi(((y as i32) << 3) - Y_OFFSET, Y_COEFF)
}

/// Whether frames of this pixel format and size may be converted here: the
/// unscaled special case needs an even height, and widths that are a
/// multiple of 8 leave the assembly no partial block at the row's end (it
/// would otherwise work on the padding, or leave the last pixels alone).
pub(crate) fn applies(pix_fmt: &str, width: u32, height: u32) -> bool {
    pix_fmt == "yuv420p" && height.is_multiple_of(2) && width.is_multiple_of(8)
}

/// Bytes of one packed `yuv420p` frame (Y plane, then U, then V).
pub(crate) fn frame_bytes(width: usize, height: usize) -> usize {
    width * height + 2 * (width / 2) * (height / 2)
}

/// Reusable per-row chroma terms.
#[derive(Default)]
pub(crate) struct Converter {
    red: Vec<i32>,
    green: Vec<i32>,
    blue: Vec<i32>,
}

impl Converter {
    /// Writes PDQ's luma of every pixel of a packed `yuv420p` frame into `luma`.
    pub(crate) fn luma(&mut self, frame: &[u8], width: usize, height: usize, luma: &mut [f32]) {
        assert!(width.is_multiple_of(2) && height.is_multiple_of(2));
        assert_eq!(frame.len(), frame_bytes(width, height));
        assert_eq!(luma.len(), width * height);
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, the only requirement of this function.
            return unsafe { self.luma_avx2(frame, width, height, luma) };
        }
        self.luma_portable(frame, width, height, luma)
    }

    /// The same loops compiled for 8-lane vectors; integer arithmetic and
    /// per-lane IEEE float products and sums (no fused multiply-add is
    /// enabled), so the results are those of the portable build.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn luma_avx2(&mut self, frame: &[u8], width: usize, height: usize, luma: &mut [f32]) {
        self.luma_portable(frame, width, height, luma)
    }

    #[inline(always)]
    fn luma_portable(&mut self, frame: &[u8], width: usize, height: usize, luma: &mut [f32]) {
        let half = width / 2;
        let (ys, chroma) = frame.split_at(width * height);
        let (us, vs) = chroma.split_at(half * (height / 2));
        for terms in [&mut self.red, &mut self.green, &mut self.blue] {
            terms.resize(width, 0);
        }
        for (pair, (u_row, v_row)) in us.chunks_exact(half).zip(vs.chunks_exact(half)).enumerate() {
            for (i, (&u, &v)) in u_row.iter().zip(v_row).enumerate() {
                let (r, g, b) = chroma_terms(u, v);
                self.red[2 * i..2 * i + 2].fill(r);
                self.green[2 * i..2 * i + 2].fill(g);
                self.blue[2 * i..2 * i + 2].fill(b);
            }
            for row in [2 * pair, 2 * pair + 1] {
                let span = row * width..(row + 1) * width;
                let out = &mut luma[span.clone()];
                for ((((o, &y), &r), &g), &b) in out
                    .iter_mut()
                    .zip(&ys[span.clone()])
                    .zip(&self.red)
                    .zip(&self.green)
                    .zip(&self.blue)
                {
                    let y = luma_term(y);
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
    fn yuv_to_rgb(y: u8, u: u8, v: u8) -> [u8; 3] {
        let (r, g, b) = chroma_terms(u, v);
        let y = luma_term(y);
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
        let mut luma = vec![0f32; side * side];
        Converter::default().luma(&frame, side, side, &mut luma);
        let half = side / 2;
        for (p, &l) in luma.iter().enumerate() {
            let (row, col) = (p / side, p % side);
            let c = side * side + (row / 2) * half + col / 2;
            let [r, g, b] = yuv_to_rgb(frame[p], frame[c], frame[c + half * half]);
            assert_eq!(l.to_bits(), pdq::luma(r, g, b).to_bits(), "pixel {row},{col}");
        }
    }

    /// All 2²⁴ triples through this machine's ffmpeg, as `hash_video` runs
    /// it on the RGB path, against `yuv_to_rgb`.
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
        let out = std::process::Command::new("ffmpeg")
            .args(["-nostdin", "-v", "error", "-f", "rawvideo", "-pix_fmt", "yuv420p"])
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
        let half = side / 2;
        let mut wrong = 0usize;
        for (p, rgb) in out.stdout.chunks_exact(3).enumerate() {
            let (row, col) = (p / side, p % side);
            let c = side * side + (row / 2) * half + col / 2;
            let (y, u, v) = (frame[p], frame[c], frame[c + half * half]);
            if yuv_to_rgb(y, u, v) != [rgb[0], rgb[1], rgb[2]] {
                if wrong < 5 {
                    eprintln!("Y={y} U={u} V={v}: ffmpeg {rgb:?}, ours {:?}", yuv_to_rgb(y, u, v));
                }
                wrong += 1;
            }
        }
        assert_eq!(wrong, 0, "triples converted differently from ffmpeg");
    }
}
