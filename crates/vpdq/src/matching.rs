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
/// one lookup per frame however many videos are indexed. Videos are added
/// and removed in place (the frames go through the index's delta), so a
/// changing bank never costs a rebuild.
pub struct VideoIndex {
    frames: index::HammingIndex,
    /// Per indexed frame id: the video it belongs to.
    video_of: Vec<u32>,
    /// Per video: the id of its first frame.
    first_frame: Vec<u32>,
    /// Per video: its usable (de-duplicated, quality-filtered) frame count;
    /// 0 once removed.
    frame_count: Vec<usize>,
    quality: u8,
}

impl VideoIndex {
    /// Indexes videos given as (video id, features); `quality` is the floor
    /// applied to their frames. Videos are numbered by their position here,
    /// then on by [`VideoIndex::add`].
    pub fn build(videos: &[(u32, Vec<Feature>)], quality: u8) -> VideoIndex {
        let mut index = VideoIndex {
            frames: index::HammingIndex::build(Vec::new()),
            video_of: Vec::new(),
            first_frame: Vec::new(),
            frame_count: Vec::new(),
            quality,
        };
        let mut entries = Vec::new();
        for (_, features) in videos {
            entries.extend(index.number(features));
        }
        index.frames = index::HammingIndex::build(entries);
        index
    }

    /// Gives a video the next number and its usable frames their ids.
    fn number(&mut self, features: &[Feature]) -> Vec<([u8; 32], u32)> {
        let slot = self.frame_count.len() as u32;
        let frames = usable(features, self.quality);
        self.first_frame.push(self.video_of.len() as u32);
        self.frame_count.push(frames.len());
        frames
            .into_iter()
            .map(|h| {
                let id = self.video_of.len() as u32;
                self.video_of.push(slot);
                (*h.as_bytes(), id)
            })
            .collect()
    }

    /// Adds a video; returns its number.
    pub fn add(&mut self, features: &[Feature]) -> usize {
        for (hash, id) in self.number(features) {
            self.frames.add(&hash, id);
        }
        self.frame_count.len() - 1
    }

    /// Removes a video by number: it matches nothing from now on.
    pub fn remove(&mut self, video: usize) {
        let Some(count) = self.frame_count.get_mut(video) else {
            return;
        };
        let first = self.first_frame[video];
        for id in first..first + *count as u32 {
            self.frames.remove(id);
        }
        *count = 0;
    }

    /// Whether enough frames came and went to be worth compacting the frame
    /// index: see [`VideoIndex::compacted_frames`].
    pub fn needs_compaction(&self) -> bool {
        self.frames.needs_compaction()
    }

    /// The frame index with its pending changes folded in (reads only), for
    /// [`VideoIndex::replace_frames`]: a service builds it while lookups go on.
    pub fn compacted_frames(&self) -> index::HammingIndex {
        self.frames.compacted()
    }

    /// Puts in a frame index made by [`VideoIndex::compacted_frames`]; valid
    /// only when no video was added or removed in between.
    pub fn replace_frames(&mut self, frames: index::HammingIndex) {
        self.frames = frames;
    }

    /// Every indexed video (by its number) the query matches, with both percentages.
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

#[cfg(test)]
mod tests {
    use super::*;

    fn video(seed: u64, frames: usize) -> Vec<Feature> {
        crate::testing::unrelated_frames(seed, frames)
    }

    /// Which numbered videos a query matches, with the percentages.
    fn found(index: &VideoIndex, query: &[Feature]) -> Vec<(usize, f64, f64)> {
        index
            .search(query, &MatchThresholds::default())
            .into_iter()
            .map(|(n, m)| (n, m.query_match_pct, m.target_match_pct))
            .collect()
    }

    #[test]
    fn videos_added_and_removed_in_place_match_as_in_a_fresh_index() {
        let (a, b, c) = (video(1, 30), video(2, 12), video(3, 50));
        // c holds b's frames too: b's frames then match both videos.
        let c: Vec<Feature> = c.into_iter().chain(b.iter().copied()).collect();
        let mut live = VideoIndex::build(&[(10, a.clone())], 50);
        assert_eq!(live.add(&b), 1);
        assert_eq!(live.add(&c), 2);
        let fresh = VideoIndex::build(&[(10, a.clone()), (11, b.clone()), (12, c.clone())], 50);
        for q in [&a, &b, &c] {
            assert_eq!(found(&live, q), found(&fresh, q));
        }
        assert_eq!(
            found(&live, &b),
            vec![(1, 100.0, 100.0), (2, 100.0, 12.0 * 100.0 / 62.0)]
        );

        live.remove(1);
        assert_eq!(found(&live, &b), vec![(2, 100.0, 12.0 * 100.0 / 62.0)]);
        live.remove(0);
        assert!(found(&live, &a).is_empty());
        live.remove(0); // twice: nothing more happens

        // Compaction folds the changes in and answers the same.
        let before: Vec<_> = [&a, &b, &c].iter().map(|q| found(&live, q)).collect();
        let frames = live.compacted_frames();
        live.replace_frames(frames);
        let after: Vec<_> = [&a, &b, &c].iter().map(|q| found(&live, q)).collect();
        assert_eq!(before, after);
        assert_eq!(live.add(&a), 3, "numbers are never reused");
        assert_eq!(found(&live, &a), vec![(3, 100.0, 100.0)]);
    }
}
