//! Frames from the `ffmpeg` command line.

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use crate::{yuv, Feature, VpdqError};

/// How to hash a video.
#[derive(Debug, Clone, Copy)]
pub struct HashOptions {
    /// Seconds between hashed frames; 0 hashes every frame.
    pub seconds_per_hash: f64,
    /// Scale frames to N×N before hashing; 0 keeps the video's own size.
    pub size: u32,
    /// Stop ffmpeg after this long.
    pub timeout: Duration,
}

impl Default for HashOptions {
    fn default() -> Self {
        HashOptions {
            seconds_per_hash: 1.0,
            size: 0,
            timeout: Duration::from_secs(600),
        }
    }
}

/// What ffprobe says of the first video stream.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct VideoInfo {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `avg_frame_rate`, or `r_frame_rate` where that is 0.
    pub frame_rate: f64,
}

fn runs(program: &str) -> bool {
    Command::new(program)
        .arg("-version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// A program that is not on PATH is ffmpeg missing, not an I/O error. The
/// hashing path spawns directly rather than asking `ffmpeg_available` first:
/// each `-version` run costs a whole dynamic load of FFmpeg's libraries,
/// about as much CPU as decoding a short clip.
fn not_found(e: std::io::Error) -> VpdqError {
    if e.kind() == std::io::ErrorKind::NotFound {
        VpdqError::FfmpegNotFound
    } else {
        VpdqError::Io(e)
    }
}

/// Whether `ffmpeg` and `ffprobe` can be run (checked once per process).
pub fn ffmpeg_available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| runs("ffprobe") && runs("ffmpeg"))
}

fn rate(text: &str) -> Option<f64> {
    let (num, den) = text.trim().split_once('/').unwrap_or((text.trim(), "1"));
    let (num, den): (f64, f64) = (num.parse().ok()?, den.parse().ok()?);
    (num != 0.0 && den != 0.0).then_some(num / den)
}

fn first_line(text: &str) -> String {
    text.lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("unknown error")
        .trim()
        .to_string()
}

/// Reads the first video stream's size and frame rate.
pub fn probe(path: &Path) -> Result<VideoInfo, VpdqError> {
    probe_stream(path).map(|(info, _)| info)
}

/// The first video stream's size, frame rate and decoded pixel format.
fn probe_stream(path: &Path) -> Result<(VideoInfo, String), VpdqError> {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0"])
        .args([
            "-show_entries",
            "stream=width,height,pix_fmt,avg_frame_rate,r_frame_rate",
        ])
        .args(["-of", "default=noprint_wrappers=1"])
        .arg(path)
        .stdin(Stdio::null())
        .output()
        .map_err(not_found)?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(VpdqError::Decode(first_line(&String::from_utf8_lossy(&out.stderr))));
    }
    let field = |name: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix('=')))
            .map(str::trim)
    };
    let (Some(w), Some(h)) = (field("width"), field("height")) else {
        return Err(VpdqError::NoVideoStream);
    };
    let (width, height): (u32, u32) = match (w.parse(), h.parse()) {
        (Ok(w), Ok(h)) if w > 0 && h > 0 => (w, h),
        _ => return Err(VpdqError::Decode(format!("video stream of size {w}x{h}"))),
    };
    let frame_rate = field("avg_frame_rate")
        .and_then(rate)
        .or_else(|| field("r_frame_rate").and_then(rate))
        .ok_or_else(|| VpdqError::Decode("the video's frame rate is zero".into()))?;
    let pix_fmt = field("pix_fmt").unwrap_or_default().to_string();
    Ok((
        VideoInfo {
            width,
            height,
            frame_rate,
        },
        pix_fmt,
    ))
}

/// The send buffer asked for on the child's end of the frame channel.
#[cfg(unix)]
const SEND_BUFFER_BYTES: libc::c_int = 4 << 20;

/// The channel frames come through from the child: our end, and the
/// child's standard output.
///
/// On Unix it is a socket pair, not a pipe. A pipe's writer and reader take
/// the same lock for the whole of each copy, so when ffmpeg writes a
/// half-megabyte frame while we read the last one, one side spins on the
/// other: in some profiles of hashing a conformance video that spinning
/// (`mutex_spin_on_owner`) was about 5 % of all CPU. A socket's writer copies
/// into buffers of its own and queues them, so the copies never wait for
/// each other; otherwise the two cost about the same in profiles.
#[cfg(unix)]
fn frame_channel() -> std::io::Result<(Box<dyn Read + Send>, Stdio)> {
    use std::os::fd::{AsRawFd, OwnedFd};
    let (ours, theirs) = std::os::unix::net::UnixStream::pair()?;
    // Room for frames ahead, so the decoder seldom waits for us. The kernel
    // caps it at `net.core.wmem_max` (208 KiB on a stock kernel, which
    // profiles the same here). The receiving side of a Unix stream socket
    // has no buffer of its own to size.
    let size: libc::c_int = SEND_BUFFER_BYTES;
    // SAFETY: setsockopt on a socket we own, with a pointer to a live c_int
    // and its size; a failure leaves the default size, which still works.
    unsafe {
        libc::setsockopt(
            theirs.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_SNDBUF,
            (&size as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
    Ok((Box::new(ours), Stdio::from(OwnedFd::from(theirs))))
}

/// Elsewhere, a pipe.
#[cfg(not(unix))]
fn frame_channel() -> std::io::Result<(Box<dyn Read + Send>, Stdio)> {
    let (reader, writer) = std::io::pipe()?;
    Ok((Box::new(reader), Stdio::from(writer)))
}

/// Kills the child when dropped, so no path leaves a decoder running.
struct KillOnDrop(Arc<Mutex<Child>>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Ok(mut c) = self.0.lock() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Hashes a video's sampled frames as the reference does.
pub fn hash_video(path: &Path, options: &HashOptions) -> Result<(VideoInfo, Vec<Feature>), VpdqError> {
    let (info, pix_fmt) = probe_stream(path)?;
    let (w, h) = if options.size > 0 {
        (options.size, options.size)
    } else {
        (info.width, info.height)
    };
    // Native-size 4:2:0 8-bit video (nearly all of it) comes from the child
    // as it was decoded and is converted here exactly as swscale would (see
    // `yuv.rs`); anything else is converted by swscale in the child.
    let yuv = if options.size == 0 {
        yuv::coefficients(&pix_fmt, w, h)
    } else {
        None
    };
    // The reference: static_cast<int>(secondsPerHash * frameRate), at least 1.
    let frame_mod = ((options.seconds_per_hash * info.frame_rate) as i64).max(1) as u64;
    // swscale's area filter with the defaults sws_getContext uses: BT.601
    // coefficients and the range the pixel format implies, whatever the
    // stream's colour tags say (the command line would otherwise honour them).
    let select = format!("select=not(mod(n\\,{frame_mod}))");
    let filter = if yuv.is_some() {
        select
    } else {
        format!("{select},scale=w={w}:h={h}:flags=area:in_color_matrix=bt601:out_color_matrix=bt601,format=rgb24")
    };
    let (mut stdout, child_stdout) = frame_channel()?;
    // `-noautorotate`: phones tag portrait videos with a display rotation,
    // which the command line would apply (and our scale back to the stored
    // size would then squash). The reference hashes frames as decoded,
    // ignoring the tag, so a rotated copy must hash as its original does.
    let child = Command::new("ffmpeg")
        .args([
            "-nostdin",
            "-hide_banner",
            "-v",
            "error",
            "-threads",
            "1",
            "-noautorotate",
            "-i",
        ])
        .arg(path)
        .args([
            "-map",
            "0:v:0",
            "-an",
            "-sn",
            "-dn",
            "-fps_mode",
            "passthrough",
            "-vf",
            &filter,
        ])
        // The decoder's own format when converting here, so the child converts nothing.
        .args([
            "-f",
            "rawvideo",
            "-pix_fmt",
            if yuv.is_some() { &pix_fmt } else { "rgb24" },
            "-",
        ])
        .stdin(Stdio::null())
        .stdout(child_stdout)
        .stderr(Stdio::piped())
        .spawn()
        .map_err(not_found)?;
    let child = Arc::new(Mutex::new(child));
    let _guard = KillOnDrop(Arc::clone(&child));
    let mut stderr = {
        let mut c = child.lock().expect("child lock");
        c.stderr.take().expect("piped stderr")
    };
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let watchdog_child = Arc::clone(&child);
    let timeout = options.timeout;
    let watchdog = std::thread::spawn(move || {
        if done_rx.recv_timeout(timeout) == Err(mpsc::RecvTimeoutError::Timeout) {
            if let Ok(mut c) = watchdog_child.lock() {
                let _ = c.kill();
            }
            return true;
        }
        false
    });

    let (width, height) = (w as usize, h as usize);
    let frame_bytes = if yuv.is_some() {
        yuv::frame_bytes(width, height)
    } else {
        width * height * 3
    };
    let mut raw = vec![0u8; frame_bytes];
    let mut converter = yuv.map(yuv::Converter::new);
    let mut hasher = pdq::Hasher::new();
    let mut features = Vec::new();
    let mut read_error = None;
    for index in 0u64.. {
        match stdout.read_exact(&mut raw) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => {
                read_error = Some(e);
                break;
            }
        }
        // Luma is made a strip of rows at a time as PDQ asks for it, so the
        // frame is filtered while its rows are still in the cache.
        let hash = if let Some(converter) = &mut converter {
            hasher.hash_rows(width, height, |first, rows| {
                converter.luma_rows(&raw, width, height, first, rows)
            })
        } else {
            hasher.hash_rows(width, height, |first, rows| {
                let pixels = &raw[first * width * 3..(first * width + rows.len()) * 3];
                for (l, p) in rows.iter_mut().zip(pixels.chunks_exact(3)) {
                    *l = pdq::luma(p[0], p[1], p[2]);
                }
            })
        }
        .map_err(|e| VpdqError::Decode(e.to_string()))?;
        let frame = index * frame_mod;
        features.push(Feature {
            frame,
            quality: hash.quality,
            pdq: hash.hash,
            timestamp: frame as f64 / info.frame_rate,
        });
    }
    drop(stdout);
    let status = child.lock().expect("child lock").wait()?;
    let _ = done_tx.send(());
    let timed_out = watchdog.join().unwrap_or(false);
    let stderr_text = errors.join().unwrap_or_default();
    if timed_out {
        return Err(VpdqError::Timeout(timeout.as_secs()));
    }
    if let Some(e) = read_error {
        return Err(VpdqError::Io(e));
    }
    if !status.success() {
        return Err(VpdqError::Decode(first_line(&stderr_text)));
    }
    if features.is_empty() {
        return Err(VpdqError::Decode("no frame could be decoded".into()));
    }
    Ok((info, features))
}
