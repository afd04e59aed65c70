//! Every format: detection, reading, errors with line numbers, and export
//! giving back what was imported.

use std::io::Cursor;

use banks::formats;
use banks::{Format, NewEntry, ReadOptions, Signal};

const PDQ_A: &str = "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22";
const PDQ_B: &str = "f0a10efd51c83d429053d48d0fffbc52e34e0e17ada956a9d29685211ea9e58f";
const MD5: &str = "900150983cd24fb0d6963f7d28e17f72";
const SHA1: &str = "a9993e364706816aba3e25717850c26c9cd0d89d";
const SHA256: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

fn read(format: Format, text: &str, options: ReadOptions) -> Vec<Result<NewEntry, banks::LineError>> {
    formats::read(format, Box::new(Cursor::new(text.as_bytes().to_vec())), options).collect()
}

fn ok(format: Format, text: &str) -> Vec<NewEntry> {
    read(format, text, ReadOptions::default())
        .into_iter()
        .map(|r| r.expect("valid line"))
        .collect()
}

fn export(format: Format, entries: &[NewEntry]) -> String {
    let mut out = Vec::new();
    {
        let mut w = formats::writer(format, Box::new(&mut out));
        for e in entries {
            w.write(e).unwrap();
        }
        w.finish().unwrap();
    }
    String::from_utf8(out).unwrap()
}

/// (signal, hash, external id) of each entry, for compact assertions.
fn typed_hashes(entries: &[NewEntry]) -> Vec<(&str, &str, Option<&str>)> {
    entries
        .iter()
        .map(|e| (e.signal.as_str(), e.hash.as_str(), e.external_id.as_deref()))
        .collect()
}

/// Export then re-import gives the same entries.
fn round_trip(format: Format, text: &str) -> Vec<NewEntry> {
    let first = ok(format, text);
    let exported = export(format, &first);
    assert_eq!(
        Format::detect(exported.as_bytes()),
        format,
        "exported text detected as the same format:\n{exported}"
    );
    let second = ok(format, &exported);
    let strip = |v: &[NewEntry]| -> Vec<(String, String, Vec<String>, Option<String>)> {
        v.iter()
            .filter(|e| !e.withdrawn)
            .map(|e| {
                (
                    e.signal.clone(),
                    e.hash.clone(),
                    e.categories.clone(),
                    e.external_id.clone(),
                )
            })
            .collect()
    };
    assert_eq!(strip(&first), strip(&second), "round trip through:\n{exported}");
    first
}

#[test]
fn plain_lists_typed_and_untyped() {
    let text = format!(
        "# a comment\n{MD5}\n{}\nsha1 {SHA1}\npdq {PDQ_A}\n\nPhotoDNA abcdef==\n",
        SHA256.to_uppercase()
    );
    assert_eq!(Format::detect(text.as_bytes()), Format::Plain);
    let entries = round_trip(Format::Plain, &text);
    let got: Vec<(&str, &str)> = entries.iter().map(|e| (e.signal.as_str(), e.hash.as_str())).collect();
    assert_eq!(
        got,
        vec![
            ("md5", MD5),
            ("sha256", SHA256),
            ("sha1", SHA1),
            ("pdq", PDQ_A),
            ("photodna", "abcdef==")
        ]
    );
}

#[test]
fn bare_64_hex_hashes_are_told_apart() {
    // PDQ hashes have exactly 128 bits set; SHA-256 digests rarely do.
    let pdq = ok(Format::Plain, &format!("{PDQ_A}\n{PDQ_B}\n"));
    assert!(pdq.iter().all(|e| e.signal == "pdq"));
    let sha = ok(Format::Plain, &format!("{SHA256}\n"));
    assert_eq!(sha[0].signal, "sha256");
    let forced = read(
        Format::Plain,
        &format!("{SHA256}\n"),
        ReadOptions {
            signal_64: Some(Signal::Pdq),
            ..Default::default()
        },
    );
    assert_eq!(forced[0].as_ref().unwrap().signal, "pdq");
}

#[test]
fn checksum_tool_output() {
    let text = format!("{MD5}  photos/a.jpg\n{MD5} *b c.jpg\n");
    let entries = round_trip(Format::Plain, &text);
    assert_eq!(entries[0].raw["filename"], "photos/a.jpg");
    assert_eq!(entries[1].raw["filename"], "b c.jpg");
    assert_eq!(export(Format::Plain, &entries), text);
}

#[test]
fn hashdeep() {
    let text = format!(
        "%%%% HASHDEEP-1.0\n%%%% size,md5,sha256,filename\n## Invoked from: /home\n## $ hashdeep -r .\n##\n1234,{MD5},{SHA256},./dir/a, b.jpg\n9,{MD5},{SHA256},./c.png\n"
    );
    assert_eq!(Format::detect(text.as_bytes()), Format::Hashdeep);
    let entries = round_trip(Format::Hashdeep, &text);
    assert_eq!(entries.len(), 4);
    assert_eq!(entries[0].raw["filename"], "./dir/a, b.jpg");
    assert_eq!(entries[0].raw["size"], "1234");
    let exported = export(Format::Hashdeep, &entries);
    assert!(exported.contains(&format!("1234,{MD5},{SHA256},./dir/a, b.jpg\n")));
}

#[test]
fn csv_with_header() {
    let text =
        format!("id,pdq,md5,category,notes\nv1,{PDQ_A},{MD5},A1,first\nv2,{PDQ_B},,ncmec:B1;caid:2,\"quoted, note\"\n");
    assert_eq!(Format::detect(text.as_bytes()), Format::Csv);
    let entries = round_trip(Format::Csv, &text);
    assert_eq!(entries.len(), 3);
    assert_eq!(entries[0].external_id.as_deref(), Some("v1"));
    assert_eq!(entries[0].categories, vec!["list:A1"]);
    assert_eq!(entries[2].categories, vec!["ncmec:B1", "caid:2"]);
    assert_eq!(entries[2].raw["notes"], "quoted, note");
    let exported = export(Format::Csv, &entries);
    assert!(exported.starts_with("id,pdq,md5,category,notes\n"), "{exported}");
}

#[test]
fn threatexchange_export() {
    let text = format!(
        "signal_type,signal,content_id,category\npdq,{PDQ_A},17,\nvideo_md5,{MD5},18,te:x\nvideo_tmk_pdqf,QUJD,19,\n"
    );
    assert_eq!(Format::detect(text.as_bytes()), Format::ThreatExchange);
    let entries = round_trip(Format::ThreatExchange, &text);
    assert_eq!(entries[0].signal, "pdq");
    assert_eq!(
        entries[1].signal, "md5",
        "a video's MD5 is a file MD5: it matches files"
    );
    assert!(
        export(Format::ThreatExchange, &entries).contains("video_md5,"),
        "exported under the list's own name"
    );
    assert_eq!(entries[1].external_id.as_deref(), Some("18"));
    assert_eq!(entries[2].signal, "video_tmk_pdqf", "unknown types kept by name");
}

#[test]
fn categories_from_the_command_line_are_added() {
    let options = ReadOptions {
        categories: vec!["caid:A".into()],
        source: Some("hotline".into()),
        ..Default::default()
    };
    let e = read(Format::Plain, &format!("{MD5}\n"), options).remove(0).unwrap();
    assert_eq!(e.categories, vec!["caid:A"]);
    assert_eq!(e.source.as_deref(), Some("hotline"));
}

#[test]
fn bad_lines_are_reported_with_their_numbers() {
    let text = format!("{MD5}\nnot-a-hash\n{}\n{MD5}zz\nsha1 {MD5}\n", &SHA1[..39]);
    let results = read(Format::Plain, &text, ReadOptions::default());
    let errors: Vec<u64> = results
        .iter()
        .filter_map(|r| r.as_ref().err().map(|e| e.line))
        .collect();
    assert_eq!(errors, vec![2, 3, 4, 5]);
    let csv = read(
        Format::Csv,
        &format!("id,md5\n1,{MD5}\n2,xyz\n3\n"),
        ReadOptions::default(),
    );
    let errors: Vec<u64> = csv.iter().filter_map(|r| r.as_ref().err().map(|e| e.line)).collect();
    assert_eq!(errors, vec![3, 4]);
    let no_hash_column = read(Format::Csv, "id,name\n1,x\n", ReadOptions::default());
    assert!(no_hash_column[0].is_err());
    let hashdeep = read(Format::Hashdeep, "%%%% HASHDEEP-1.0\n1,abc,x\n", ReadOptions::default());
    assert!(hashdeep[0].as_ref().unwrap_err().message.contains("before"));
}

#[test]
fn a_huge_line_is_refused_without_buffering_it() {
    // 8 MiB on one line with a 1 MiB limit: an error for that line, then the next line reads.
    let mut text = "a".repeat(8 << 20);
    text.push('\n');
    text.push_str(MD5);
    text.push('\n');
    let results = read(
        Format::Plain,
        &text,
        ReadOptions {
            max_line: 1 << 20,
            ..Default::default()
        },
    );
    assert_eq!(results.len(), 2);
    assert!(results[0].as_ref().unwrap_err().message.contains("longer than"));
    assert_eq!(results[1].as_ref().unwrap().hash, MD5);
}

#[test]
fn vics_v13_case_wrapped_and_v20_flat() {
    let v13 = format!(
        r#"{{"odata.metadata":"http://github.com/ICMEC/ProjectVic/DataModels/1.3.xml#Cases","value":[{{"CaseNumber":"C-1","TotalMediaFiles":"2","Media":[
            {{"MediaID":1,"Category":1,"MD5":"{}","SHA1":"{}","IsPrecategorized":"true","Miniature":"AAAA","MediaFiles":[{{"FileName":"a.jpg"}}]}},
            {{"MediaID":2,"Category":null,"PhotoDNA":"c29tZSBiYXNlNjQ=","VictimIdentified":"false"}}
        ]}}]}}"#,
        MD5.to_uppercase(),
        SHA1.to_uppercase()
    );
    assert_eq!(Format::detect(v13.as_bytes()), Format::Vics);
    let entries = round_trip(Format::Vics, &v13);
    let got = typed_hashes(&entries);
    assert_eq!(
        got,
        vec![
            ("md5", MD5, Some("1")),
            ("sha1", SHA1, Some("1")),
            ("photodna", "c29tZSBiYXNlNjQ=", Some("2"))
        ]
    );
    assert_eq!(entries[0].categories, vec!["vics:1"]);
    assert!(entries[2].categories.is_empty());
    assert_eq!(
        entries[0].raw["IsPrecategorized"], "true",
        "string flags kept as they came"
    );
    assert!(!entries[0].raw.contains_key("Miniature"), "thumbnails are never stored");
    assert_eq!(entries[0].raw["vics_case"]["CaseNumber"], "C-1");
    let exported = export(Format::Vics, &entries);
    assert!(!exported.contains("Miniature"));
    assert!(exported.contains("\"MediaFiles\":[{\"FileName\":\"a.jpg\"}]"));

    let v20 = format!(
        r#"{{"@odata.context":"http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/Default/$metadata#Media","value":[{{"MediaID":7,"Category":2,"MD5":"{MD5}"}}]}}"#
    );
    let options = ReadOptions {
        category_scheme: Some("vics-us".into()),
        ..Default::default()
    };
    let e = read(Format::Vics, &v20, options).remove(0).unwrap();
    assert_eq!(e.categories, vec!["vics-us:2"]);
    assert_eq!(e.external_id.as_deref(), Some("7"));
}

#[test]
fn truncated_or_malformed_vics_is_an_error() {
    let truncated = format!(r#"{{"value":[{{"MediaID":1,"MD5":"{MD5}"}},{{"MediaID":2,"MD5":"#);
    let results = read(Format::Vics, &truncated, ReadOptions::default());
    assert!(
        results
            .iter()
            .any(|r| r.as_ref().is_err_and(|e| e.message.contains("truncated"))),
        "{results:?}"
    );
    let not_vics = read(Format::Vics, r#"{"something":"else"}"#, ReadOptions::default());
    assert!(not_vics[0].is_err());
    let bad_hash = read(
        Format::Vics,
        r#"{"value":[{"MediaID":3,"MD5":"xyz"}]}"#,
        ReadOptions::default(),
    );
    assert!(bad_hash[0].as_ref().unwrap_err().message.contains("media 3"));
}

#[test]
fn other_lists_export_as_vics() {
    let entries = ok(Format::Plain, &format!("{MD5}\nsha1 {SHA1}\n"));
    let exported = export(Format::Vics, &entries);
    let back = ok(Format::Vics, &exported);
    assert_eq!(
        back.iter()
            .map(|e| (e.signal.as_str(), e.hash.as_str()))
            .collect::<Vec<_>>(),
        vec![("md5", MD5), ("sha1", SHA1)]
    );
}

#[test]
fn ncmec_xml() {
    let xml = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<queryResult xmlns="https://hashsharing.ncmec.org/HashSharing/v2">
  <images count="2" maxTimestamp="2024-01-01T00:00:00Z">
    <image>
      <id>abc</id>
      <member id="42">Example &amp; Co</member>
      <timestamp>2024-01-01T00:00:00Z</timestamp>
      <classification>A1</classification>
      <fingerprints><md5>{}</md5><pdq>{PDQ_A}</pdq><netclean>AbCd</netclean></fingerprints>
    </image>
    <deletedImage><id>old</id><member id="42"/></deletedImage>
  </images>
  <videos count="1" maxTimestamp="2024-01-01T00:00:00Z">
    <video><id>v1</id><member id="7">Other</member><fingerprints><md5>{MD5}</md5><tmk_pdqf>QUJD</tmk_pdqf></fingerprints></video>
  </videos>
</queryResult>
"#,
        MD5.to_uppercase()
    );
    assert_eq!(Format::detect(xml.as_bytes()), Format::Ncmec);
    let all = round_trip(Format::Ncmec, &xml);
    let tombstones: Vec<Option<&str>> = all
        .iter()
        .filter(|e| e.withdrawn)
        .map(|e| e.external_id.as_deref())
        .collect();
    assert_eq!(
        tombstones,
        vec![Some("42-old")],
        "deleted entries come through as tombstones"
    );
    let entries: Vec<NewEntry> = all.into_iter().filter(|e| !e.withdrawn).collect();
    let got = typed_hashes(&entries);
    assert_eq!(
        got,
        vec![
            ("md5", MD5, Some("42-abc")),
            ("pdq", PDQ_A, Some("42-abc")),
            ("netclean", "AbCd", Some("42-abc")),
            ("md5", MD5, Some("7-v1")),
            ("tmk_pdqf", "QUJD", Some("7-v1")),
        ]
    );
    assert_eq!(entries[0].categories, vec!["ncmec:A1"]);
    assert_eq!(entries[0].raw["ncmec_member"], "Example & Co");
    assert_eq!(entries[3].raw["ncmec_entry_type"], "video");
}

#[test]
fn truncated_ncmec_xml_is_an_error() {
    let xml =
        format!("<queryResult><images><image><id>a</id><member id=\"1\">x</member><fingerprints><md5>{MD5}</md5>");
    let results = read(Format::Ncmec, &xml, ReadOptions::default());
    assert!(
        results
            .iter()
            .any(|r| r.as_ref().is_err_and(|e| e.message.contains("truncated"))),
        "{results:?}"
    );
}

#[test]
fn nsrl_rds_v3_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("RDS.db");
    {
        let db = rusqlite::Connection::open(&path).unwrap();
        db.execute_batch(&format!(
            "CREATE TABLE METADATA (sha256 TEXT, sha1 TEXT, md5 TEXT, crc32 TEXT, file_name TEXT, file_size INTEGER, package_id INTEGER);
             INSERT INTO METADATA VALUES ('{}', '{}', '{}', NULL, 'kernel32.dll', 1024, 5);
             INSERT INTO METADATA VALUES (NULL, '{}', NULL, NULL, 'readme.txt', 10, 6);",
            SHA256.to_uppercase(),
            SHA1.to_uppercase(),
            MD5.to_uppercase(),
            SHA1
        ))
        .unwrap();
    }
    let head = std::fs::read(&path).unwrap();
    assert_eq!(Format::detect(&head[..64]), Format::Nsrl);
    let entries: Vec<NewEntry> = formats::read_nsrl(&path, ReadOptions::default())
        .map(|r| r.unwrap())
        .collect();
    let got: Vec<(&str, &str)> = entries.iter().map(|e| (e.signal.as_str(), e.hash.as_str())).collect();
    assert_eq!(
        got,
        vec![("sha256", SHA256), ("sha1", SHA1), ("md5", MD5), ("sha1", SHA1)]
    );
    assert_eq!(entries[0].categories, vec!["nsrl:known"]);
    assert_eq!(entries[3].raw["file_name"], "readme.txt");

    let out = dir.path().join("export.db");
    let mut w = formats::NsrlWriter::create(&out).unwrap();
    for e in &entries {
        formats::EntryWriter::write(&mut w, e).unwrap();
    }
    formats::EntryWriter::finish(&mut w).unwrap();
    let again: Vec<NewEntry> = formats::read_nsrl(&out, ReadOptions::default())
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(
        again
            .iter()
            .map(|e| (e.signal.as_str(), e.hash.as_str(), &e.raw["file_name"]))
            .collect::<Vec<_>>(),
        entries
            .iter()
            .map(|e| (e.signal.as_str(), e.hash.as_str(), &e.raw["file_name"]))
            .collect::<Vec<_>>()
    );
    let not_nsrl = dir.path().join("x.db");
    std::fs::write(&not_nsrl, b"hello").unwrap();
    assert!(formats::read_nsrl(&not_nsrl, ReadOptions::default())
        .next()
        .unwrap()
        .is_err());
}

#[test]
fn vpdq_files() {
    let text = format!("0,100,{PDQ_A},0.000\n30,12,{PDQ_B},1.000\n");
    assert_eq!(Format::detect(text.as_bytes()), Format::Vpdq);
    let options = ReadOptions {
        source: Some("clip".into()),
        ..Default::default()
    };
    let entries: Vec<NewEntry> = read(Format::Vpdq, &text, options)
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(entries.len(), 1, "one file is one video");
    assert_eq!(entries[0].signal, "vpdq");
    assert_eq!(entries[0].external_id.as_deref(), Some("clip"));
    assert_eq!(formats::entry_frames(&entries[0]).unwrap().len(), 2);
    assert_eq!(export(Format::Vpdq, &entries), text);
    let bad = read(
        Format::Vpdq,
        &format!("0,100,{PDQ_A},0.000\n1,100,xyz,0.033\n"),
        ReadOptions::default(),
    );
    assert_eq!(bad[0].as_ref().unwrap_err().line, 2);
}
