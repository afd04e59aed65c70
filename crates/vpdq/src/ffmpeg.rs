//! Frames from the `ffmpeg` command line.

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use crate::{mp4, yuv, Feature, VpdqError};

mod batch;
pub use batch::{hash_videos, MAX_VIDEOS_PER_RUN};

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

/// The first video stream's size and frame rate.
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
        .arg(input_url(path))
        .stdin(Stdio::null())
        .output()
        .map_err(not_found)?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        let message = first_line(&String::from_utf8_lossy(&out.stderr));
        let url = input_url(path).to_string_lossy().into_owned();
        return Err(VpdqError::Decode(message.replace(&url, &path.display().to_string())));
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
fn frame_channel() -> std::io::Result<(FrameReader, Stdio)> {
    let (ours, theirs) = socket_pair()?;
    Ok((ours, Stdio::from(theirs)))
}

/// A frame channel's two ends: ours, and the child's.
#[cfg(unix)]
fn socket_pair() -> std::io::Result<(FrameReader, std::os::fd::OwnedFd)> {
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
    Ok((ours, OwnedFd::from(theirs)))
}

/// Elsewhere, a pipe.
#[cfg(not(unix))]
fn frame_channel() -> std::io::Result<(FrameReader, Stdio)> {
    let (reader, writer) = std::io::pipe()?;
    Ok((reader, Stdio::from(writer)))
}

/// Our end of the frame channel.
#[cfg(unix)]
type FrameReader = std::os::unix::net::UnixStream;
#[cfg(not(unix))]
type FrameReader = std::io::PipeReader;

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

/// ffmpeg's input argument for a path: `file:` keeps a name such as
/// `http:x.mp4` or `concat:a|b` (both possible on a seized device) from being
/// read as a protocol.
fn input_url(path: &Path) -> std::ffi::OsString {
    let mut url = std::ffi::OsString::from("file:");
    url.push(path.as_os_str());
    url
}

/// The frames' layout, as the stream line of ffmpeg's `Output #0` report
/// gives it.
#[derive(Debug, Clone, PartialEq)]
struct StreamFormat {
    pix_fmt: String,
    width: u32,
    height: u32,
}

/// Frames larger than this are refused rather than allocated: a 16K frame
/// in RGB is 0.8 GB.
const MAX_FRAME_BYTES: usize = 1 << 30;

/// What comes through the frame channel: the decoder's own 4:2:0 frames,
/// converted to luma here, or RGB24 from swscale in the child.
enum Frames {
    Yuv420(yuv::Coefficients),
    Rgb24,
}

impl Frames {
    /// The bytes of one frame, or `None` past [`MAX_FRAME_BYTES`].
    fn frame_bytes(&self, width: usize, height: usize) -> Option<usize> {
        let pixels = width.checked_mul(height).filter(|&p| p <= MAX_FRAME_BYTES)?;
        let bytes = match self {
            Frames::Yuv420(_) => yuv::frame_bytes(width, height),
            Frames::Rgb24 => pixels * 3,
        };
        (bytes <= MAX_FRAME_BYTES).then_some(bytes)
    }
}

/// What ffmpeg's log said before its first frame.
#[cfg(unix)]
enum Discovery {
    /// The frames' format.
    Format(StreamFormat),
    /// ffmpeg ended without reporting an output and without writing a
    /// frame: it failed, or the video has no frame.
    Ended,
    /// Frames come, but the log does not say their format in a way this
    /// code understands.
    NotInLog,
}

/// ffmpeg's log (`-v level+info`), read a line at a time as it comes: the
/// report of the output, and the lines at level error or worse. Nothing
/// else is kept, so a noisy decoder or a file with megabytes of metadata
/// costs no memory and cannot push the report or the errors out.
#[derive(Default)]
struct Log {
    line: Vec<u8>,
    /// The heading of the report of our output (see `unpredictable_output_url`).
    heading: String,
    in_report: bool,
    format: Option<StreamFormat>,
    errors: Vec<String>,
    /// The YUV4MPEG muxer refused the stream (its pixel format), at any
    /// point of the log: other errors may come first.
    y4m_refused: bool,
}

/// Lines longer than this are cut: no line this code looks for is near it.
const MAX_LOG_LINE: usize = 4096;
/// Error lines kept for the message (a corrupt stream can log thousands).
const MAX_ERROR_LINES: usize = 16;

impl Log {
    fn new(muxer: &str, output_url: &str) -> Self {
        Log {
            line: Vec::new(),
            heading: format!("[info] Output #0, {muxer}, to '{output_url}':"),
            in_report: false,
            format: None,
            errors: Vec::new(),
            y4m_refused: false,
        }
    }

    fn feed(&mut self, mut bytes: &[u8]) {
        while let Some(end) = bytes.iter().position(|&b| b == b'\n') {
            self.extend_line(&bytes[..end]);
            self.end_line();
            bytes = &bytes[end + 1..];
        }
        self.extend_line(bytes);
    }

    fn extend_line(&mut self, bytes: &[u8]) {
        let room = MAX_LOG_LINE.saturating_sub(self.line.len());
        self.line.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    /// Reads the rest of the log, until the child closes it.
    fn read_to_end(&mut self, stderr: &mut impl Read) {
        let mut chunk = [0u8; 16 << 10];
        loop {
            match stderr.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => self.feed(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
    }

    /// Takes a last line without its newline.
    fn end(&mut self) {
        if !self.line.is_empty() {
            self.end_line();
        }
    }

    fn end_line(&mut self) {
        let line = String::from_utf8_lossy(&self.line);
        if self.format.is_none() {
            if line == self.heading {
                self.in_report = true;
            } else if self.in_report && line.starts_with("[info]   Stream #0:0") {
                self.format = parse_stream_line(&line);
                self.in_report = false;
            }
        }
        if let Some(error) = error_line(&line) {
            self.y4m_refused |= error.starts_with("[yuv4mpegpipe @");
            if self.errors.len() < MAX_ERROR_LINES {
                self.errors.push(error);
            }
        }
        self.line.clear();
    }
}

/// What the child writes.
#[derive(Clone, Copy)]
enum Output<'a> {
    /// YUV4MPEG: the decoder's own frames (in `pix_fmt` when given). Its
    /// muxer writes the planes straight from the decoded frame, where raw
    /// video's encoder first packs each frame into a packet: one copy of
    /// every frame fewer, 3–4 % of ffmpeg's CPU in profiles.
    Y4m(Option<&'a str>),
    /// Raw RGB24, converted by swscale in the child.
    Rgb24,
}

/// ffmpeg, quiet but for its log: `-v level+info` tags each line with its
/// level, so errors can be told apart, and keeps the `Output #0` report
/// that says the frames' format.
fn ffmpeg_command() -> Command {
    let mut command = Command::new("ffmpeg");
    command.args(["-nostdin", "-hide_banner", "-nostats", "-v", "level+info"]);
    command
}

/// Adds a video to decode. `-noautorotate`: phones tag portrait videos with
/// a display rotation, which the command line would apply (and our scale
/// back to the stored size would then squash). The reference hashes frames
/// as decoded, ignoring the tag, so a rotated copy must hash as its
/// original does.
fn add_input(command: &mut Command, path: &Path) {
    command
        .args(["-threads", "1", "-noautorotate", "-i"])
        .arg(input_url(path));
}

/// Adds an output of the first video stream of input `input` through
/// `filter`, every frame as it comes; its format and name follow.
fn add_video_output(command: &mut Command, input: usize, filter: &str) {
    command
        .args(["-map", &format!("{input}:v:0"), "-an", "-sn", "-dn"])
        .args(["-fps_mode", "passthrough", "-vf", filter])
        // No text from the file in the output's report.
        .args(["-map_metadata", "-1", "-map_chapters", "-1"]);
}

/// A running `ffmpeg` child and the threads that watch it.
struct Decoder {
    frames: FrameReader,
    /// The frames come as YUV4MPEG (else raw).
    y4m: bool,
    /// YUV4MPEG's stream header, where `discover_format` read it.
    y4m_header: Option<Vec<u8>>,
    child: Arc<Mutex<Child>>,
    /// The child's log, until `keep_reading_log` hands it to a thread.
    stderr: Option<std::process::ChildStderr>,
    log: Log,
    log_reader: Option<std::thread::JoinHandle<Log>>,
    /// The input as ffmpeg was given it and as our messages name it.
    input: (String, String),
    done: mpsc::Sender<()>,
    watchdog: std::thread::JoinHandle<bool>,
    timeout: Duration,
    _guard: KillOnDrop,
}

/// A name for ffmpeg's output that nothing in the input can predict. The
/// input's report shows the file's metadata, which could otherwise pose as
/// the report of the output that says the frames' format. The `pipe:`
/// protocol writes to standard output whenever what follows it is not a
/// number, so the name costs nothing.
fn unpredictable_output_url() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    format!("pipe:tantalum{:016x}", hasher.finish())
}

impl Decoder {
    /// Starts ffmpeg on the first video stream through `filter`, writing
    /// `output`; it is stopped at `deadline`, which a restart keeps.
    fn spawn(path: &Path, filter: &str, output: Output<'_>, deadline: Deadline) -> Result<Decoder, VpdqError> {
        let (frames, child_stdout) = frame_channel()?;
        let output_url = unpredictable_output_url();
        let mut command = ffmpeg_command();
        add_input(&mut command, path);
        add_video_output(&mut command, 0, filter);
        let muxer = match output {
            // `-strict -1`: deep and 4:4:4 formats too, which are then
            // reported and restarted as RGB rather than refused.
            Output::Y4m(pix_fmt) => {
                command.args(["-strict", "-1", "-f", "yuv4mpegpipe"]);
                if let Some(pix_fmt) = pix_fmt {
                    command.args(["-pix_fmt", pix_fmt]);
                }
                "yuv4mpegpipe"
            }
            Output::Rgb24 => {
                command.args(["-f", "rawvideo", "-pix_fmt", "rgb24"]);
                "rawvideo"
            }
        };
        let mut child = command
            .arg(&output_url)
            .stdin(Stdio::null())
            .stdout(child_stdout)
            .stderr(Stdio::piped())
            .spawn()
            .map_err(not_found)?;
        let stderr = child.stderr.take();
        let child = Arc::new(Mutex::new(child));
        let guard = KillOnDrop(Arc::clone(&child));
        let (done, watchdog) = watch(&child, deadline);
        Ok(Decoder {
            frames,
            y4m: matches!(output, Output::Y4m(_)),
            y4m_header: None,
            child,
            stderr,
            log: Log::new(muxer, &output_url),
            log_reader: None,
            input: (
                input_url(path).to_string_lossy().into_owned(),
                path.display().to_string(),
            ),
            done,
            watchdog,
            timeout: deadline.limit,
            _guard: guard,
        })
    }

    /// Reads ffmpeg's log until a frame can be read (or ffmpeg has ended),
    /// and says what the log gave by then.
    ///
    /// ffmpeg writes its report of the output before the first frame, so
    /// once a frame is readable the report is in the log. The log is read
    /// while waiting, not after, because ffmpeg stops when its log is full.
    #[cfg(unix)]
    fn discover_format(&mut self) -> Discovery {
        use std::os::fd::AsRawFd;
        let Some(stderr) = self.stderr.as_mut() else {
            return Discovery::NotInLog;
        };
        let mut chunk = [0u8; 16 << 10];
        let poll_fd = |fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        let mut fds = [poll_fd(self.frames.as_raw_fd()), poll_fd(stderr.as_raw_fd())];
        let mut frame_ready = false;
        while self.log.format.is_none() {
            // Until a frame is ready, waiting without a limit: the watchdog
            // kills the child at the deadline, which ends the log. After,
            // taking only what the log holds already.
            let wait_ms = if frame_ready { 0 } else { -1 };
            // SAFETY: two live pollfd structs, their count, a timeout.
            if unsafe { libc::poll(fds.as_mut_ptr(), 2, wait_ms) } < 0 {
                if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return Discovery::NotInLog;
            }
            if fds[1].revents != 0 {
                match stderr.read(&mut chunk) {
                    Ok(0) => break,
                    Ok(n) => {
                        self.log.feed(&chunk[..n]);
                        continue;
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(_) => break,
                }
            }
            if frame_ready {
                break;
            }
            if fds[0].revents != 0 {
                // YUV4MPEG's stream header is written before the report; the
                // first frame only after it.
                if self.y4m && self.y4m_header.is_none() {
                    self.y4m_header = Some(read_line(&mut self.frames));
                    continue;
                }
                frame_ready = true;
            }
        }
        if let Some(format) = self.log.format.take() {
            return Discovery::Format(format);
        }
        // No report, and the log ended (the child is ending) or a frame
        // came. A closed channel polls readable too, so look for data.
        let mut byte = 0u8;
        // SAFETY: a one-byte peek into a live byte, not waiting.
        let peeked = unsafe {
            libc::recv(
                self.frames.as_raw_fd(),
                (&mut byte as *mut u8).cast(),
                1,
                libc::MSG_PEEK | libc::MSG_DONTWAIT,
            )
        };
        if peeked > 0 {
            Discovery::NotInLog
        } else {
            Discovery::Ended
        }
    }

    /// Hands the rest of the log to a thread, so ffmpeg never waits on it.
    fn keep_reading_log(&mut self) {
        if let Some(mut stderr) = self.stderr.take() {
            let mut log = std::mem::take(&mut self.log);
            self.log_reader = Some(std::thread::spawn(move || {
                log.read_to_end(&mut stderr);
                log
            }));
        }
    }

    /// Waits for the child and says how it went.
    fn finish(self, read_error: Option<std::io::Error>) -> Result<(), VpdqError> {
        self.finish_with_log(read_error).0
    }

    /// [`Decoder::finish`], and the child's whole log.
    fn finish_with_log(mut self, read_error: Option<std::io::Error>) -> (Result<(), VpdqError>, Log) {
        self.keep_reading_log();
        drop(self.frames);
        let status = self.child.lock().expect("child lock").wait();
        let _ = self.done.send(());
        let timed_out = self.watchdog.join().unwrap_or(false);
        let mut log = match self.log_reader.take() {
            Some(reader) => reader.join().unwrap_or_default(),
            None => self.log,
        };
        log.end();
        let result = if timed_out {
            Err(VpdqError::Timeout(self.timeout.as_secs()))
        } else if let Some(e) = read_error {
            Err(VpdqError::Io(e))
        } else {
            match status {
                Err(e) => Err(VpdqError::Io(e)),
                Ok(status) if !status.success() => {
                    let (url, path) = &self.input;
                    Err(match log.errors.first() {
                        Some(line) if line.contains("matches no streams") => VpdqError::NoVideoStream,
                        Some(line) => VpdqError::Decode(line.replace(url.as_str(), path)),
                        None => VpdqError::Decode(format!("ffmpeg failed ({status})")),
                    })
                }
                Ok(_) => Ok(()),
            }
        };
        (result, log)
    }
}

/// Kills the child at the deadline unless told first that it is done; the
/// thread says whether it killed it.
fn watch(child: &Arc<Mutex<Child>>, deadline: Deadline) -> (mpsc::Sender<()>, std::thread::JoinHandle<bool>) {
    let (done, done_rx) = mpsc::channel::<()>();
    let child = Arc::clone(child);
    let left = deadline.at.saturating_duration_since(std::time::Instant::now());
    let watchdog = std::thread::spawn(move || {
        if done_rx.recv_timeout(left) == Err(mpsc::RecvTimeoutError::Timeout) {
            if let Ok(mut c) = child.lock() {
                let _ = c.kill();
            }
            return true;
        }
        false
    });
    (done, watchdog)
}

/// When to stop decoding one video, over however many children it takes.
#[derive(Clone, Copy)]
struct Deadline {
    at: std::time::Instant,
    limit: Duration,
}

/// A line ffmpeg logged at level error or worse, without its level tag, or
/// `None`. av_log writes such a line as `[error] message`, or after the
/// context's own tags: `[h264 @ 0x55…] [error] message` (two for a nested
/// context). Only that shape counts: text from the file (a title, say)
/// appears in lines that begin `[info]`, and cannot pass for an error.
fn error_line(line: &str) -> Option<String> {
    let mut rest = line;
    let mut context = String::new();
    for _ in 0..3 {
        for tag in ["[error] ", "[fatal] ", "[panic] "] {
            if let Some(message) = rest.strip_prefix(tag) {
                return Some(format!("{context}{message}").trim().to_string());
            }
        }
        // A context tag: `[name @ 0xHEX] `.
        let end = rest.find("] ")?;
        let (name, address) = rest.strip_prefix('[')?[..end - 1].split_once(" @ 0x")?;
        if name.is_empty() || address.is_empty() || !address.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        context.push_str(&rest[..end + 2]);
        rest = &rest[end + 2..];
    }
    None
}

/// The frames' format from the stream line of ffmpeg's report of its
/// output, e.g.
/// `[info]   Stream #0:0: Video: rawvideo (I420 / 0x30323449), yuv420p(progressive), 480x720, q=2-31, …`.
fn parse_stream_line(stream: &str) -> Option<StreamFormat> {
    let description = &stream[stream.find(": Video: ")? + ": Video: ".len()..];
    // Fields are separated by ", " outside brackets: codec, pixel format
    // with its details, size with its aspect ratios, then rates.
    let mut fields = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in description.char_indices() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth -= 1,
            ',' if depth == 0 => {
                fields.push(description[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    fields.push(description[start..].trim());
    let pix_fmt = fields.get(1)?.split('(').next()?.trim();
    let (width, height) = fields.get(2)?.split(' ').next()?.split_once('x')?;
    let (width, height): (u32, u32) = (width.parse().ok()?, height.parse().ok()?);
    (width > 0 && height > 0 && !pix_fmt.is_empty()).then(|| StreamFormat {
        pix_fmt: pix_fmt.to_string(),
        width,
        height,
    })
}

/// The RGB path: swscale's area filter with the defaults sws_getContext
/// uses: BT.601 coefficients and the range the pixel format implies,
/// whatever the stream's colour tags say (the command line would otherwise
/// honour them).
fn rgb_filter(select: &str, width: u32, height: u32) -> String {
    format!("{select},scale=w={width}:h={height}:flags=area:in_color_matrix=bt601:out_color_matrix=bt601,format=rgb24")
}

/// The reference's `frameMod`: `static_cast<int>(secondsPerHash * frameRate)`,
/// at least 1.
fn frame_mod(seconds_per_hash: f64, frame_rate: f64) -> u64 {
    ((seconds_per_hash * frame_rate) as i64).max(1) as u64
}

/// The filter that keeps every `frame_mod`-th decoded frame.
fn select_filter(frame_mod: u64) -> String {
    format!("select=not(mod(n\\,{frame_mod}))")
}

/// Hashes a video's sampled frames as the reference does.
pub fn hash_video(path: &Path, options: &HashOptions) -> Result<(VideoInfo, Vec<Feature>), VpdqError> {
    // MP4 and QuickTime files (nearly all phone and chat video) state the
    // frame rate in their boxes, read here as libavformat reads them. Only
    // other files, and N×N hashing (whose report needs the video's own
    // size), ask ffprobe, a second child whose dynamic loading alone costs
    // about as much CPU as decoding a short clip.
    let known_rate = if options.size == 0 && cfg!(unix) {
        mp4::mp4_frame_rate(path)
    } else {
        None
    };
    let deadline = Deadline {
        at: std::time::Instant::now() + options.timeout,
        limit: options.timeout,
    };
    let (frame_rate, probed) = match known_rate {
        Some((num, den)) => (num as f64 / den as f64, None),
        None => {
            let (info, pix_fmt) = probe_stream(path)?;
            (info.frame_rate, Some((info, pix_fmt)))
        }
    };
    let frame_mod = frame_mod(options.seconds_per_hash, frame_rate);
    let select = select_filter(frame_mod);
    // Native-size 4:2:0 8-bit video (nearly all of it) comes from the child
    // as it was decoded and is converted here exactly as swscale would (see
    // `yuv.rs`); anything else is converted by swscale in the child.
    let (mut decoder, frames, width, height) = match probed {
        Some((info, pix_fmt)) => probed_frames(path, &select, &info, &pix_fmt, options.size, deadline)?,
        None => native_frames(path, &select, deadline)?,
    };
    decoder.keep_reading_log();
    let info = VideoInfo {
        width,
        height,
        frame_rate,
    };

    if decoder.y4m {
        let header = match decoder.y4m_header.take() {
            Some(header) => header,
            None => read_line(&mut decoder.frames),
        };
        check_y4m_header(&header, width as usize, height as usize)?;
    }
    let sampling = Sampling { frame_mod, frame_rate };
    let (features, read_error) = hash_frames(&mut decoder.frames, decoder.y4m, frames, &info, sampling)?;
    decoder.finish(read_error)?;
    if features.is_empty() {
        return Err(VpdqError::Decode("no frame could be decoded".into()));
    }
    Ok((info, features))
}

/// Which decoded frames are hashed, and their timestamps.
#[derive(Clone, Copy)]
struct Sampling {
    /// Every `frame_mod`-th frame, from the first.
    frame_mod: u64,
    frame_rate: f64,
}

/// Reads and hashes the frames of a channel (past YUV4MPEG's stream
/// header) until it ends; a read error ends them too, and is handed back
/// for the child's exit status to be weighed with it.
fn hash_frames(
    channel: &mut impl Read,
    y4m: bool,
    frames: Frames,
    info: &VideoInfo,
    sampling: Sampling,
) -> Result<(Vec<Feature>, Option<std::io::Error>), VpdqError> {
    let (width, height) = (info.width as usize, info.height as usize);
    let Some(frame_bytes) = frames.frame_bytes(width, height) else {
        return Err(VpdqError::Decode(format!("frames of {width}x{height} are too large")));
    };
    let mut raw = vec![0u8; frame_bytes];
    let mut converter = match frames {
        Frames::Yuv420(coefficients) => Some(yuv::Converter::new(coefficients)),
        Frames::Rgb24 => None,
    };
    let mut hasher = pdq::Hasher::new();
    let mut features = Vec::new();
    let mut read_error = None;
    for index in 0u64.. {
        match read_frame(channel, y4m, &mut raw) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                read_error = Some(e);
                break;
            }
        }
        // Luma is made a strip of rows at a time as PDQ asks for it, so the
        // frame is filtered while its rows are still in the cache.
        let hash = if let Some(converter) = &mut converter {
            hasher.hash_strips(width, height, |first, rows, strip| {
                converter.luma_strip(yuv::Planes::of(&raw, width, height), first, rows, strip)
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
        let frame = index * sampling.frame_mod;
        features.push(Feature {
            frame,
            quality: hash.quality,
            pdq: hash.hash,
            timestamp: frame as f64 / sampling.frame_rate,
        });
    }
    Ok((features, read_error))
}

/// Reads a line (YUV4MPEG's stream header) from the frame channel a byte
/// at a time, so that no frame is read with it: up to 1 KiB, without the
/// newline; what came before the end where the channel ends first.
fn read_line(frames: &mut impl Read) -> Vec<u8> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while line.len() < 1024 {
        match frames.read(&mut byte) {
            Ok(1) if byte[0] != b'\n' => line.push(byte[0]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            _ => break,
        }
    }
    line
}

/// Checks that YUV4MPEG's stream header announces frames of the size
/// ffmpeg reported. An empty one is a child that failed before writing
/// anything, which it says when it is waited for.
fn check_y4m_header(header: &[u8], width: usize, height: usize) -> Result<(), VpdqError> {
    let text = String::from_utf8_lossy(header);
    let mut fields = text.split(' ');
    let expected = [format!("W{width}"), format!("H{height}")];
    if header.is_empty() || fields.next() == Some("YUV4MPEG2") && fields.take(2).eq(expected.iter().map(String::as_str))
    {
        return Ok(());
    }
    Err(VpdqError::Decode(format!(
        "ffmpeg's YUV4MPEG header {text:?} is not of {width}x{height} frames"
    )))
}

/// Reads the next frame into `frame`: `false` at the end of the stream
/// (a frame cut short by the child's end included: whether that is an
/// error is the child's exit status to say).
fn read_frame(frames: &mut impl Read, y4m: bool, frame: &mut [u8]) -> std::io::Result<bool> {
    let read = |frames: &mut dyn Read, bytes: &mut [u8]| match frames.read_exact(bytes) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(false),
        Err(e) => Err(e),
    };
    if y4m {
        let mut marker = [0u8; 6];
        if !read(frames, &mut marker)? {
            return Ok(false);
        }
        if &marker != b"FRAME\n" {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "ffmpeg's YUV4MPEG stream lost its frame markers",
            ));
        }
    }
    read(frames, frame)
}

/// Starts ffmpeg on a video ffprobe has described.
fn probed_frames(
    path: &Path,
    select: &str,
    info: &VideoInfo,
    pix_fmt: &str,
    size: u32,
    deadline: Deadline,
) -> Result<(Decoder, Frames, u32, u32), VpdqError> {
    let (w, h) = if size > 0 {
        (size, size)
    } else {
        (info.width, info.height)
    };
    let native = if size == 0 {
        yuv::coefficients(pix_fmt, w, h)
    } else {
        None
    };
    let decoder = match native {
        Some(_) => Decoder::spawn(path, select, Output::Y4m(Some(pix_fmt)), deadline)?,
        None => Decoder::spawn(path, &rgb_filter(select, w, h), Output::Rgb24, deadline)?,
    };
    Ok((decoder, native.map_or(Frames::Rgb24, Frames::Yuv420), w, h))
}

/// Starts ffmpeg at the video's own size and format, learning both from
/// its log, so that no ffprobe is needed; starts it again with RGB output
/// when the format is not one converted here.
#[cfg(unix)]
fn native_frames(path: &Path, select: &str, deadline: Deadline) -> Result<(Decoder, Frames, u32, u32), VpdqError> {
    let mut decoder = Decoder::spawn(path, select, Output::Y4m(None), deadline)?;
    let format = match decoder.discover_format() {
        Discovery::Format(format) => format,
        Discovery::Ended => match decoder.finish_with_log(None) {
            // A format YUV4MPEG cannot carry (RGB, palettes, NV12…): ffprobe
            // names it, and swscale converts it.
            (Err(_), log) if log.y4m_refused => {
                return ffprobes_frames(path, select, deadline);
            }
            (Err(e), _) => return Err(e),
            (Ok(()), _) => return Err(VpdqError::Decode("no frame could be decoded".into())),
        },
        Discovery::NotInLog => {
            drop(decoder);
            return ffprobes_frames(path, select, deadline);
        }
    };
    let (w, h) = (format.width, format.height);
    match yuv::coefficients(&format.pix_fmt, w, h) {
        Some(c) => Ok((decoder, Frames::Yuv420(c), w, h)),
        None => {
            drop(decoder);
            let decoder = Decoder::spawn(path, &rgb_filter(select, w, h), Output::Rgb24, deadline)?;
            Ok((decoder, Frames::Rgb24, w, h))
        }
    }
}

/// Without `poll`, ffprobe's way.
#[cfg(not(unix))]
fn native_frames(path: &Path, select: &str, deadline: Deadline) -> Result<(Decoder, Frames, u32, u32), VpdqError> {
    ffprobes_frames(path, select, deadline)
}

/// Asks ffprobe for the video's size and format, then starts ffmpeg at
/// that size.
fn ffprobes_frames(path: &Path, select: &str, deadline: Deadline) -> Result<(Decoder, Frames, u32, u32), VpdqError> {
    let (info, pix_fmt) = probe_stream(path)?;
    probed_frames(path, select, &info, &pix_fmt, 0, deadline)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The log of `ffmpeg -v level+info` (FFmpeg 5.1) hashing a conformance
    /// video, with a file whose metadata poses as an output report.
    const LOG: &str = "\
[info] Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'file:chair-19-sd-bar.mp4':
[info]   Metadata:
[info]     title           : [info] Output #0, rawvideo, to 'pipe:':
[info]   Stream #0:0: Video: rawvideo (Y800 / 0x30303859), gray, 8x8, q=2-31
[info]   Stream #0:0[0x1](und): Video: h264 (Main) (avc1 / 0x31637661), yuv420p(progressive), 480x720, 827 kb/s
[info] Stream mapping:
[info]   Stream #0:0 -> #0:0 (h264 (native) -> rawvideo (native))
[info] Output #0, rawvideo, to 'pipe:tantalum0123':
[info]   Metadata:
[info]     encoder         : Lavf59.27.100
[info]   Stream #0:0: Video: rawvideo (I420 / 0x30323449), yuvj420p(pc, bt709, progressive), 480x720 [SAR 1:1 DAR 2:3], q=2-31, 124416 kb/s, 30 fps, 30 tbn
[info]     Metadata:
[info]       encoder         : Lavc59.37.100 rawvideo
[h264 @ 0x5558b7a768c0] [warning] a warning
[h264 @ 0x5558b7a768c0] [error] Invalid NAL unit size (1853 > 1659).
[error] Error while decoding stream #0:0: Invalid data found when processing input
";

    /// The log fed to a `Log` in uneven pieces, as pipes deliver it.
    fn read_log(log: &str, output_url: &str) -> Log {
        let mut reader = Log::new("rawvideo", output_url);
        for piece in log.as_bytes().chunks(37) {
            reader.feed(piece);
        }
        reader.end();
        reader
    }

    #[test]
    fn the_format_comes_from_the_report_of_our_output_only() {
        assert_eq!(
            read_log(LOG, "pipe:tantalum0123").format,
            Some(StreamFormat {
                pix_fmt: "yuvj420p".into(),
                width: 480,
                height: 720
            })
        );
        // Under another name, the one a file could guess, nothing.
        assert_eq!(read_log(LOG, "pipe:").format, None);
        assert_eq!(read_log(LOG, "pipe:tantalum9999").format, None);
        let truncated = &LOG[..LOG.find("[info]   Stream #0:0: Video: rawvideo (I420").unwrap()];
        assert_eq!(read_log(truncated, "pipe:tantalum0123").format, None);
        // Megabytes of metadata on one line neither hide the report nor stay in memory.
        let long = LOG.replacen(
            "title           : ",
            &format!("title           : {}", "x".repeat(3 << 20)),
            1,
        );
        let log = read_log(&long, "pipe:tantalum0123");
        assert_eq!(log.format.map(|f| f.width), Some(480));
        assert!(log.line.capacity() <= 2 * MAX_LOG_LINE);
    }

    #[test]
    fn output_names_differ_and_write_to_standard_output() {
        let (a, b) = (unpredictable_output_url(), unpredictable_output_url());
        assert_ne!(a, b);
        // ffmpeg's pipe protocol takes a name that does not start with a digit as fd 1.
        assert!(a
            .strip_prefix("pipe:")
            .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_alphabetic())));
    }

    #[test]
    fn errors_are_told_from_other_lines_by_their_level() {
        assert_eq!(
            read_log(LOG, "").errors,
            [
                "[h264 @ 0x5558b7a768c0] Invalid NAL unit size (1853 > 1659).",
                "Error while decoding stream #0:0: Invalid data found when processing input"
            ]
        );
        assert_eq!(
            error_line("[mov,mp4,m4a,3gp,3g2,mj2 @ 0x55d177efd900] [error] moov atom not found").as_deref(),
            Some("[mov,mp4,m4a,3gp,3g2,mj2 @ 0x55d177efd900] moov atom not found")
        );
        assert_eq!(
            error_line("[fatal] file:/x.mp4: Invalid data").as_deref(),
            Some("file:/x.mp4: Invalid data")
        );
        // Text from a file, in a line of another level or posing as a context.
        for line in [
            "[info]     title           : x] [error] Decryption key missing",
            "[info] a message that says [error] inside",
            "[x] [error] not a context",
            "[info] fine",
        ] {
            assert_eq!(error_line(line), None, "{line}");
        }
    }
}
