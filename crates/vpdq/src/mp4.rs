//! The frame rate of an MP4/QuickTime file's first video stream, read from
//! its boxes as libavformat's mov demuxer reads it.
//!
//! Spawning `ffprobe` costs about a tenth of a CPU second per video (it loads
//! a few hundred libraries), a large share of hashing a short phone video.
//! Nearly all such videos are MP4/MOV, whose `avg_frame_rate` FFmpeg 5.1 takes
//! straight from the video track's `stts` box. This module reproduces that for
//! plainly formed files and answers `None` for anything it cannot vouch for,
//! so the caller falls back to `ffprobe`: a wrong answer would shift every
//! vPDQ timestamp, a `None` only costs time.
//!
//! FFmpeg dispatches boxes by type wherever they sit, applying most of them to
//! the most recently created stream, so the walk below follows the same
//! containers FFmpeg descends into and refuses whenever a box that creates a
//! stream, changes a stream's type, time scale or frame count, or fragments
//! the file turns up anywhere it could touch the first video stream.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// Larger `moov` boxes (hours of video) are left to ffprobe rather than read
/// into memory.
const MAX_MOOV: u64 = 32 << 20;
/// A file with more top-level boxes than this is not a camera recording.
const MAX_TOP_BOXES: usize = 1024;
/// FFmpeg refuses nesting deeper than 10 levels; anything close is odd enough
/// to leave to it.
const MAX_LEVEL: usize = 8;
/// The mov demuxer's default `max_stts_delta` (`UINT_MAX - 48000 * 10`):
/// longer sample durations are clipped and drift-corrected, not modelled here.
const MAX_STTS_DELTA: u32 = u32::MAX - 480_000;
const INT_MAX: u64 = i32::MAX as u64;

type FourCc = [u8; 4];

/// Boxes that compress or fragment the header, nest a second header, or sit
/// where FFmpeg stops reading a container: none occur in a plain recording.
const REFUSED: [&FourCc; 16] = [
    b"hoov", b"moov", b"cmov", b"moof", b"mvex", b"traf", b"trun", b"tfhd", b"tfdt", b"trex", b"sidx", b"ftyp",
    b"mdat", b"wave", b"frma", b"covr",
];

/// Types that, met anywhere inside a sample description, FFmpeg would hand to
/// a handler that creates a stream or changes the last stream's type, time
/// scale or frame count.
const REFUSED_IN_SAMPLE_ENTRY: [&FourCc; 19] = [
    b"trak", b"mdat", b"moov", b"hoov", b"cmov", b"moof", b"mvex", b"traf", b"trun", b"tfhd", b"sidx", b"ftyp",
    b"stts", b"mdhd", b"hdlr", b"stsd", b"ilst", b"covr", b"keys",
];

/// `avg_frame_rate` of the first video stream as FFmpeg 5.1's mov demuxer
/// sets it, as a reduced `(num, den)`, or `None` where the file is not
/// plainly such a file.
pub fn mp4_frame_rate(path: &Path) -> Option<(u32, u32)> {
    mp4_video(path).map(|video| video.rate)
}

/// The first video stream of an MP4 or QuickTime file, as far as the boxes
/// say.
pub(crate) struct Mp4Video {
    /// As [`mp4_frame_rate`] gives it.
    pub rate: (u32, u32),
    /// Frames × width × height, as the sample count and the sample entry
    /// state them (a file may state them falsely), where they do.
    pub pixels: Option<u64>,
}

/// [`mp4_frame_rate`], with the stream's size in pixels.
pub(crate) fn mp4_video(path: &Path) -> Option<Mp4Video> {
    // A plain read-only open: ffmpeg opens the same path next, without
    // O_NOATIME, which is why a scan hands vPDQ a copy and never evidence.
    let mut file = File::open(path).ok()?;
    let moov = read_first_moov(&mut file)?;
    // mov_probe scores a file down to 5 (so another demuxer may win) when it
    // sees this MPEG-PS-in-MOV handler signature after the moov tag.
    if moov.windows(16).any(|w| &w[..4] == b"hdlr" && &w[8..16] == b"mhlrMPEG") {
        return None;
    }
    let mut walk = Walk::default();
    match walk.children(&moov, b"moov", 1) {
        Ok(()) | Err(Halt::Done) => walk.rate.map(|rate| Mp4Video {
            rate,
            pixels: walk.pixels,
        }),
        Err(Halt::Unsure) => None,
    }
}

/// Walks the top-level boxes without reading media data and returns the
/// payload of the first `moov`, the only one FFmpeg parses.
fn read_first_moov(file: &mut File) -> Option<Vec<u8>> {
    let end = file.metadata().ok()?.len();
    let mut pos = 0u64;
    let mut moov = None;
    for index in 0..MAX_TOP_BOXES {
        if end - pos < 8 {
            // FFmpeg ignores a tail too short to hold a box header.
            return moov.and_then(|(start, len)| read_at(file, start, len));
        }
        let mut head = [0u8; 16];
        let avail = (end - pos).min(16) as usize;
        read_exact_at(file, pos, &mut head[..avail])?;
        let (kind, header, size) = top_box_header(&head[..avail], end - pos)?;
        let payload = size - header;
        match (index, &kind) {
            // Probing picks the mov demuxer for sure only on a leading ftyp,
            // and not for these still-image brands.
            (0, b"ftyp") => {
                let mut brand = [0u8; 4];
                if payload < 8 || read_exact_at(file, pos + header, &mut brand).is_none() {
                    return None;
                }
                if [b"jp2 ", b"jpx ", b"jxl ", b"avif"].contains(&&brand) {
                    return None;
                }
            }
            (0, _) | (_, b"ftyp") => return None,
            (_, b"moov") => {
                if moov.is_none() {
                    if payload > MAX_MOOV {
                        return None;
                    }
                    moov = Some((pos + header, payload));
                }
            }
            (_, b"uuid") if payload < 16 => return None,
            // Media data, padding, and boxes FFmpeg skips or reads without
            // touching streams; anything else at the top level (udta, meta,
            // moof, stray header boxes) could add or alter a stream.
            (_, b"mdat" | b"free" | b"skip" | b"wide" | b"junk" | b"pnot" | b"uuid") => {}
            _ => return None,
        }
        pos += size;
        if pos == end {
            return moov.and_then(|(start, len)| read_at(file, start, len));
        }
    }
    None
}

/// Type, header length and total size of the box at the start of `head`,
/// `left` bytes before the end of the file.
fn top_box_header(head: &[u8], left: u64) -> Option<(FourCc, u64, u64)> {
    let size32 = u32::from_be_bytes(head[..4].try_into().ok()?);
    let kind: FourCc = head[4..8].try_into().ok()?;
    let (header, size) = match size32 {
        0 => (8, left),
        1 => (16, u64::from_be_bytes(head.get(8..16)?.try_into().ok()?)),
        n => (8, u64::from(n)),
    };
    (size >= header && size <= left).then_some((kind, header, size))
}

fn read_exact_at(file: &mut File, pos: u64, buf: &mut [u8]) -> Option<()> {
    file.seek(SeekFrom::Start(pos)).ok()?;
    file.read_exact(buf).ok()
}

fn read_at(file: &mut File, pos: u64, len: u64) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; usize::try_from(len).ok()?];
    read_exact_at(file, pos, &mut buf)?;
    Some(buf)
}

/// Why a walk stopped early.
enum Halt {
    /// Something FFmpeg might read differently from this model.
    Unsure,
    /// A stream after the chosen one has begun: nothing later can reach it.
    Done,
}

type Step = Result<(), Halt>;

/// A track's `codec_type` as FFmpeg would leave it so far.
#[derive(Clone, Copy, PartialEq, Default)]
enum Kind {
    #[default]
    Data,
    Video,
    Audio,
    Subtitle,
    /// Decided by a sample entry fourcc through tag tables not modelled here.
    Unknown,
}

/// What one `trak` has set on its stream.
#[derive(Default)]
struct Track {
    kind: Kind,
    time_scale: Option<u32>,
    /// Sample count and summed duration of the track's one `stts`.
    stts: Option<(u64, u128)>,
    stsd_seen: bool,
    /// Width and height from a visual sample entry.
    size: Option<(u16, u16)>,
}

#[derive(Default)]
struct Walk {
    /// The track being read, as FFmpeg's `trak_index >= 0`.
    track: Option<Track>,
    /// The first video stream's rate, once its track has been read.
    rate: Option<(u32, u32)>,
    /// Its frames × width × height, where its boxes say.
    pixels: Option<u64>,
    /// Whether the chosen track has been read (its rate may still be `None`).
    chosen: bool,
}

impl Walk {
    /// Reads the boxes of a container as `mov_read_default` does.
    fn children(&mut self, mut data: &[u8], parent: &FourCc, level: usize) -> Step {
        if level > MAX_LEVEL {
            return Err(Halt::Unsure);
        }
        // FFmpeg stops at fewer than 8 bytes left; a box larger than what is
        // left gets clipped by FFmpeg, which this model refuses.
        while data.len() >= 8 {
            let size32 = be32(data, 0).ok_or(Halt::Unsure)?;
            let kind: FourCc = data[4..8].try_into().map_err(|_| Halt::Unsure)?;
            let (header, size) = match size32 {
                0 => (8, data.len()),
                1 => (
                    16,
                    usize::try_from(be64(data, 8).ok_or(Halt::Unsure)?).map_err(|_| Halt::Unsure)?,
                ),
                n => (8, n as usize),
            };
            if size < header || size > data.len() {
                return Err(Halt::Unsure);
            }
            self.dispatch(&kind, &data[header..size], parent, level)?;
            data = &data[size..];
        }
        Ok(())
    }

    fn dispatch(&mut self, kind: &FourCc, payload: &[u8], parent: &FourCc, level: usize) -> Step {
        if REFUSED.contains(&kind) {
            return Err(Halt::Unsure);
        }
        match kind {
            b"trak" if parent == b"moov" => self.trak(payload, level),
            // FFmpeg stops reading any other container at a nested trak.
            b"trak" => Err(Halt::Unsure),
            b"mdia" | b"minf" | b"stbl" | b"dinf" | b"edts" | b"udta" | b"tref" | b"sinf" | b"schi" | b"ilst" => {
                self.children(payload, kind, level + 1)
            }
            b"meta" => self.meta(payload, level),
            b"hdlr" => self.hdlr(payload),
            b"mdhd" => self.mdhd(payload),
            b"stts" => self.stts(payload),
            b"stsd" => self.stsd(payload),
            b"keys" => keys(payload),
            b"uuid" if payload.len() < 16 => Err(Halt::Unsure),
            // Everything else is skipped by FFmpeg or only sets codec
            // parameters, metadata or sample tables that do not feed the
            // frame rate.
            _ => Ok(()),
        }
    }

    fn trak(&mut self, payload: &[u8], level: usize) -> Step {
        if self.chosen {
            return Err(Halt::Done);
        }
        self.track = Some(Track::default());
        self.children(payload, b"trak", level + 1)?;
        let track = self.track.take().ok_or(Halt::Unsure)?;
        match track.kind {
            // Streams are numbered in trak order: an audio stream before the
            // video one leaves it first among video streams.
            Kind::Audio => Ok(()),
            Kind::Video => {
                self.chosen = true;
                self.rate = track_rate(&track);
                self.pixels = track
                    .stts
                    .zip(track.size)
                    .map(|((frames, _), (w, h))| frames.saturating_mul(u64::from(w) * u64::from(h)));
                if self.rate.is_none() {
                    // FFmpeg would estimate the rate by decoding.
                    return Err(Halt::Unsure);
                }
                Ok(())
            }
            // Might be (or become, through its sample entry) video.
            _ => Err(Halt::Unsure),
        }
    }

    /// `mov_read_meta`: FFmpeg looks for `hdlr` at 4-byte steps and reads
    /// the boxes from there, which covers both the ISO (versioned) and the
    /// QuickTime layout.
    fn meta(&mut self, payload: &[u8], level: usize) -> Step {
        let mut at = 0;
        while at + 8 < payload.len() {
            if &payload[at..at + 4] == b"hdlr" {
                // At 0 FFmpeg would back up into the meta box's own header.
                let start = at.checked_sub(4).ok_or(Halt::Unsure)?;
                return self.children(&payload[start..], b"meta", level + 1);
            }
            at += 4;
        }
        Ok(())
    }

    /// `mov_read_hdlr`: inside a track the handler subtype sets the stream's
    /// type (a QuickTime track may carry a second one in `minf`); outside
    /// tracks it only marks QuickTime metadata.
    fn hdlr(&mut self, payload: &[u8]) -> Step {
        let subtype = payload.get(8..12).ok_or(Halt::Unsure)?;
        if let Some(track) = &mut self.track {
            match subtype {
                b"vide" => track.kind = Kind::Video,
                b"soun" => track.kind = Kind::Audio,
                b"subp" | b"clcp" => track.kind = Kind::Subtitle,
                _ => {}
            }
        }
        Ok(())
    }

    /// `mov_read_mdhd`: the track's time scale. A second one is an error in
    /// FFmpeg; a zero or negative one is replaced by 1, not modelled here.
    fn mdhd(&mut self, payload: &[u8]) -> Step {
        let track = self.track.as_mut().ok_or(Halt::Unsure)?;
        if track.time_scale.is_some() {
            return Err(Halt::Unsure);
        }
        let (at, len) = match payload.first() {
            Some(0) => (12, 24),
            Some(1) => (20, 36),
            _ => return Err(Halt::Unsure),
        };
        if payload.len() < len {
            return Err(Halt::Unsure);
        }
        let scale = be32(payload, at).ok_or(Halt::Unsure)?;
        if scale == 0 || u64::from(scale) > INT_MAX {
            return Err(Halt::Unsure);
        }
        track.time_scale = Some(scale);
        Ok(())
    }

    /// `mov_read_stts`: sums sample counts and durations. FFmpeg adds every
    /// `stts` of a track, so a second one is refused rather than summed.
    fn stts(&mut self, payload: &[u8]) -> Step {
        let track = self.track.as_mut().ok_or(Halt::Unsure)?;
        if track.stts.is_some() {
            return Err(Halt::Unsure);
        }
        let entries = be32(payload, 4).ok_or(Halt::Unsure)? as usize;
        // FFmpeg's allocation limit (INT_MAX / sizeof(MOVStts)); it also
        // reads past a short box into whatever follows it.
        if entries >= i32::MAX as usize / 8 || payload.len() - 8 < entries * 8 {
            return Err(Halt::Unsure);
        }
        let (mut frames, mut duration) = (0u64, 0u128);
        for entry in payload[8..8 + entries * 8].chunks_exact(8) {
            let count = be32(entry, 0).ok_or(Halt::Unsure)?;
            let delta = be32(entry, 4).ok_or(Halt::Unsure)?;
            if delta > MAX_STTS_DELTA {
                return Err(Halt::Unsure);
            }
            frames += u64::from(count);
            duration += u128::from(count) * u128::from(delta);
        }
        track.stts = Some((frames, duration));
        Ok(())
    }

    /// `mov_read_stsd`: a sample entry keeps an audio or video track's type,
    /// but FFmpeg also dispatches the boxes inside it, so its bytes are
    /// searched for any type that could matter wherever the parse aligns.
    fn stsd(&mut self, payload: &[u8]) -> Step {
        let track = self.track.as_mut().ok_or(Halt::Unsure)?;
        if track.stsd_seen || be32(payload, 4) != Some(1) {
            return Err(Halt::Unsure);
        }
        track.stsd_seen = true;
        let size = be32(payload, 8).ok_or(Halt::Unsure)? as usize;
        let entry = payload
            .get(8..size.saturating_add(8))
            .filter(|_| size >= 16)
            .ok_or(Halt::Unsure)?;
        let has = |kinds: &[&FourCc]| entry.windows(4).any(|w| kinds.iter().any(|k| &k[..] == w));
        if has(&REFUSED_IN_SAMPLE_ENTRY) {
            return Err(Halt::Unsure);
        }
        match track.kind {
            // An esds object type or a wave box can make a video stream's
            // codec MP2/MP3, which FFmpeg then forces to audio.
            Kind::Video if has(&[b"esds", b"wave"]) => Err(Halt::Unsure),
            Kind::Video => {
                // A visual sample entry: after its 8-byte header, 24 bytes
                // of reserved and predefined fields, then width and height.
                track.size = entry
                    .get(32..36)
                    .map(|b| (u16::from_be_bytes([b[0], b[1]]), u16::from_be_bytes([b[2], b[3]])));
                Ok(())
            }
            Kind::Audio => Ok(()),
            _ => {
                track.kind = Kind::Unknown;
                Ok(())
            }
        }
    }
}

/// `mov_read_keys`: QuickTime metadata keys. An item keyed as artwork would
/// become an attached-picture video stream.
fn keys(payload: &[u8]) -> Step {
    let count = be32(payload, 4).ok_or(Halt::Unsure)?;
    let mut rest = payload.get(8..).ok_or(Halt::Unsure)?;
    for _ in 0..count {
        let size = be32(rest, 0).ok_or(Halt::Unsure)? as usize;
        // FFmpeg misreads keys of other namespaces; refuse them.
        if size < 8 || size > rest.len() || &rest[4..8] != b"mdta" {
            return Err(Halt::Unsure);
        }
        let key = &rest[8..size];
        let key = key.split(|&b| b == 0).next().unwrap_or(key);
        if key == b"com.apple.quicktime.artwork" {
            return Err(Halt::Unsure);
        }
        rest = &rest[size..];
    }
    Ok(())
}

/// `mov_read_header`: `av_reduce(time_scale * nb_frames, duration, INT_MAX)`,
/// where `mov_read_stts` only counted the table if its duration was positive
/// and its sample count at most `INT_MAX`.
fn track_rate(track: &Track) -> Option<(u32, u32)> {
    let scale = u64::from(track.time_scale?);
    let (frames, duration) = track.stts?;
    // Above i64::MAX FFmpeg's duration wraps; not modelled.
    if frames == 0 || frames > INT_MAX || duration == 0 || duration > i64::MAX as u128 {
        return None;
    }
    let (num, den) = (scale * frames, duration as u64);
    let g = gcd(num, den);
    let (num, den) = (num / g, den / g);
    // Past INT_MAX av_reduce approximates by continued fractions.
    (num <= INT_MAX && den <= INT_MAX).then_some((num as u32, den as u32))
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

fn be32(data: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(data.get(at..at.checked_add(4)?)?.try_into().ok()?))
}

fn be64(data: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(data.get(at..at.checked_add(8)?)?.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn bx(kind: &[u8; 4], parts: &[&[u8]]) -> Vec<u8> {
        let body = parts.concat();
        let mut out = u32::try_from(body.len() + 8).unwrap().to_be_bytes().to_vec();
        out.extend_from_slice(kind);
        out.extend(body);
        out
    }

    fn ftyp() -> Vec<u8> {
        bx(b"ftyp", &[b"isom", &[0, 0, 2, 0], b"isomiso2avc1mp41"])
    }

    fn hdlr(subtype: &[u8; 4]) -> Vec<u8> {
        bx(b"hdlr", &[&[0; 4], &[0; 4], subtype, &[0; 12], b"Handler\0"])
    }

    fn mdhd(scale: u32) -> Vec<u8> {
        bx(b"mdhd", &[&[0; 12], &scale.to_be_bytes(), &[0; 4], &[0x55, 0xc4, 0, 0]])
    }

    fn stts(entries: &[(u32, u32)]) -> Vec<u8> {
        let mut body = vec![0; 4];
        body.extend(u32::try_from(entries.len()).unwrap().to_be_bytes());
        for (count, delta) in entries {
            body.extend(count.to_be_bytes());
            body.extend(delta.to_be_bytes());
        }
        bx(b"stts", &[&body])
    }

    fn stsd(format: &[u8; 4], extra: &[u8]) -> Vec<u8> {
        let entry = bx(format, &[&[0; 6], &[0, 1], &[0; 70], extra]);
        bx(b"stsd", &[&[0; 4], &1u32.to_be_bytes(), &entry])
    }

    /// A track: mdhd, the given handlers, then minf/stbl with a sample entry and stts.
    fn trak(handler: &[u8; 4], scale: u32, entries: &[(u32, u32)]) -> Vec<u8> {
        let format = if handler == b"soun" { b"mp4a" } else { b"avc1" };
        let stbl = bx(b"stbl", &[&stsd(format, &[]), &stts(entries)]);
        let mdia = bx(b"mdia", &[&mdhd(scale), &hdlr(handler), &bx(b"minf", &[&stbl])]);
        bx(b"trak", &[&bx(b"tkhd", &[&[0; 84]]), &mdia])
    }

    /// A track from the boxes of its mdia.
    fn trak_of(mdia: &[&[u8]]) -> Vec<u8> {
        bx(b"trak", &[&bx(b"mdia", mdia)])
    }

    /// A 30000-scale video track from the boxes of its stbl.
    fn video_of(stbl: &[&[u8]]) -> Vec<u8> {
        trak_of(&[&mdhd(30000), &hdlr(b"vide"), &bx(b"minf", &[&bx(b"stbl", stbl)])])
    }

    fn video() -> Vec<u8> {
        trak(b"vide", 30000, &[(300, 1001)])
    }

    fn moov(parts: &[&[u8]]) -> Vec<u8> {
        let mvhd = bx(b"mvhd", &[&[0; 12], &1000u32.to_be_bytes(), &[0; 84]]);
        bx(b"moov", &[&mvhd, &parts.concat()])
    }

    fn rate_of(bytes: &[u8]) -> Option<(u32, u32)> {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(bytes).unwrap();
        mp4_frame_rate(file.path())
    }

    fn rate(boxes: &[&[u8]]) -> Option<(u32, u32)> {
        rate_of(&boxes.concat())
    }

    #[test]
    fn the_pixels_are_frames_times_the_sample_entrys_size() {
        // Reserved and predefined fields, then width and height.
        let sized = |w: u16, h: u16| {
            let entry = bx(
                b"avc1",
                &[&[0; 6], &[0, 1], &[0; 16], &w.to_be_bytes(), &h.to_be_bytes(), &[0; 50]],
            );
            bx(b"stsd", &[&[0; 4], &1u32.to_be_bytes(), &entry])
        };
        let pixels = |trak: &[u8]| {
            let mut file = tempfile::NamedTempFile::new().unwrap();
            file.write_all(&[ftyp(), moov(&[trak])].concat()).unwrap();
            mp4_video(file.path()).map(|v| (v.rate, v.pixels))
        };
        assert_eq!(
            pixels(&video_of(&[&sized(640, 480), &stts(&[(300, 1001)])])),
            Some(((30000, 1001), Some(300 * 640 * 480)))
        );
        // A sample entry too short to hold a size.
        let short = bx(b"stsd", &[&[0; 4], &1u32.to_be_bytes(), &bx(b"avc1", &[&[0; 8]])]);
        assert_eq!(
            pixels(&video_of(&[&short, &stts(&[(300, 1001)])])),
            Some(((30000, 1001), None))
        );
    }

    #[test]
    fn plain_file_gives_the_reduced_rate() {
        assert_eq!(
            rate(&[&ftyp(), &moov(&[&video()]), &bx(b"mdat", &[&[7; 64]])]),
            Some((30000, 1001))
        );
        let pal = trak(b"vide", 12800, &[(50, 512)]);
        assert_eq!(
            rate(&[&ftyp(), &bx(b"free", &[]), &bx(b"mdat", &[&[7; 64]]), &moov(&[&pal])]),
            Some((25, 1))
        );
    }

    #[test]
    fn a_short_last_sample_counts_like_any_other() {
        // 5.1's stts reader has no special case for the last entry.
        let t = trak(b"vide", 90000, &[(99, 3000), (1, 3003)]);
        assert_eq!(rate(&[&ftyp(), &moov(&[&t])]), Some((3_000_000, 100_001)));
        let t = trak(b"vide", 1000, &[(29, 33), (1, 0)]);
        assert_eq!(rate(&[&ftyp(), &moov(&[&t])]), Some((10000, 319)));
    }

    #[test]
    fn moov_after_a_large_64_bit_mdat_is_found_without_reading_it() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        let media = 5u64 << 30;
        let mut head = ftyp();
        head.extend(1u32.to_be_bytes());
        head.extend(b"mdat");
        head.extend((media + 16).to_be_bytes());
        file.write_all(&head).unwrap();
        // A sparse hole stands in for 5 GiB of media data.
        file.as_file().set_len(head.len() as u64 + media).unwrap();
        file.seek(SeekFrom::End(0)).unwrap();
        file.write_all(&moov(&[&video()])).unwrap();
        assert_eq!(mp4_frame_rate(file.path()), Some((30000, 1001)));
    }

    #[test]
    fn size_zero_runs_to_the_end_and_largesize_works_inside_moov() {
        let mut last = bx(b"mdat", &[&[1; 40]]);
        last[..4].copy_from_slice(&[0; 4]);
        assert_eq!(rate(&[&ftyp(), &moov(&[&video()]), &last]), Some((30000, 1001)));
        let v = video();
        let mut large = 1u32.to_be_bytes().to_vec();
        large.extend(b"trak");
        large.extend((v.len() as u64 + 8).to_be_bytes());
        large.extend(&v[8..]);
        assert_eq!(rate(&[&ftyp(), &moov(&[&large])]), Some((30000, 1001)));
    }

    #[test]
    fn audio_first_is_fine_anything_else_first_is_not() {
        let audio = trak(b"soun", 44100, &[(100, 1024)]);
        assert_eq!(rate(&[&ftyp(), &moov(&[&audio, &video()])]), Some((30000, 1001)));
        for handler in [b"text", b"sbtl", b"meta", b"tmcd", b"subp"] {
            let other = trak(handler, 1000, &[(10, 100)]);
            assert_eq!(rate(&[&ftyp(), &moov(&[&other, &video()])]), None, "{handler:?}");
        }
        // A later track cannot change the first video stream.
        let other = trak(b"text", 1000, &[(10, 100)]);
        assert_eq!(rate(&[&ftyp(), &moov(&[&video(), &other])]), Some((30000, 1001)));
    }

    #[test]
    fn a_second_handler_decides_the_type() {
        // QuickTime: a data handler in minf leaves the media handler's type.
        let stbl = bx(b"stbl", &[&stsd(b"avc1", &[]), &stts(&[(300, 1001)])]);
        let minf = bx(b"minf", &[&hdlr(b"alis"), &stbl]);
        let t = trak_of(&[&mdhd(30000), &hdlr(b"vide"), &minf]);
        assert_eq!(rate(&[&ftyp(), &moov(&[&t])]), Some((30000, 1001)));
        // A sound track whose minf handler says video is a video stream.
        let stbl = bx(b"stbl", &[&stsd(b"avc1", &[]), &stts(&[(300, 1001)])]);
        let minf = bx(b"minf", &[&hdlr(b"vide"), &stbl]);
        let t = trak_of(&[&mdhd(30000), &hdlr(b"soun"), &minf]);
        assert_eq!(rate(&[&ftyp(), &moov(&[&t])]), Some((30000, 1001)));
        // No handler: the sample entry would decide, which is not modelled.
        let stbl = bx(b"stbl", &[&stsd(b"avc1", &[]), &stts(&[(300, 1001)])]);
        let t = trak_of(&[&mdhd(30000), &bx(b"minf", &[&stbl])]);
        assert_eq!(rate(&[&ftyp(), &moov(&[&t])]), None);
    }

    #[test]
    fn cover_art_anywhere_it_could_come_first_is_refused() {
        let jpeg = bx(b"data", &[&[0, 0, 0, 0xd, 0, 0, 0, 0], b"\xff\xd8\xff"]);
        let covr = bx(b"covr", &[&jpeg]);
        let ilst = bx(b"ilst", &[&covr]);
        let meta = bx(b"meta", &[&[0; 4], &hdlr(b"mdir"), &ilst]);
        let udta = bx(b"udta", &[&meta]);
        assert_eq!(rate(&[&ftyp(), &moov(&[&udta, &video()])]), None);
        assert_eq!(rate(&[&ftyp(), &moov(&[&video(), &udta])]), None);
        assert_eq!(rate(&[&ftyp(), &udta, &moov(&[&video()])]), None);
        // Plain user data (an Android location) before the tracks is harmless.
        let xyz = bx(b"udta", &[&bx(b"\xa9xyz", &[b"\x00\x12\x15\xc7+51.5000-000.1200/"])]);
        assert_eq!(rate(&[&ftyp(), &moov(&[&xyz, &video()])]), Some((30000, 1001)));
    }

    #[test]
    fn quicktime_metadata_keys_are_checked_for_artwork() {
        let key = |name: &[u8]| bx(b"mdta", &[name]);
        let keys = |name: &[u8]| bx(b"keys", &[&[0; 4], &1u32.to_be_bytes(), &key(name)]);
        let item = bx(b"\0\0\0\x01", &[&bx(b"data", &[&[0, 0, 0, 1, 0, 0, 0, 0], b"14"])]);
        let meta = |name: &[u8]| bx(b"meta", &[&hdlr(b"mdta"), &keys(name), &bx(b"ilst", &[&item])]);
        let plain = meta(b"com.android.version");
        assert_eq!(rate(&[&ftyp(), &moov(&[&plain, &video()])]), Some((30000, 1001)));
        let art = meta(b"com.apple.quicktime.artwork");
        assert_eq!(rate(&[&ftyp(), &moov(&[&art, &video()])]), None);
    }

    #[test]
    fn fragmented_or_compressed_files_are_refused() {
        let mvex = bx(b"mvex", &[&bx(b"trex", &[&[0; 24]])]);
        assert_eq!(rate(&[&ftyp(), &moov(&[&video(), &mvex])]), None);
        let moof = bx(b"moof", &[&bx(b"mfhd", &[&[0; 8]])]);
        assert_eq!(rate(&[&ftyp(), &moov(&[&video()]), &moof, &bx(b"mdat", &[])]), None);
        let cmov = bx(b"moov", &[&bx(b"cmov", &[&[0; 16]])]);
        assert_eq!(rate(&[&ftyp(), &cmov]), None);
    }

    #[test]
    fn only_the_first_moov_counts() {
        let other = moov(&[&trak(b"vide", 25, &[(10, 1)])]);
        assert_eq!(rate(&[&ftyp(), &moov(&[&video()]), &other]), Some((30000, 1001)));
    }

    #[test]
    fn files_not_plainly_mp4_are_refused() {
        assert_eq!(rate(&[&moov(&[&video()])]), None);
        assert_eq!(rate(&[&bx(b"free", &[]), &ftyp(), &moov(&[&video()])]), None);
        let avif = bx(b"ftyp", &[b"avif", &[0; 4], b"avifmif1"]);
        assert_eq!(rate(&[&avif, &moov(&[&video()])]), None);
        assert_eq!(rate(&[&ftyp(), &ftyp(), &moov(&[&video()])]), None);
        assert_eq!(rate(&[&ftyp()]), None);
        assert_eq!(rate_of(&[]), None);
        assert_eq!(rate_of(b"\x00\x00\x00\x18ftyp"), None);
        assert_eq!(mp4_frame_rate(Path::new("/nonexistent/tantalum.mp4")), None);
        // MPEG-PS packed in MOV may be probed as MPEG-PS.
        let mpeg = bx(b"hdlr", &[&[0; 4], b"mhlrMPEG", &[0; 12]]);
        assert_eq!(rate(&[&ftyp(), &moov(&[&video(), &bx(b"udta", &[&mpeg])])]), None);
    }

    #[test]
    fn inconsistent_sizes_are_refused() {
        let mut whole = [ftyp(), moov(&[&video()])].concat();
        let len = whole.len();
        assert_eq!(rate_of(&whole[..len - 1]), None);
        // A box inside moov claiming more than its parent holds.
        let mut t = video();
        let claimed = t.len() as u32 + 1;
        t[..4].copy_from_slice(&claimed.to_be_bytes());
        assert_eq!(rate(&[&ftyp(), &moov(&[&t])]), None);
        // A box smaller than its own header.
        let at = ftyp().len();
        whole[at..at + 4].copy_from_slice(&4u32.to_be_bytes());
        assert_eq!(rate_of(&whole), None);
    }

    #[test]
    fn stts_problems_are_refused() {
        let mut short = stts(&[(300, 1001), (1, 1001)]);
        short.truncate(short.len() - 4);
        let len = short.len() as u32;
        short[..4].copy_from_slice(&len.to_be_bytes());
        let t = video_of(&[&stsd(b"avc1", &[]), &short]);
        assert_eq!(rate(&[&ftyp(), &moov(&[&t])]), None);
        for entries in [&[][..], &[(0, 1001)], &[(300, 0)], &[(1 << 31, 1)]] {
            assert_eq!(
                rate(&[&ftyp(), &moov(&[&trak(b"vide", 30000, entries)])]),
                None,
                "{entries:?}"
            );
        }
        let t = trak(b"vide", 30000, &[(10, MAX_STTS_DELTA + 1), (10, 1001)]);
        assert_eq!(rate(&[&ftyp(), &moov(&[&t])]), None);
        let t = trak(b"vide", 30000, &[(1, MAX_STTS_DELTA)]);
        assert_eq!(rate(&[&ftyp(), &moov(&[&t])]), Some((2000, MAX_STTS_DELTA / 15)));
        // FFmpeg sums a duplicated stts, and applies a stray one to the last stream.
        let t = video_of(&[&stsd(b"avc1", &[]), &stts(&[(300, 1001)]), &stts(&[(300, 1001)])]);
        assert_eq!(rate(&[&ftyp(), &moov(&[&t])]), None);
        assert_eq!(rate(&[&ftyp(), &moov(&[&video(), &stts(&[(1, 1)])])]), None);
    }

    #[test]
    fn time_scale_problems_are_refused() {
        assert_eq!(rate(&[&ftyp(), &moov(&[&trak(b"vide", 0, &[(300, 1001)])])]), None);
        assert_eq!(
            rate(&[&ftyp(), &moov(&[&trak(b"vide", 1 << 31, &[(300, 1001)])])]),
            None
        );
        // A reduced rate past INT_MAX would be approximated by av_reduce.
        let t = trak(b"vide", i32::MAX as u32, &[(1, 1), (1, 2)]);
        assert_eq!(rate(&[&ftyp(), &moov(&[&t])]), None);
        // Version 1 mdhd with 64-bit times.
        let v1 = bx(
            b"mdhd",
            &[&[1, 0, 0, 0], &[0; 16], &600u32.to_be_bytes(), &[0; 8], &[0; 4]],
        );
        let stbl = bx(b"stbl", &[&stsd(b"avc1", &[]), &stts(&[(48, 20)])]);
        let t = trak_of(&[&v1, &hdlr(b"vide"), &bx(b"minf", &[&stbl])]);
        assert_eq!(rate(&[&ftyp(), &moov(&[&t])]), Some((30, 1)));
        let stbl = bx(b"stbl", &[&stsd(b"avc1", &[]), &stts(&[(48, 20)])]);
        let two = trak_of(&[&mdhd(600), &mdhd(600), &hdlr(b"vide"), &bx(b"minf", &[&stbl])]);
        assert_eq!(rate(&[&ftyp(), &moov(&[&two])]), None);
    }

    #[test]
    fn sample_entries_that_could_change_the_stream_are_refused() {
        let esds = bx(b"esds", &[&[0; 4], &[3, 25, 0, 1, 0, 4, 17, 0x6b]]);
        let t = video_of(&[&stsd(b"mp4v", &esds), &stts(&[(300, 1001)])]);
        assert_eq!(rate(&[&ftyp(), &moov(&[&t])]), None);
        let inner = hdlr(b"soun");
        let t = video_of(&[&stsd(b"avc1", &inner), &stts(&[(300, 1001)])]);
        assert_eq!(rate(&[&ftyp(), &moov(&[&t])]), None);
        // Codec configuration boxes are fine.
        let avcc = bx(b"avcC", &[&[1, 0x64, 0, 0x1f, 0xff, 0xe0]]);
        let t = video_of(&[&stsd(b"avc1", &avcc), &stts(&[(300, 1001)])]);
        assert_eq!(rate(&[&ftyp(), &moov(&[&t])]), Some((30000, 1001)));
    }

    #[test]
    fn garbage_never_panics() {
        let good = [ftyp(), moov(&[&trak(b"soun", 44100, &[(10, 1024)]), &video()])].concat();
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for round in 0..2000 {
            let mut bytes = good.clone();
            for _ in 0..1 + round % 4 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let at = (seed % bytes.len() as u64) as usize;
                bytes[at] = (seed >> 32) as u8;
            }
            let _ = rate_of(&bytes[..bytes.len() - round % 7]);
        }
    }
}
