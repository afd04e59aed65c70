//! The reference's text format: `frame,quality,pdq_hex,timestamp` per line.

use crate::{Feature, VpdqError};

/// Parses a vPDQ hash file.
pub fn parse_features(text: &str) -> Result<Vec<Feature>, VpdqError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let fail = |message: String| VpdqError::Parse { line: i + 1, message };
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() != 4 {
            return Err(fail(format!(
                "expected frame,quality,pdq,timestamp, found {} fields",
                fields.len()
            )));
        }
        let frame = fields[0]
            .parse()
            .map_err(|_| fail(format!("bad frame number {:?}", fields[0])))?;
        let quality: u8 = fields[1]
            .parse()
            .map_err(|_| fail(format!("bad quality {:?}", fields[1])))?;
        if quality > 100 {
            return Err(fail(format!("quality {quality} is over 100")));
        }
        let pdq = pdq::Hash256::from_hex(fields[2]).map_err(|e| fail(e.to_string()))?;
        let timestamp = fields[3]
            .parse()
            .map_err(|_| fail(format!("bad timestamp {:?}", fields[3])))?;
        out.push(Feature {
            frame,
            quality,
            pdq,
            timestamp,
        });
    }
    Ok(out)
}

/// Writes features in the reference's format (timestamps with 3 decimals).
pub fn write_features(features: &[Feature]) -> String {
    let mut s = String::with_capacity(features.len() * 80);
    for f in features {
        s.push_str(&format!(
            "{},{},{},{:.3}\n",
            f.frame,
            f.quality,
            f.pdq.to_hex(),
            f.timestamp
        ));
    }
    s
}
