//! File type by content. Evidence arrives renamed, truncated and without
//! extensions, so the extension is never consulted.

/// What a file is, broadly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A still image (PDQ applies).
    Image,
    /// A video container (vPDQ applies).
    Video,
    /// An archive whose members are evidence too (ZIP, tar, gzip).
    Archive,
    /// Anything else: digests only.
    Other,
}

impl Kind {
    /// The lowercase name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Image => "image",
            Kind::Video => "video",
            Kind::Archive => "archive",
            Kind::Other => "other",
        }
    }
}

/// A recognised file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// JPEG / JFIF / EXIF.
    Jpeg,
    /// PNG (APNG included; the default image is hashed).
    Png,
    /// GIF 87a/89a.
    Gif,
    /// WebP (lossy, lossless, animated).
    WebP,
    /// TIFF, either byte order.
    Tiff,
    /// Windows bitmap.
    Bmp,
    /// HEIF/HEIC still image (detected, not decoded yet).
    Heic,
    /// AVIF (detected, not decoded yet).
    Avif,
    /// ISO base media (MP4, M4V).
    Mp4,
    /// QuickTime MOV.
    QuickTime,
    /// 3GPP / 3GPP2.
    ThreeGp,
    /// Matroska.
    Matroska,
    /// WebM.
    WebM,
    /// AVI.
    Avi,
    /// Flash video.
    Flv,
    /// MPEG transport stream.
    MpegTs,
    /// MPEG program stream.
    MpegPs,
    /// ASF / WMV.
    Asf,
    /// ZIP (and the formats built on it: DOCX, APK, JAR...).
    Zip,
    /// POSIX / GNU tar.
    Tar,
    /// A gzip stream (often a .tar.gz).
    Gzip,
}

impl Format {
    /// The lowercase name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Format::Jpeg => "jpeg",
            Format::Png => "png",
            Format::Gif => "gif",
            Format::WebP => "webp",
            Format::Tiff => "tiff",
            Format::Bmp => "bmp",
            Format::Heic => "heic",
            Format::Avif => "avif",
            Format::Mp4 => "mp4",
            Format::QuickTime => "mov",
            Format::ThreeGp => "3gp",
            Format::Matroska => "mkv",
            Format::WebM => "webm",
            Format::Avi => "avi",
            Format::Flv => "flv",
            Format::MpegTs => "mpegts",
            Format::MpegPs => "mpegps",
            Format::Asf => "asf",
            Format::Zip => "zip",
            Format::Tar => "tar",
            Format::Gzip => "gzip",
        }
    }

    /// Image, video or other.
    pub fn kind(self) -> Kind {
        match self {
            Format::Jpeg
            | Format::Png
            | Format::Gif
            | Format::WebP
            | Format::Tiff
            | Format::Bmp
            | Format::Heic
            | Format::Avif => Kind::Image,
            Format::Zip | Format::Tar | Format::Gzip => Kind::Archive,
            _ => Kind::Video,
        }
    }
}

/// How many leading bytes [`sniff`] needs to see to decide.
pub const SNIFF_LEN: usize = 4096;

/// Identifies a format from a file's first bytes ([`SNIFF_LEN`] is plenty).
pub fn sniff(head: &[u8]) -> Option<Format> {
    let starts = |magic: &[u8]| head.starts_with(magic);
    if starts(&[0xFF, 0xD8, 0xFF]) {
        return Some(Format::Jpeg);
    }
    if starts(b"\x89PNG\r\n\x1a\n") {
        return Some(Format::Png);
    }
    if starts(b"GIF87a") || starts(b"GIF89a") {
        return Some(Format::Gif);
    }
    if head.len() >= 12 && &head[0..4] == b"RIFF" {
        match &head[8..12] {
            b"WEBP" => return Some(Format::WebP),
            b"AVI " => return Some(Format::Avi),
            _ => {}
        }
    }
    if starts(b"II*\0") || starts(b"MM\0*") {
        return Some(Format::Tiff);
    }
    if head.len() >= 14 && starts(b"BM") && bmp_header_plausible(head) {
        return Some(Format::Bmp);
    }
    if let Some(f) = sniff_iso_bmff(head) {
        return Some(f);
    }
    if starts(&[0x1A, 0x45, 0xDF, 0xA3]) {
        let probe = &head[..head.len().min(64)];
        let webm = probe.windows(4).any(|w| w == b"webm");
        return Some(if webm { Format::WebM } else { Format::Matroska });
    }
    if starts(b"FLV\x01") {
        return Some(Format::Flv);
    }
    if starts(&[0x30, 0x26, 0xB2, 0x75, 0x8E, 0x66, 0xCF, 0x11]) {
        return Some(Format::Asf);
    }
    if starts(&[0x00, 0x00, 0x01, 0xBA]) {
        return Some(Format::MpegPs);
    }
    if head.len() >= 188 * 3 && (0..3).all(|i| head[i * 188] == 0x47) {
        return Some(Format::MpegTs);
    }
    // An empty ZIP is only its end-of-central-directory record.
    if starts(b"PK\x03\x04") || starts(b"PK\x05\x06") {
        return Some(Format::Zip);
    }
    if starts(&[0x1F, 0x8B, 0x08]) {
        return Some(Format::Gzip);
    }
    if head.len() >= 263 && &head[257..262] == b"ustar" {
        return Some(Format::Tar);
    }
    None
}

fn bmp_header_plausible(head: &[u8]) -> bool {
    // The DIB header size distinguishes real bitmaps from text starting "BM".
    let dib = u32::from_le_bytes([head[14], head[15], head[16], head.get(17).copied().unwrap_or(0)]);
    head.len() >= 18 && matches!(dib, 12 | 40 | 52 | 56 | 64 | 108 | 124)
}

/// ISO base media files start with an `ftyp` box whose brands say what they hold.
fn sniff_iso_bmff(head: &[u8]) -> Option<Format> {
    if head.len() < 16 || &head[4..8] != b"ftyp" {
        return None;
    }
    let box_len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
    let end = box_len.clamp(16, head.len());
    let major = &head[8..12];
    let compatible = head[16..end].chunks_exact(4);
    let brands = std::iter::once(major).chain(compatible);
    let mut seen_heif = false;
    for brand in brands {
        match brand {
            b"avif" | b"avis" => return Some(Format::Avif),
            b"heic" | b"heix" | b"heim" | b"heis" | b"hevc" | b"hevx" => return Some(Format::Heic),
            b"mif1" | b"msf1" => seen_heif = true,
            _ => {}
        }
    }
    if seen_heif {
        return Some(Format::Heic);
    }
    Some(match major {
        b"qt  " => Format::QuickTime,
        m if m.starts_with(b"3g") => Format::ThreeGp,
        _ => Format::Mp4,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_common_headers() {
        assert_eq!(sniff(b"\xFF\xD8\xFF\xE0\0\x10JFIF"), Some(Format::Jpeg));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), Some(Format::Png));
        assert_eq!(sniff(b"GIF89a......"), Some(Format::Gif));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some(Format::WebP));
        assert_eq!(sniff(b"RIFF\0\0\0\0AVI LIST"), Some(Format::Avi));
        assert_eq!(sniff(b"\0\0\0\x18ftypheic\0\0\0\0mif1heic"), Some(Format::Heic));
        assert_eq!(sniff(b"\0\0\0\x1cftypavif\0\0\0\0avifmif1miaf"), Some(Format::Avif));
        assert_eq!(sniff(b"\0\0\0\x18ftypisom\0\0\x02\0isomiso2"), Some(Format::Mp4));
        assert_eq!(sniff(b"\0\0\0\x14ftypqt  \0\0\x02\0qt  "), Some(Format::QuickTime));
        assert_eq!(sniff(b"hello world, this is text"), None);
        assert_eq!(sniff(b""), None);
        assert_eq!(sniff(b"BM"), None);
        assert_eq!(sniff(b"PK\x03\x04\x14\0"), Some(Format::Zip));
        assert_eq!(sniff(b"\x1f\x8b\x08\0"), Some(Format::Gzip));
        let mut tar = vec![0u8; 512];
        tar[257..263].copy_from_slice(b"ustar\0");
        assert_eq!(sniff(&tar), Some(Format::Tar));
    }
}
