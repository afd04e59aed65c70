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
    fn tsh_jpeg_decode_sampled_raw(
        data: *const u8,
        len: usize,
        out_w: u32,
        out_h: u32,
        out: *mut u8,
        all_grey: *mut c_int,
        msg: *mut c_char,
        msg_len: usize,
    ) -> c_int;
    fn tsh_jpeg_decode_sampled(
        data: *const u8,
        len: usize,
        out_w: u32,
        out_h: u32,
        out: *mut u8,
        all_grey: *mut c_int,
        msg: *mut c_char,
        msg_len: usize,
    ) -> c_int;
}

const OK: c_int = 0;
const TRUNCATED: c_int = 2;
const ALLOC: c_int = 3;
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

/// Decodes and samples to `out_w × out_h` by nearest neighbour.
pub(crate) fn decode_sampled(
    data: &[u8],
    width: u32,
    height: u32,
    out_w: u32,
    out_h: u32,
) -> Result<Sampled, DecodeError> {
    let mut rgb = vec![0u8; out_w as usize * out_h as usize * 3];
    let mut all_grey: c_int = 1;
    let mut msg = [0u8; 200];
    // SAFETY: `rgb` holds out_w*out_h*3 bytes, which is what the shim writes.
    let mut rc = unsafe {
        tsh_jpeg_decode_sampled_raw(
            data.as_ptr(),
            data.len(),
            out_w,
            out_h,
            rgb.as_mut_ptr(),
            &mut all_grey,
            msg.as_mut_ptr().cast(),
            msg.len(),
        )
    };
    if rc == FALLBACK {
        all_grey = 1;
        // SAFETY: as above.
        rc = unsafe {
            tsh_jpeg_decode_sampled(
                data.as_ptr(),
                data.len(),
                out_w,
                out_h,
                rgb.as_mut_ptr(),
                &mut all_grey,
                msg.as_mut_ptr().cast(),
                msg.len(),
            )
        };
    }
    match rc {
        OK => Ok(Sampled {
            width,
            height,
            sample_width: out_w,
            sample_height: out_h,
            rgb,
            all_grey: all_grey != 0,
        }),
        TRUNCATED => Err(DecodeError::Truncated),
        ALLOC => Err(DecodeError::Corrupt("jpeg: out of memory".into())),
        _ => Err(DecodeError::Corrupt(format!("jpeg: {}", message(&msg)))),
    }
}
