//! vPDQ matching: what share of each video's frames finds a near frame in
//! the other, with the rules HMA deploys (python-threatexchange): frames of
//! quality below 50 dropped on both sides, frames de-duplicated by hash, a
//! frame matches at distance ≤ 31.

use std::collections::{HashMap, HashSet};

use crate::Feature;

/// Thresholds for one comparison.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MatchThresholds {
    /// Largest frame distance that counts.
    pub distance: u32,
    /// Frames below this quality are ignored on both sides.
    pub quality: u8,
    /// The query video's frames that must find a match, in percent (HMA: 80).
    pub query_pct: f64,
    /// The target (bank) video's frames that must be matched, in percent (HMA: 0).
    pub target_pct: f64,
}

impl Default for MatchThresholds {
    fn default() -> Self {
        MatchThresholds {
            distance: 31,
            quality: 50,
            query_pct: 80.0,
            target_pct: 0.0,
        }
    }
}

/// How two videos compare.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct VideoMatch {
    /// Share of the query video's frames that found a match, in percent.
    pub query_match_pct: f64,
    /// Share of the target video's frames that were matched, in percent.
    pub target_match_pct: f64,
    /// Both shares reach their thresholds.
    pub is_match: bool,
}

fn usable(features: &[Feature], quality: u8) -> Vec<pdq::Hash256> {
    let mut seen = HashSet::new();
    features
        .iter()
        .filter(|f| f.quality >= quality)
        .map(|f| f.pdq)
        .filter(|h| seen.insert(*h))
        .collect()
}

fn verdict(
    query_matched: usize,
    query_total: usize,
    target_matched: usize,
    target_total: usize,
    t: &MatchThresholds,
) -> VideoMatch {
    let pct = |a: usize, b: usize| if b == 0 { 0.0 } else { 100.0 * a as f64 / b as f64 };
    let query_match_pct = pct(query_matched, query_total);
    let target_match_pct = pct(target_matched, target_total);
    VideoMatch {
        query_match_pct,
        target_match_pct,
        is_match: query_total > 0 && query_match_pct >= t.query_pct && target_match_pct >= t.target_pct,
    }
}

/// Compares two videos directly (every frame against every frame).
pub fn match_videos(query: &[Feature], target: &[Feature], t: &MatchThresholds) -> VideoMatch {
    let q = usable(query, t.quality);
    let c = usable(target, t.quality);
    let near = |a: &pdq::Hash256, set: &[pdq::Hash256]| set.iter().any(|b| a.distance(b) <= t.distance);
    let qm = q.iter().filter(|h| near(h, &c)).count();
    let cm = c.iter().filter(|h| near(h, &q)).count();
    verdict(qm, q.len(), cm, c.len(), t)
}

/// Many bank videos' frames in one Hamming index, so a query video costs
/// one lookup per frame however many videos are indexed.
pub struct VideoIndex {
    frames: index::HammingIndex,
    /// Per indexed frame id: the video it belongs to.
    video_of: Vec<u32>,
    /// Per video: its usable (de-duplicated, quality-filtered) frame count.
    frame_count: Vec<usize>,
    quality: u8,
}

impl VideoIndex {
    /// Indexes videos given as (video id, features); `quality` is the floor applied to their frames.
    pub fn build(videos: &[(u32, Vec<Feature>)], quality: u8) -> VideoIndex {
        let mut entries = Vec::new();
        let mut video_of = Vec::new();
        let mut frame_count = Vec::new();
        for (slot, (_, features)) in videos.iter().enumerate() {
            let frames = usable(features, quality);
            frame_count.push(frames.len());
            for h in frames {
                entries.push((*h.as_bytes(), video_of.len() as u32));
                video_of.push(slot as u32);
            }
        }
        VideoIndex {
            frames: index::HammingIndex::build(entries),
            video_of,
            frame_count,
            quality,
        }
    }

    /// Every indexed video (by its position in `build`'s list) the query matches, with both percentages.
    pub fn search(&self, query: &[Feature], t: &MatchThresholds) -> Vec<(usize, VideoMatch)> {
        let q = usable(query, self.quality.max(t.quality));
        let mut query_hits: HashMap<u32, usize> = HashMap::new();
        let mut target_hits: HashMap<u32, HashSet<u32>> = HashMap::new();
        let mut scratch = index::Scratch::default();
        let mut found = Vec::new();
        for h in &q {
            self.frames
                .search_into(h.as_bytes(), t.distance, &mut scratch, &mut found);
            let mut videos_here = HashSet::new();
            for hit in &found {
                let video = self.video_of[hit.id as usize];
                videos_here.insert(video);
                target_hits.entry(video).or_default().insert(hit.id);
            }
            for v in videos_here {
                *query_hits.entry(v).or_default() += 1;
            }
        }
        let mut out: Vec<(usize, VideoMatch)> = target_hits
            .into_iter()
            .map(|(video, frames)| {
                let m = verdict(
                    query_hits[&video],
                    q.len(),
                    frames.len(),
                    self.frame_count[video as usize],
                    t,
                );
                (video as usize, m)
            })
            .filter(|(_, m)| m.is_match)
            .collect();
        out.sort_by_key(|(v, _)| *v);
        out
    }
}
