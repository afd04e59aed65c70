//! Several videos decoded by one ffmpeg, each to a channel of its own.
//!
//! Every ffmpeg run costs about 80 ms of CPU before its first frame, most
//! of it the dynamic loader binding the 215 libraries a distribution's
//! FFmpeg links (built with `BIND_NOW`). For the short clips phones and
//! chats hold, that is a large share of all the work. Decoding the 14
//! conformance videos (5,872 frames) to YUV4MPEG took 10.1–11.9 CPU-s as
//! 14 runs and 9.2–9.7 CPU-s as one (three alternations). One child with
//! several inputs, and an output for each, pays the start once.
//!
//! ffmpeg always feeds the output that is furthest behind in time, so the
//! inputs are set so far apart in time (`-itsoffset`) that it decodes them
//! one after the other rather than a frame of each in turn: in turns, each
//! decoder's reference frames push the others' out of the cache, which
//! measured costlier than the start-ups saved. The offsets change only
//! timestamps, which YUV4MPEG does not carry; decoding and selection are
//! per input, so each output's bytes are those of a run of its own (the
//! tests compare the hashes with [`hash_video`]'s).
//!
//! Each output's format comes from its own YUV4MPEG stream header rather
//! than from ffmpeg's log. With `-color_range unknown` on the outputs, the
//! header says `XCOLORRANGE=FULL` exactly when the frames are `yuvj420p`
//! (the muxer tags that format full range whatever the stream says), which
//! is the one thing about a 4:2:0 frame the header would otherwise leave
//! open.
//!
//! Anything out of the ordinary, and every video of the batch is hashed
//! again on its own by [`hash_video`], so that each result, error or not,
//! is the one [`hash_video`] gives: a child that fails to start or exits
//! with an error, any error in its log, a video without frames, or the
//! deadline. A video whose header names a format only swscale converts
//! (which comes as ffmpeg starts) is taken out alone, and the rest tried
//! again. Only short videos are batched (see [`MAX_BATCHED_PIXELS`]), and
//! the batch has the time limit of one video, so a hang costs at most that
//! once more.

use super::*;

/// Videos one ffmpeg run decodes at most ([`hash_videos`] takes any number).
/// The start-up saved is (n − 1)/n of a run's, so more would gain little
/// and hold more decoders in memory.
pub const MAX_VIDEOS_PER_RUN: usize = 8;

/// Videos larger than this (frames × width × height, as their boxes say:
/// a minute of 1080p at 30 fps, several seconds of decoding) are hashed on
/// their own. At that size the start-up is about 1 % of the work, and a
/// batch of them decodes well within one video's time limit.
const MAX_BATCHED_PIXELS: u64 = 1920 * 1080 * 30 * 60;

/// Seconds between the inputs' time origins: longer than any video batched
/// in practice. Were one longer, the decoders would take turns for a while,
/// which changes the cost but no frame.
const INPUT_SPACING_SECONDS: u64 = 1_000_000;

/// What hashing one video gives.
type VideoResult = Result<(VideoInfo, Vec<Feature>), VpdqError>;

/// One video of a batch.
struct Video<'a> {
    path: &'a Path,
    sampling: Sampling,
}

/// Hashes videos as [`hash_video`] hashes each, in batches that share an
/// ffmpeg run where that can be done without changing a result: MP4 and
/// QuickTime files at their own size (see the module's notes).
pub fn hash_videos<P: AsRef<Path>>(paths: &[P], options: &HashOptions) -> Vec<VideoResult> {
    let mut results: Vec<Option<VideoResult>> = paths.iter().map(|_| None).collect();
    if options.size == 0 {
        let batchable: Vec<(usize, Video<'_>)> = paths
            .iter()
            .enumerate()
            .filter_map(|(i, path)| {
                let path = path.as_ref();
                let video = mp4::mp4_video(path)?;
                // A long video gains little from sharing a start-up, and
                // could hold the batch past its deadline.
                if video.pixels? > MAX_BATCHED_PIXELS {
                    return None;
                }
                let (num, den) = video.rate;
                let frame_rate = num as f64 / den as f64;
                let frame_mod = frame_mod(options.seconds_per_hash, frame_rate);
                Some((
                    i,
                    Video {
                        path,
                        sampling: Sampling { frame_mod, frame_rate },
                    },
                ))
            })
            .collect();
        for batch in batchable.chunks(MAX_VIDEOS_PER_RUN) {
            let mut batch: Vec<&(usize, Video<'_>)> = batch.iter().collect();
            // Each turn either hashes the batch, leaves it all to
            // `hash_video`, or takes out the videos whose format only
            // swscale converts and tries the rest again.
            while batch.len() > 1 {
                let videos: Vec<&Video<'_>> = batch.iter().map(|(_, video)| video).collect();
                match hash_batch(&videos, options) {
                    Batch::Hashed(hashed) => {
                        for ((i, _), result) in batch.iter().zip(hashed) {
                            results[*i] = Some(Ok(result));
                        }
                        break;
                    }
                    Batch::Unconverted(outputs) => {
                        let mut position = 0;
                        batch.retain(|_| {
                            position += 1;
                            !outputs.contains(&(position - 1))
                        });
                    }
                    Batch::Failed => break,
                }
            }
        }
    }
    results
        .into_iter()
        .zip(paths)
        .map(|(result, path)| result.unwrap_or_else(|| hash_video(path.as_ref(), options)))
        .collect()
}

/// How a batch went.
enum Batch {
    /// Every video hashed, in order.
    Hashed(Vec<(VideoInfo, Vec<Feature>)>),
    /// These outputs (by position) came in a format only swscale converts,
    /// which stopped the batch. Their headers come as ffmpeg starts, so
    /// little was decoded.
    Unconverted(Vec<usize>),
    /// Anything else: every video is to be hashed on its own.
    Failed,
}

/// What became of one output.
enum OutputResult {
    Hashed(VideoInfo, Vec<Feature>),
    Unconverted,
    Failed,
}

/// One ffmpeg run over the videos.
#[cfg(unix)]
fn hash_batch(videos: &[&Video<'_>], options: &HashOptions) -> Batch {
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;

    let deadline = Deadline {
        at: std::time::Instant::now() + options.timeout,
        limit: options.timeout,
    };
    let mut ours = Vec::with_capacity(videos.len());
    let mut theirs = Vec::with_capacity(videos.len());
    for _ in videos {
        let Ok((our_end, their_end)) = socket_pair() else {
            return Batch::Failed;
        };
        ours.push(our_end);
        theirs.push(their_end);
    }
    // The child keeps the channels' ends at the numbers they have here,
    // which nothing else can hold in it.
    let inherited: Vec<i32> = theirs.iter().map(|end| end.as_raw_fd()).collect();

    let mut command = ffmpeg_command();
    for (k, video) in videos.iter().enumerate() {
        command.args(["-itsoffset", &(k as u64 * INPUT_SPACING_SECONDS).to_string()]);
        add_input(&mut command, video.path);
    }
    for (k, video) in videos.iter().enumerate() {
        add_video_output(&mut command, k, &select_filter(video.sampling.frame_mod));
        command
            .args(["-color_range", "unknown", "-strict", "-1", "-f", "yuv4mpegpipe"])
            .arg(format!("pipe:{}", inherited[k]));
    }
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // SAFETY: between fork and exec the child only calls fcntl, which is
    // async-signal-safe, over a vector it reads and does not allocate. It
    // clears close-on-exec on the channels' ends in the child alone: in this
    // process they stay close-on-exec, so no child another thread starts
    // gets them.
    unsafe {
        command.pre_exec(move || {
            for &fd in &inherited {
                if libc::fcntl(fd, libc::F_SETFD, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    let Ok(mut child) = command.spawn() else {
        return Batch::Failed;
    };
    // Only the child may hold the channels' other ends, or they never end.
    drop(theirs);
    let stderr = child.stderr.take();
    let child = Arc::new(Mutex::new(child));
    let _guard = KillOnDrop(Arc::clone(&child));
    let (done, watchdog) = watch(&child, deadline);

    let (outputs, log) = std::thread::scope(|scope| {
        let log = scope.spawn(move || {
            let mut log = Log::default();
            if let Some(mut stderr) = stderr {
                log.read_to_end(&mut stderr);
            }
            log.end();
            log
        });
        let readers: Vec<_> = ours
            .into_iter()
            .zip(videos)
            .map(|(mut channel, video)| {
                let child = &child;
                scope.spawn(move || {
                    let output = hash_output(&mut channel, video.sampling);
                    if !matches!(output, OutputResult::Hashed(..)) {
                        // The batch is lost: no need to decode the rest.
                        if let Ok(mut c) = child.lock() {
                            let _ = c.kill();
                        }
                    }
                    output
                })
            })
            .collect();
        let outputs: Vec<OutputResult> = readers
            .into_iter()
            .map(|r| r.join().unwrap_or(OutputResult::Failed))
            .collect();
        (outputs, log.join().ok())
    });
    let status = child.lock().ok().and_then(|mut c| c.wait().ok());
    let _ = done.send(());
    let timed_out = watchdog.join().unwrap_or(true);
    let unconverted: Vec<usize> = (0..outputs.len())
        .filter(|&k| matches!(outputs[k], OutputResult::Unconverted))
        .collect();
    if !unconverted.is_empty() {
        return Batch::Unconverted(unconverted);
    }
    let clean = status.is_some_and(|s| s.success()) && !timed_out && log.is_some_and(|log| log.errors.is_empty());
    let hashed: Option<Vec<_>> = outputs
        .into_iter()
        .map(|output| match output {
            OutputResult::Hashed(info, features) => Some((info, features)),
            _ => None,
        })
        .collect();
    match hashed {
        Some(hashed) if clean => Batch::Hashed(hashed),
        _ => Batch::Failed,
    }
}

#[cfg(not(unix))]
fn hash_batch(_videos: &[&Video<'_>], _options: &HashOptions) -> Batch {
    Batch::Failed
}

/// Hashes one output's frames. It fails cut short or without a frame.
#[cfg(unix)]
fn hash_output(channel: &mut FrameReader, sampling: Sampling) -> OutputResult {
    let header = read_line(channel);
    if !header.starts_with(b"YUV4MPEG2 ") {
        // No stream at all: the child failed, or was stopped.
        return OutputResult::Failed;
    }
    let Some((width, height, pix_fmt)) = y4m_format(&header) else {
        return OutputResult::Unconverted;
    };
    let Some(coefficients) = yuv::coefficients(pix_fmt, width, height) else {
        return OutputResult::Unconverted;
    };
    let info = VideoInfo {
        width,
        height,
        frame_rate: sampling.frame_rate,
    };
    match hash_frames(channel, true, Frames::Yuv420(coefficients), &info, sampling) {
        Ok((features, None)) if !features.is_empty() => OutputResult::Hashed(info, features),
        _ => OutputResult::Failed,
    }
}

/// The size and pixel format a YUV4MPEG stream header announces, for
/// 4:2:0 8-bit frames only (written with `-color_range unknown`: see the
/// module's notes).
fn y4m_format(header: &[u8]) -> Option<(u32, u32, &'static str)> {
    let text = std::str::from_utf8(header).ok()?;
    let mut fields = text.split(' ');
    if fields.next() != Some("YUV4MPEG2") {
        return None;
    }
    let (mut width, mut height, mut four_two_zero, mut full) = (None, None, false, false);
    for field in fields {
        if let Some(w) = field.strip_prefix('W') {
            width = w.parse::<u32>().ok().filter(|&w| w > 0);
        } else if let Some(h) = field.strip_prefix('H') {
            height = h.parse::<u32>().ok().filter(|&h| h > 0);
        } else if let Some(colour) = field.strip_prefix('C') {
            four_two_zero = matches!(colour, "420jpeg" | "420mpeg2" | "420paldv");
        } else if let Some(range) = field.strip_prefix("XCOLORRANGE=") {
            full = range == "FULL";
        }
    }
    let pix_fmt = if full { "yuvj420p" } else { "yuv420p" };
    four_two_zero.then_some((width?, height?, pix_fmt))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_eight_bit_four_two_zero_headers_name_a_format() {
        assert_eq!(
            y4m_format(b"YUV4MPEG2 W480 H720 F30:1 Ip A0:0 C420jpeg XYSCSS=420JPEG"),
            Some((480, 720, "yuv420p"))
        );
        assert_eq!(
            y4m_format(b"YUV4MPEG2 W64 H48 F10:1 Ip A1:1 C420mpeg2 XYSCSS=420MPEG2"),
            Some((64, 48, "yuv420p"))
        );
        assert_eq!(
            y4m_format(b"YUV4MPEG2 W64 H48 F10:1 Ip A1:1 C420jpeg XYSCSS=420JPEG XCOLORRANGE=FULL"),
            Some((64, 48, "yuvj420p"))
        );
        for other in [
            &b"YUV4MPEG2 W64 H48 F10:1 Ip A1:1 C420p10 XYSCSS=420P10"[..],
            b"YUV4MPEG2 W64 H48 F10:1 Ip A1:1 C444 XYSCSS=444",
            b"YUV4MPEG2 W64 H48 F10:1 Ip A1:1 Cmono",
            b"YUV4MPEG2 W64 H48 F10:1 Ip A1:1",
            b"YUV4MPEG2 W0 H48 C420jpeg",
            b"YUV4MPEG2 H48 C420jpeg",
            b"FRAME",
            b"",
        ] {
            assert_eq!(y4m_format(other), None, "{}", String::from_utf8_lossy(other));
        }
    }
}
