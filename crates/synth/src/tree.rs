//! A whole evidence tree with known answers: what a seized phone's dump
//! looks like (camera folder, messenger media, downloads, backups in
//! archives), the hash lists that flag some of it, and what a scan must
//! find for every file.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use image::RgbImage;

use crate::images::{cropped, flat, jpeg, photo, png, resized, rotated90, watermarked};

/// What a scan must report for one file of the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expect {
    /// Path relative to the evidence root (members as `a.zip!/b`).
    pub path: String,
    /// The flagged item it derives from, by its list id (`item-01`), if any.
    pub item: Option<String>,
    /// It is a byte-identical copy (digest match).
    pub exact: bool,
    /// It matches only when rotations and flips are searched.
    pub needs_dihedral: bool,
    /// hashed, known, skipped or error.
    pub status: &'static str,
}

/// Where [`write_evidence`] put things.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The evidence root.
    pub evidence: PathBuf,
    /// A CSV hash list (`id,md5,pdq,category`) of the flagged items.
    pub flagged_list: PathBuf,
    /// An md5sum-style list of known (NSRL-like) files.
    pub known_list: PathBuf,
    /// Every file's expected outcome.
    pub expect: Vec<Expect>,
    /// PDQ hex of each flagged item's original, by id.
    pub item_pdq: Vec<(String, String)>,
}

/// What to put in the tree besides the fixed cases.
#[derive(Debug, Clone, Copy, Default)]
pub struct Extras {
    /// Unrelated photos in the camera folder.
    pub photos: usize,
    /// An archive of traps: a zip-slip path and a compression bomb.
    pub traps: bool,
}

fn put(root: &Path, rel: &str, bytes: &[u8]) -> io::Result<()> {
    let path = root.join(rel);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    fs::write(path, bytes)
}

fn zip_of(entries: &[(&str, &[u8])]) -> io::Result<Vec<u8>> {
    let mut w = zip::ZipWriter::new(io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in entries {
        w.start_file(*name, options).map_err(io::Error::other)?;
        w.write_all(bytes)?;
    }
    Ok(w.finish().map_err(io::Error::other)?.into_inner())
}

fn tar_of(entries: &[(&str, &[u8])]) -> io::Result<Vec<u8>> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, bytes) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(1_489_312_800);
        header.set_cksum();
        b.append_data(&mut header, name, *bytes)?;
    }
    b.into_inner()
}

fn gzip_of(bytes: &[u8]) -> io::Result<Vec<u8>> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes)?;
    e.finish()
}

fn pdq_hex(bytes: &[u8]) -> String {
    let a = media::analyze_bytes(bytes, None, &Default::default(), &mut pdq::Hasher::new());
    a.pdq.map(|p| p.hash.to_hex()).unwrap_or_default()
}

/// Writes the evidence tree under `dir/evidence` and its lists under
/// `dir/lists`, and returns what a scan must find.
pub fn write_evidence(dir: &Path, extras: Extras) -> io::Result<Layout> {
    let evidence = dir.join("evidence");
    let lists = dir.join("lists");
    fs::create_dir_all(&evidence)?;
    fs::create_dir_all(&lists)?;
    let mut expect = Vec::new();
    let mut flagged_csv = String::from("id,md5,pdq,category\n");
    let mut item_pdq = Vec::new();
    let originals: Vec<RgbImage> = (1..=9).map(|i| photo(i, 640, 480)).collect();
    let categories = [
        "demo:A", "demo:B", "demo:A", "demo:C", "demo:B", "demo:A", "demo:C", "demo:B", "demo:A",
    ];
    for (i, img) in originals.iter().enumerate() {
        let bytes = jpeg(img, 90);
        let id = format!("item-{:02}", i + 1);
        let digest = media::analyze_bytes(&bytes, None, &Default::default(), &mut pdq::Hasher::new());
        let md5 = media::hex(&digest.digests.expect("in memory").md5);
        let pdq = pdq_hex(&bytes);
        flagged_csv.push_str(&format!("{id},{md5},{pdq},{}\n", categories[i]));
        item_pdq.push((id, pdq));
    }
    let original = |n: usize| jpeg(&originals[n - 1], 90);
    let item = |n: usize| Some(format!("item-{n:02}"));
    let mut file = |rel: &str, bytes: &[u8], item: Option<String>, exact: bool, dihedral: bool, status| {
        expect.push(Expect {
            path: rel.to_string(),
            item,
            exact,
            needs_dihedral: dihedral,
            status,
        });
        put(&evidence, rel, bytes)
    };

    file("DCIM/Camera/IMG_0001.jpg", &original(1), item(1), true, false, "hashed")?;
    file(
        "DCIM/Camera/IMG_0002.jpg",
        &jpeg(&originals[1], 40),
        item(2),
        false,
        false,
        "hashed",
    )?;
    file(
        "Pictures/Telegram/photo_2017-03-12_21-04-11.jpg",
        &jpeg(&resized(&originals[2], 320, 240), 85),
        item(3),
        false,
        false,
        "hashed",
    )?;
    file(
        "Pictures/Screenshots/Screenshot_20170312.png",
        &png(&cropped(&originals[3], 0.01)),
        item(4),
        false,
        false,
        "hashed",
    )?;
    file(
        "WhatsApp/Media/WhatsApp Images/IMG-20170312-WA0007.jpg",
        &jpeg(&watermarked(&originals[4]), 85),
        item(5),
        false,
        false,
        "hashed",
    )?;
    file(
        "Download/turned.jpg",
        &jpeg(&rotated90(&originals[5]), 90),
        item(6),
        false,
        true,
        "hashed",
    )?;
    for n in 0..(8 + extras.photos) {
        let (w, h) = if n % 3 == 0 { (480, 640) } else { (800, 600) };
        let rel = format!("DCIM/Camera/IMG_{:04}.jpg", 100 + n);
        file(
            &rel,
            &jpeg(&photo(1000 + n as u64, w, h), 88),
            None,
            false,
            false,
            "hashed",
        )?;
    }
    let blank = png(&flat(7, 640, 480));
    flagged_csv.push_str(&format!("low-quality,,{},demo:A\n", pdq_hex(&blank)));
    file("Download/blank.png", &blank, None, false, false, "hashed")?;
    let mut broken = original(1)[..600].to_vec();
    broken.extend_from_slice(&[0x55; 64]);
    broken[300..340].fill(0xFF);
    file("Download/broken.jpg", &broken, None, false, false, "error")?;
    file("Download/empty.jpg", b"", None, false, false, "error")?;
    file(
        "Documents/notes.txt",
        b"Shopping list: milk, bread.\nCall the garage on Monday.\n",
        None,
        false,
        false,
        "hashed",
    )?;
    let system_icon = png(&photo(4242, 96, 96));
    file(
        "Android/system/framework_icon.png",
        &system_icon,
        None,
        false,
        false,
        "known",
    )?;
    let known = media::analyze_bytes(&system_icon, None, &Default::default(), &mut pdq::Hasher::new());
    let known_md5 = media::hex(&known.digests.expect("in memory").md5);
    fs::write(lists.join("known.md5"), format!("{known_md5}  framework_icon.png\n"))?;

    // A backup: a zip holding an exact copy, an unrelated photo, and a tar.gz
    // inside it holding a re-encoded copy.
    let deep_tar = tar_of(&[("deep/c.jpg", &jpeg(&originals[7], 50))])?;
    let deep = gzip_of(&deep_tar)?;
    let unrelated = jpeg(&photo(777, 640, 480), 85);
    let zip = zip_of(&[
        ("photos/a.jpg", &original(7)),
        ("photos/b.jpg", &unrelated),
        ("nested/deep.tar.gz", &deep),
    ])?;
    file("Backup/photos.zip", &zip, None, false, false, "hashed")?;
    expect.push(Expect {
        path: "Backup/photos.zip!/photos/a.jpg".into(),
        item: item(7),
        exact: true,
        needs_dihedral: false,
        status: "hashed",
    });
    for (path, it, exact) in [
        ("Backup/photos.zip!/photos/b.jpg", None, false),
        ("Backup/photos.zip!/nested/deep.tar.gz", None, false),
        ("Backup/photos.zip!/nested/deep.tar.gz!/deep/c.jpg", item(8), false),
    ] {
        expect.push(Expect {
            path: path.into(),
            item: it,
            exact,
            needs_dihedral: false,
            status: "hashed",
        });
    }
    let old = tar_of(&[
        ("x/item9.jpg", &original(9)),
        ("y/other.png", &png(&photo(888, 320, 240))),
    ])?;
    put(&evidence, "Backup/old.tar", &old)?;
    for (path, it, exact) in [
        ("Backup/old.tar", None, false),
        ("Backup/old.tar!/x/item9.jpg", item(9), true),
        ("Backup/old.tar!/y/other.png", None, false),
    ] {
        expect.push(Expect {
            path: path.into(),
            item: it,
            exact,
            needs_dihedral: false,
            status: "hashed",
        });
    }
    if extras.traps {
        let bomb = vec![0u8; 8 << 20];
        let traps = zip_of(&[
            ("../../outside.jpg", &original(1)),
            ("zeros.bin", &bomb),
            ("fine.txt", b"fine"),
        ])?;
        put(&evidence, "Backup/traps.zip", &traps)?;
        for (path, status) in [
            ("Backup/traps.zip", "hashed"),
            ("Backup/traps.zip!/../../outside.jpg", "skipped"),
            ("Backup/traps.zip!/zeros.bin", "skipped"),
            ("Backup/traps.zip!/fine.txt", "hashed"),
        ] {
            expect.push(Expect {
                path: path.into(),
                item: None,
                exact: false,
                needs_dihedral: false,
                status,
            });
        }
    }
    fs::write(lists.join("flagged.csv"), flagged_csv)?;
    expect.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Layout {
        evidence,
        flagged_list: lists.join("flagged.csv"),
        known_list: lists.join("known.md5"),
        expect,
        item_pdq,
    })
}
