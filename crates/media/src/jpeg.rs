//! JPEG through the system's libjpeg-turbo (see `csrc/jpeg_shim.c`).
//!
//! libjpeg-turbo is the decoder ImageMagick uses, and so the one whose pixels
//! Meta's reference hashes: with it, PDQ hashes match the reference to the
//! bit. Pure-Rust decoders differ in IDCT and chroma upsampling by a few bits.

use std::os::raw::{c_char, c_int};

use crate::decode::{DecodeError, Sampled};

extern "C" {
    fn tsh_jpeg_header(
        data: *const u8,
        len: usize,
        width: *mut u32,
        height: *mut u32,
        components: *mut c_int,
        msg: *mut c_char,
        msg_len: usize,
    ) -> c_int;
    fn tsh_jpeg_decode(
        data: *const u8,
        len: usize,
        out_w: u32,
        out_h: u32,
        out: *mut u8,
        all_grey: *mut c_int,
        msg: *mut c_char,
        msg_len: usize,
        mode: c_int,
    ) -> c_int;
    fn tsh_jpeg_encode(
        rgb: *const u8,
        width: u32,
        height: u32,
        quality: c_int,
        out: *mut *mut u8,
        out_len: *mut std::os::raw::c_ulong,
        msg: *mut c_char,
        msg_len: usize,
    ) -> c_int;
    fn tsh_free(p: *mut std::ffi::c_void);
}

/// Encodes 8-bit RGB (row-major, 3 bytes a pixel) as a baseline 4:2:0 JPEG
/// at `quality` (1–100) with the system libjpeg: how tests and the demo make
/// benign photos and re-encoded copies of them.
pub fn encode_jpeg(rgb: &[u8], width: u32, height: u32, quality: u8) -> Result<Vec<u8>, DecodeError> {
    let expected = width as usize * height as usize * 3;
    if width == 0 || height == 0 || rgb.len() != expected {
        return Err(DecodeError::Corrupt(format!(
            "encode_jpeg: {} bytes for a {width}x{height} RGB image",
            rgb.len()
        )));
    }
    let mut out: *mut u8 = std::ptr::null_mut();
    let mut out_len: std::os::raw::c_ulong = 0;
    let mut msg = [0u8; 256];
    // SAFETY: `rgb` holds width*height*3 bytes (checked above); the shim
    // writes a malloc'd buffer and its length, released below with tsh_free.
    let code = unsafe {
        tsh_jpeg_encode(
            rgb.as_ptr(),
            width,
            height,
            c_int::from(quality.clamp(1, 100)),
            &mut out,
            &mut out_len,
            msg.as_mut_ptr().cast(),
            msg.len(),
        )
    };
    if code != OK || out.is_null() {
        return Err(DecodeError::Corrupt(format!("encode_jpeg: {}", message(&msg))));
    }
    // SAFETY: the shim reported success, so `out` points at `out_len` bytes it allocated.
    let bytes = unsafe { std::slice::from_raw_parts(out, out_len as usize) }.to_vec();
    // SAFETY: `out` came from the shim's malloc and is freed once.
    unsafe { tsh_free(out.cast()) };
    Ok(bytes)
}

/// Which conversion path the shim takes.
#[derive(Clone, Copy)]
#[repr(i32)]
enum Mode {
    /// The fast path where it applies, libjpeg's own conversion otherwise.
    Auto = 0,
    /// Only libjpeg's own upsampling and colour conversion.
    #[cfg(test)]
    Full = 1,
    /// Only the fast path (answers FALLBACK where it does not apply).
    #[cfg(test)]
    Fast = 2,
}

const OK: c_int = 0;
const TRUNCATED: c_int = 2;
const ALLOC: c_int = 3;
#[cfg(test)]
const FALLBACK: c_int = 4;

fn message(buf: &[u8]) -> String {
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

/// Width and height from the JPEG header, without decoding pixels.
pub(crate) fn dimensions(data: &[u8]) -> Result<(u32, u32), DecodeError> {
    let (mut w, mut h, mut comps) = (0u32, 0u32, 0 as c_int);
    let mut msg = [0u8; 200];
    // SAFETY: every pointer is valid for the call; the shim never keeps them.
    let rc = unsafe {
        tsh_jpeg_header(
            data.as_ptr(),
            data.len(),
            &mut w,
            &mut h,
            &mut comps,
            msg.as_mut_ptr().cast(),
            msg.len(),
        )
    };
    if rc != OK {
        return Err(DecodeError::Corrupt(format!("jpeg: {}", message(&msg))));
    }
    Ok((w, h))
}

/// One decoder's answer: return code, sampled RGB, all-grey flag, message.
struct Run {
    rc: c_int,
    rgb: Vec<u8>,
    all_grey: bool,
    message: String,
}

fn run(mode: Mode, data: &[u8], out_w: u32, out_h: u32) -> Run {
    let mut rgb = vec![0u8; out_w as usize * out_h as usize * 3];
    let mut all_grey: c_int = 1;
    let mut msg = [0u8; 200];
    // SAFETY: `rgb` holds out_w*out_h*3 bytes, which is what the shim writes;
    // the other pointers are valid for the call and not kept.
    let rc = unsafe {
        tsh_jpeg_decode(
            data.as_ptr(),
            data.len(),
            out_w,
            out_h,
            rgb.as_mut_ptr(),
            &mut all_grey,
            msg.as_mut_ptr().cast(),
            msg.len(),
            mode as c_int,
        )
    };
    Run {
        rc,
        rgb,
        all_grey: all_grey != 0,
        message: message(&msg),
    }
}

/// Decodes and samples to `out_w × out_h` by nearest neighbour.
pub(crate) fn decode_sampled(
    data: &[u8],
    width: u32,
    height: u32,
    out_w: u32,
    out_h: u32,
) -> Result<Sampled, DecodeError> {
    let result = run(Mode::Auto, data, out_w, out_h);
    match result.rc {
        OK => Ok(Sampled {
            width,
            height,
            sample_width: out_w,
            sample_height: out_h,
            rgb: result.rgb,
            all_grey: result.all_grey,
        }),
        TRUNCATED => Err(DecodeError::Truncated),
        ALLOC => Err(DecodeError::Corrupt("jpeg: out of memory".into())),
        _ => Err(DecodeError::Corrupt(format!("jpeg: {}", result.message))),
    }
}

#[cfg(test)]
mod tests {
    //! The fast path against libjpeg's own upsampling and colour conversion,
    //! byte for byte, on every JPEG at hand.

    use super::*;
    use std::path::{Path, PathBuf};

    fn jpegs_in(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                jpegs_in(&p, out);
            } else if p.extension().is_some_and(|x| x == "jpg") {
                out.push(p);
            }
        }
    }

    #[test]
    fn fast_path_equals_libjpeg_colour_conversion() {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        jpegs_in(&root.join("tests/fixtures"), &mut files);
        jpegs_in(&root.join("../../samples"), &mut files);
        jpegs_in(&root.join("../../../shared/conformance/pdq"), &mut files);
        assert!(files.len() >= 14);
        let mut fast = Vec::new();
        for file in &files {
            let data = std::fs::read(file).unwrap();
            let (w, h) = dimensions(&data).unwrap();
            for (ow, oh) in [(w, h), (512, 512), (97, 31)] {
                let quick = run(Mode::Fast, &data, ow, oh);
                if quick.rc == FALLBACK {
                    continue;
                }
                let full = run(Mode::Full, &data, ow, oh);
                let name = file.display();
                assert_eq!(quick.rc, full.rc, "{name} at {ow}x{oh}");
                assert_eq!(quick.all_grey, full.all_grey, "{name} at {ow}x{oh}: grey flag");
                let first_diff = quick.rgb.iter().zip(&full.rgb).position(|(a, b)| a != b);
                assert_eq!(first_diff, None, "{name} at {ow}x{oh}: first differing byte");
                fast.push(file.file_name().unwrap().to_string_lossy().into_owned());
            }
        }
        // The fast path must really be exercised on 4:2:0 and 4:4:4, odd sizes and progressive files.
        for name in [
            "s420-odd-333x211.jpg",
            "s444-odd-201x157.jpg",
            "s420-progressive-257x255.jpg",
            "s420-narrow-5x9.jpg",
            "s420-neutral-150x100.jpg",
            "street-730x411.jpg",
        ] {
            assert!(fast.iter().any(|f| f == name), "{name} did not take the fast path");
        }
        // And must leave 4:2:2 and chroma two samples wide to libjpeg.
        for name in ["s422-300x200.jpg", "s420-narrow-3x40.jpg", "s420-1x1.jpg"] {
            assert!(!fast.iter().any(|f| f == name), "{name} took the fast path");
        }
    }
}
