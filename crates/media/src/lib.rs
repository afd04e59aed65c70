//! Everything tantalum reads from a file before matching: its type by
//! content, its MD5, SHA-1 and SHA-256, and for images the pixels Meta's
//! reference PDQ hasher would see, hashed with [`pdq`].
//!
//! One read feeds both the digests and the decoder. Evidence is opened
//! read-only and, where the kernel allows it, without updating its access
//! time.

mod copy;
mod decode;
mod digest;
mod jpeg;
mod sniff;

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

pub use copy::PrivateCopy;
pub use decode::{decode_for_pdq, sample_size, DecodeError, DecodeLimits, Sampled, DEFAULT_MAX_PIXELS, RESAMPLE_SIDE};
pub use digest::{hex, Digester, Digests};
pub use jpeg::encode_jpeg;
pub use sniff::{sniff, Format, Kind, SNIFF_LEN};

/// Files whose content says "image" but that are larger than this are
/// digested but not decoded (no real photo is this large; a crafted file can be).
pub const MAX_IMAGE_FILE_BYTES: u64 = 1 << 30;

const READ_CHUNK: usize = 1 << 20;

/// What to compute for each file.
#[derive(Debug, Clone, Copy, Default)]
pub struct AnalyzeOptions {
    /// Decoder limits.
    pub limits: DecodeLimits,
    /// Also compute the eight dihedral PDQ hashes.
    pub dihedral: bool,
}

/// Why a file could not be fully analysed. The digests, where the file could
/// be read, are kept beside the error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MediaError {
    /// The file could not be opened or read.
    #[error("read error: {0}")]
    Io(String),
    /// The file has no content.
    #[error("empty file (0 bytes)")]
    EmptyFile,
    /// The name claims an image format the content does not have.
    #[error("not an image: the name ends in .{extension} but the content is not a recognised image")]
    NotAnImage {
        /// The extension, lowercased.
        extension: String,
    },
    /// An image file over [`MAX_IMAGE_FILE_BYTES`].
    #[error("image file of {0} bytes is too large to decode")]
    FileTooLarge(u64),
    /// The image could not be decoded.
    #[error(transparent)]
    Decode(#[from] DecodeError),
}

/// The result of analysing one file. A failure keeps whatever was computed
/// before it (digests above all) and names the problem in `error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileAnalysis {
    /// Size in bytes.
    pub size: u64,
    /// Digests, when the whole file could be read.
    pub digests: Option<Digests>,
    /// Format by content.
    pub format: Option<Format>,
    /// Image, video or other.
    pub kind: Kind,
    /// Stored width (images).
    pub width: Option<u32>,
    /// Stored height (images).
    pub height: Option<u32>,
    /// PDQ hash and quality (images).
    pub pdq: Option<pdq::PdqHash>,
    /// The eight dihedral hashes, when asked for.
    pub dihedral: Option<[pdq::Hash256; 8]>,
    /// What went wrong, if anything.
    pub error: Option<MediaError>,
}

impl FileAnalysis {
    fn failed(size: u64, error: MediaError) -> Self {
        FileAnalysis {
            size,
            digests: None,
            format: None,
            kind: Kind::Other,
            width: None,
            height: None,
            pdq: None,
            dihedral: None,
            error: Some(error),
        }
    }
}

/// Opens evidence read-only, without touching its access time where the
/// kernel lets us (O_NOATIME needs ownership or CAP_FOWNER; otherwise it is
/// refused and we fall back to a plain read-only open).
pub fn open_evidence(path: &Path) -> io::Result<File> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::OpenOptionsExt;
        const O_NOATIME: i32 = 0o1_000_000;
        if let Ok(f) = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(O_NOATIME)
            .open(path)
        {
            return Ok(f);
        }
    }
    File::open(path)
}

/// Reads, digests, sniffs, decodes and PDQ-hashes one file.
pub fn analyze_path(path: &Path, options: &AnalyzeOptions, hasher: &mut pdq::Hasher) -> FileAnalysis {
    let extension = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    match load_path(path) {
        Ok(loaded) => analyze_loaded(&loaded, extension.as_deref(), options, hasher),
        Err((size, error)) => FileAnalysis::failed(size, error),
    }
}

/// A file read once: its digests and format, and its bytes when it may be
/// an image to decode (everything else is digested in passing, never kept).
///
/// Reading and analysing are two steps so a caller can look the digests up
/// first (a known-file list, say) and skip the decoder.
#[derive(Debug, Clone)]
pub struct Loaded<'a> {
    /// Size in bytes.
    pub size: u64,
    /// MD5, SHA-1 and SHA-256 of the whole content.
    pub digests: Digests,
    /// Format by content.
    pub format: Option<Format>,
    bytes: Option<std::borrow::Cow<'a, [u8]>>,
}

impl<'a> Loaded<'a> {
    /// Digests and sniffs bytes already in memory (an archive member, an upload).
    pub fn from_bytes(bytes: &'a [u8]) -> Loaded<'a> {
        let mut digester = Digester::new();
        digester.update(bytes);
        Loaded {
            size: bytes.len() as u64,
            digests: digester.finish(),
            format: sniff(&bytes[..bytes.len().min(SNIFF_LEN)]),
            bytes: Some(std::borrow::Cow::Borrowed(bytes)),
        }
    }

    /// The content, when it was kept (images up to [`MAX_IMAGE_FILE_BYTES`], and bytes given in memory).
    pub fn bytes(&self) -> Option<&[u8]> {
        self.bytes.as_deref()
    }
}

/// Opens evidence read-only and reads it once (see [`Loaded`]). On failure,
/// the size as far as known and the error.
pub fn load_path(path: &Path) -> Result<Loaded<'static>, (u64, MediaError)> {
    let mut file = match open_evidence(path) {
        Ok(f) => f,
        Err(e) => {
            let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
            return Err((size, MediaError::Io(e.to_string())));
        }
    };
    let declared_size = file.metadata().map(|m| m.len()).unwrap_or(0);
    load_file(&mut file, declared_size).map_err(|e| (declared_size, MediaError::Io(e.to_string())))
}

/// Reads an open file once (see [`Loaded`]); `declared_size` sizes the buffer.
pub fn load_file(file: &mut impl Read, declared_size: u64) -> io::Result<Loaded<'static>> {
    let mut head = Vec::with_capacity(SNIFF_LEN);
    file.by_ref().take(SNIFF_LEN as u64).read_to_end(&mut head)?;
    let format = sniff(&head);
    let is_image = format.map(Format::kind) == Some(Kind::Image);
    let mut digester = Digester::new();
    if is_image && declared_size <= MAX_IMAGE_FILE_BYTES {
        let mut bytes = head;
        bytes.reserve(declared_size.saturating_sub(bytes.len() as u64) as usize);
        file.take(MAX_IMAGE_FILE_BYTES + 1 - bytes.len() as u64)
            .read_to_end(&mut bytes)?;
        if bytes.len() as u64 <= MAX_IMAGE_FILE_BYTES {
            digester.update(&bytes);
            return Ok(Loaded {
                size: bytes.len() as u64,
                digests: digester.finish(),
                format,
                bytes: Some(std::borrow::Cow::Owned(bytes)),
            });
        }
        // The file grew past the cap while we read it: fall through to streaming.
        digester.update(&bytes);
        let size = bytes.len() as u64 + stream_into(file, &mut digester)?;
        return Ok(Loaded {
            size,
            digests: digester.finish(),
            format,
            bytes: None,
        });
    }
    digester.update(&head);
    let size = head.len() as u64 + stream_into(file, &mut digester)?;
    Ok(Loaded {
        size,
        digests: digester.finish(),
        format,
        bytes: None,
    })
}

/// Decodes and PDQ-hashes what [`load_path`] or [`Loaded::from_bytes`] read.
/// The extension, if any, is only used to flag content that does not match it.
pub fn analyze_loaded(
    loaded: &Loaded<'_>,
    extension: Option<&str>,
    options: &AnalyzeOptions,
    hasher: &mut pdq::Hasher,
) -> FileAnalysis {
    let mut out = analysis_without_pixels(loaded.size, loaded.digests, loaded.format, extension);
    let Some(format) = loaded.format.filter(|f| f.kind() == Kind::Image) else {
        return out;
    };
    let Some(bytes) = loaded.bytes() else {
        if out.error.is_none() {
            out.error = Some(MediaError::FileTooLarge(loaded.size));
        }
        return out;
    };
    match hash_image(bytes, format, options, hasher) {
        Ok(image) => {
            out.width = Some(image.width);
            out.height = Some(image.height);
            out.pdq = Some(image.pdq);
            out.dihedral = image.dihedral;
        }
        Err(e) => out.error = Some(MediaError::Decode(e)),
    }
    out
}

fn stream_into(file: &mut impl Read, digester: &mut Digester) -> io::Result<u64> {
    let mut buf = vec![0u8; READ_CHUNK];
    let mut total = 0u64;
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        digester.update(&buf[..n]);
        total += n as u64;
    }
}

/// Extensions that claim a still image: content that is not one is reported.
const IMAGE_EXTENSIONS: &[&str] = &[
    "jpg", "jpeg", "jpe", "jfif", "png", "gif", "webp", "tif", "tiff", "bmp", "heic", "heif", "avif",
];

fn analysis_without_pixels(
    size: u64,
    digests: Digests,
    format: Option<Format>,
    extension: Option<&str>,
) -> FileAnalysis {
    let error = if size == 0 {
        Some(MediaError::EmptyFile)
    } else {
        match (format, extension) {
            (None, Some(ext)) if IMAGE_EXTENSIONS.contains(&ext) => Some(MediaError::NotAnImage {
                extension: ext.to_string(),
            }),
            _ => None,
        }
    };
    FileAnalysis {
        size,
        digests: Some(digests),
        format,
        kind: format.map(Format::kind).unwrap_or(Kind::Other),
        width: None,
        height: None,
        pdq: None,
        dihedral: None,
        error,
    }
}

/// Analyses bytes already in memory (an archive member, an upload). The
/// extension, if any, is only used to flag content that does not match it.
pub fn analyze_bytes(
    bytes: &[u8],
    extension: Option<&str>,
    options: &AnalyzeOptions,
    hasher: &mut pdq::Hasher,
) -> FileAnalysis {
    analyze_loaded(&Loaded::from_bytes(bytes), extension, options, hasher)
}

/// PDQ of a decoded image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageHashes {
    /// Stored width.
    pub width: u32,
    /// Stored height.
    pub height: u32,
    /// The PDQ hash and quality.
    pub pdq: pdq::PdqHash,
    /// The eight dihedral hashes, when asked for.
    pub dihedral: Option<[pdq::Hash256; 8]>,
}

/// Decodes an image of a known format and hashes it as the reference does.
pub fn hash_image(
    bytes: &[u8],
    format: Format,
    options: &AnalyzeOptions,
    hasher: &mut pdq::Hasher,
) -> Result<ImageHashes, DecodeError> {
    let sampled = decode_for_pdq(bytes, format, &options.limits)?;
    let (w, h) = (sampled.sample_width as usize, sampled.sample_height as usize);
    let luma = sampled.luma();
    let hash_error = |e: pdq::PdqError| DecodeError::Corrupt(e.to_string());
    let (pdq, dihedral) = if options.dihedral {
        // The reference's plain hash skips the blur for 64×64 inputs and its
        // dihedral path does not, so only there do the two need separate runs.
        let plain = if (w, h) == (64, 64) {
            Some(hasher.hash(&luma, w, h).map_err(hash_error)?)
        } else {
            None
        };
        let all = hasher.hash_dihedral(&luma, w, h).map_err(hash_error)?;
        let pdq = plain.unwrap_or(pdq::PdqHash {
            hash: all.hashes[0],
            quality: all.quality,
        });
        (pdq, Some(all.hashes))
    } else {
        (hasher.hash(&luma, w, h).map_err(hash_error)?, None)
    };
    Ok(ImageHashes {
        width: sampled.width,
        height: sampled.height,
        pdq,
        dihedral,
    })
}
