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
///
/// Video numbers and frame ids freed by removals are given out again, so a
/// service whose video banks keep changing holds memory for the videos it
/// has, not for every video it ever had. Reusing a frame id at once is safe:
/// the index's tombstone hides only the copy in its base, never the new one
/// added to its delta.
pub struct VideoIndex {
    frames: index::HammingIndex,
    /// Per frame id: the video it belongs to (meaningless for free ids).
    video_of: Vec<u32>,
    /// Per video number: its usable (de-duplicated, quality-filtered) frames'
    /// ids; `None` once removed.
    frames_of: Vec<Option<Box<[u32]>>>,
    free_videos: Vec<u32>,
    free_frames: Vec<u32>,
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
            frames_of: Vec::new(),
            free_videos: Vec::new(),
            free_frames: Vec::new(),
            quality,
        };
        let mut entries = Vec::new();
        for (_, features) in videos {
            entries.extend(index.number(features).1);
        }
        index.frames = index::HammingIndex::build(entries);
        index
    }

    /// Gives a video a number and its usable frames ids, free ones first.
    fn number(&mut self, features: &[Feature]) -> (usize, Vec<([u8; 32], u32)>) {
        let video = match self.free_videos.pop() {
            Some(v) => v,
            None => {
                self.frames_of.push(None);
                (self.frames_of.len() - 1) as u32
            }
        };
        let frames: Vec<([u8; 32], u32)> = usable(features, self.quality)
            .into_iter()
            .map(|h| {
                let id = match self.free_frames.pop() {
                    Some(id) => {
                        self.video_of[id as usize] = video;
                        id
                    }
                    None => {
                        self.video_of.push(video);
                        (self.video_of.len() - 1) as u32
                    }
                };
                (*h.as_bytes(), id)
            })
            .collect();
        self.frames_of[video as usize] = Some(frames.iter().map(|(_, id)| *id).collect());
        (video as usize, frames)
    }

    /// Adds a video; returns its number (a removed video's, when one is free).
    pub fn add(&mut self, features: &[Feature]) -> usize {
        let (video, frames) = self.number(features);
        for (hash, id) in frames {
            self.frames.add(&hash, id);
        }
        video
    }

    /// Removes a video by number: it matches nothing from now on, and its
    /// number may be given to a video added later (so a caller must forget
    /// the number: used again, it would remove that later video).
    pub fn remove(&mut self, video: usize) {
        let Some(frames) = self.frames_of.get_mut(video).and_then(Option::take) else {
            return;
        };
        for &id in frames.iter() {
            self.frames.remove(id);
        }
        self.free_frames.extend_from_slice(&frames);
        self.free_videos.push(video as u32);
    }

    /// Videos indexed now.
    pub fn len(&self) -> usize {
        self.frames_of.len() - self.free_videos.len()
    }

    /// True when no video is indexed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many video numbers and frame ids are allocated, live or free: the
    /// size of the tables, which a changing bank must not make grow.
    pub fn allocated(&self) -> (usize, usize) {
        (self.frames_of.len(), self.video_of.len())
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
                    self.frames_of[video as usize].as_ref().map_or(0, |f| f.len()),
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
        // The last number freed is given out again, with freed frame ids.
        assert_eq!(live.add(&a), 0);
        assert_eq!(found(&live, &a), vec![(0, 100.0, 100.0)]);
        assert_eq!(found(&live, &b), vec![(2, 100.0, 12.0 * 100.0 / 62.0)]);
        assert_eq!(live.allocated(), (3, 30 + 12 + 62));
    }

    #[test]
    fn a_bank_that_keeps_changing_does_not_grow_the_tables() {
        let videos: Vec<Vec<Feature>> = (0..6).map(|s| video(100 + s, 20 + 7 * s as usize)).collect();
        let mut live = VideoIndex::build(&[], 50);
        // Three videos live at a time: (number in the index, which video).
        let mut held: Vec<(usize, usize)> = (0..3).map(|v| (live.add(&videos[v]), v)).collect();
        // Replace them over and over, the way a bank's feed does, compacting
        // now and then as a service would.
        for round in 0..200 {
            let slot = round % 3;
            live.remove(held[slot].0);
            let incoming = (round * 5 + 3) % videos.len();
            held[slot] = (live.add(&videos[incoming]), incoming);
            if round % 17 == 0 {
                let frames = live.compacted_frames();
                live.replace_frames(frames);
            }
        }
        assert_eq!(live.len(), 3);
        assert_eq!(
            live.allocated().0,
            3,
            "video numbers: only as many as were live at once"
        );
        // Frame ids: never more than the three largest videos plus the one
        // being swapped in.
        let mut sizes: Vec<usize> = videos.iter().map(|v| v.len()).collect();
        sizes.sort_unstable();
        let bound: usize = sizes.iter().rev().take(4).sum();
        assert!(live.allocated().1 <= bound, "{:?} > {bound}", live.allocated());

        // And it answers every query as a fresh index of the same videos does.
        let fresh = VideoIndex::build(
            &held
                .iter()
                .map(|&(_, v)| (v as u32, videos[v].clone()))
                .collect::<Vec<_>>(),
            50,
        );
        let which_live = |n: usize| held.iter().find(|h| h.0 == n).expect("a live number").1;
        for q in &videos {
            let mut got: Vec<_> = found(&live, q)
                .into_iter()
                .map(|(n, a, b)| (which_live(n), a, b))
                .collect();
            let mut want: Vec<_> = found(&fresh, q)
                .into_iter()
                .map(|(n, a, b)| (held[n].1, a, b))
                .collect();
            got.sort_by_key(|m| m.0);
            want.sort_by_key(|m| m.0);
            assert_eq!(got, want);
        }
    }
}
