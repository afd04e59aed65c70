//! vPDQ: the PDQ hashes of a video's frames, as Meta's reference
//! (`vpdq-hash-video`, facebook/ThreatExchange `vpdq/cpp`) computes them, and
//! the vPDQ match of two videos.
//!
//! Frames come from the `ffmpeg` command line run as a child process: a
//! decoder crash or hang on a hostile file stays in the child, which is
//! killed after a timeout. The reference decodes every frame, keeps every
//! `frameMod`-th one (`frameMod = int(seconds_per_hash × avg_frame_rate)`,
//! at least 1), converts it to RGB24 with swscale's area filter at the
//! video's own size (or N×N when asked), and hashes the whole frame with PDQ
//! (no 512 pre-resize). The timestamp is `frame_number / frame_rate`.
//!
//! One child a video where possible, since each costs a dynamic load of
//! FFmpeg's libraries: an MP4/MOV's frame rate is read from its boxes as
//! libavformat reads it (`mp4.rs`; other files ask `ffprobe`), and the
//! frames' size and pixel format come from ffmpeg's own report of its
//! output. 4:2:0 frames arrive as ffmpeg decoded them (YUV4MPEG) and are
//! converted here bit-exactly as swscale would (`yuv.rs`); other formats
//! are converted by swscale in the child. [`hash_videos`] hashes several
//! videos with one child where that changes no result, so that the
//! libraries are loaded once for all of them.

mod ffmpeg;
mod matching;
mod mp4;
pub mod testing;
mod text;
mod yuv;

pub use ffmpeg::{ffmpeg_available, hash_video, hash_videos, probe, HashOptions, VideoInfo, MAX_VIDEOS_PER_RUN};
pub use matching::{match_videos, MatchThresholds, VideoIndex, VideoMatch};
/// Public for the tests that check it against ffprobe.
#[doc(hidden)]
pub use mp4::mp4_frame_rate;
pub use text::{parse_features, write_features};

/// The hash of one sampled frame.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Feature {
    /// 0-based index of the decoded frame.
    pub frame: u64,
    /// PDQ quality, 0–100.
    pub quality: u8,
    /// PDQ hash of the frame.
    #[serde(serialize_with = "hex")]
    pub pdq: pdq::Hash256,
    /// `frame / frame_rate`, in seconds.
    pub timestamp: f64,
}

fn hex<S: serde::Serializer>(h: &pdq::Hash256, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&h.to_hex())
}

/// What can go wrong hashing a video.
#[derive(Debug, thiserror::Error)]
pub enum VpdqError {
    /// No `ffmpeg`/`ffprobe` on PATH.
    #[error("vpdq unavailable: ffmpeg not found")]
    FfmpegNotFound,
    /// The file has no video stream (audio only, or not media at all).
    #[error("no video stream")]
    NoVideoStream,
    /// ffmpeg could not read the file.
    #[error("cannot decode video: {0}")]
    Decode(String),
    /// ffmpeg ran past the time limit and was stopped.
    #[error("video decoding took longer than {0} s and was stopped")]
    Timeout(u64),
    /// Running the child process failed.
    #[error("running ffmpeg: {0}")]
    Io(#[from] std::io::Error),
    /// A line of a vPDQ text file is wrong.
    #[error("line {line}: {message}")]
    Parse {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
}
