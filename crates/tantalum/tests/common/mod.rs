//! What the command line's test binaries share.

use serde_json::Value;

/// A video's vPDQ from a `tantalum hash --json` record, in the reference's
/// text format (`frame,quality,pdq_hex,timestamp`, a line each), as a bank
/// imports it.
pub fn vpdq_reference_text(record: &Value) -> String {
    let lines: Vec<String> = record["vpdq"]
        .as_array()
        .expect("a vpdq array")
        .iter()
        .map(|f| {
            format!(
                "{},{},{},{:.3}\n",
                f["frame"],
                f["quality"],
                f["pdq"].as_str().expect("a hex hash"),
                f["timestamp"].as_f64().expect("a timestamp")
            )
        })
        .collect();
    lines.concat()
}
