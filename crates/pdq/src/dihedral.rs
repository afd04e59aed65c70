//! The eight dihedral transforms (rotations and flips) of an image, applied
//! in the DCT domain as the reference does, so one DCT gives all eight hashes.

/// One of the eight symmetries of the square.
///
/// The order of [`Dihedral::ALL`] is the order the reference prints with
/// `--pdqdih-across` and the order of the `dih_*` columns in conformance data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dihedral {
    /// The image as stored.
    Original,
    /// Rotated 90°.
    Rotate90,
    /// Rotated 180°.
    Rotate180,
    /// Rotated 270°.
    Rotate270,
    /// Mirrored about the horizontal axis.
    FlipX,
    /// Mirrored about the vertical axis.
    FlipY,
    /// Mirrored about the main diagonal (transposed).
    FlipPlus1,
    /// Mirrored about the anti-diagonal.
    FlipMinus1,
}

/// A 16×16 block of DCT coefficients; row `i` is the `(i+1)`-th vertical frequency.
pub type Dct16 = [[f32; 16]; 16];

impl Dihedral {
    /// All eight, in the reference's output order.
    pub const ALL: [Dihedral; 8] = [
        Dihedral::Original,
        Dihedral::Rotate90,
        Dihedral::Rotate180,
        Dihedral::Rotate270,
        Dihedral::FlipX,
        Dihedral::FlipY,
        Dihedral::FlipPlus1,
        Dihedral::FlipMinus1,
    ];

    /// The name used in JSON output and conformance columns.
    pub fn name(self) -> &'static str {
        match self {
            Dihedral::Original => "original",
            Dihedral::Rotate90 => "rotate90",
            Dihedral::Rotate180 => "rotate180",
            Dihedral::Rotate270 => "rotate270",
            Dihedral::FlipX => "flipx",
            Dihedral::FlipY => "flipy",
            Dihedral::FlipPlus1 => "flip_plus1",
            Dihedral::FlipMinus1 => "flip_minus1",
        }
    }

    /// The transform as (negate odd-parity rows, negate odd-parity columns,
    /// transpose afterwards). A mirror of the image flips the sign of every
    /// DCT basis function of odd order along that axis; rotations add a
    /// transpose. The reference indexes frequencies from 1, so "odd order"
    /// is an even index here.
    fn parts(self) -> (bool, bool, bool) {
        match self {
            Dihedral::Original => (false, false, false),
            Dihedral::Rotate90 => (false, true, true),
            Dihedral::Rotate180 => (true, true, false),
            Dihedral::Rotate270 => (true, false, true),
            Dihedral::FlipX => (true, false, false),
            Dihedral::FlipY => (false, true, false),
            Dihedral::FlipPlus1 => (false, false, true),
            Dihedral::FlipMinus1 => (true, true, true),
        }
    }

    fn from_parts(parts: (bool, bool, bool)) -> Dihedral {
        *Dihedral::ALL
            .iter()
            .find(|d| d.parts() == parts)
            .expect("the eight transforms cover every combination")
    }

    /// The transform equal to applying `self` first and then `then`.
    pub fn then(self, then: Dihedral) -> Dihedral {
        let (r1, c1, t1) = self.parts();
        let (r2, c2, t2) = then.parts();
        // Sign flips applied after a transpose act on the swapped axes.
        let (r2, c2) = if t1 { (c2, r2) } else { (r2, c2) };
        Dihedral::from_parts((r1 ^ r2, c1 ^ c2, t1 ^ t2))
    }

    /// The transform that undoes `self`.
    pub fn inverse(self) -> Dihedral {
        *Dihedral::ALL
            .iter()
            .find(|d| self.then(**d) == Dihedral::Original)
            .expect("every group element has an inverse")
    }

    /// Applies the transform to DCT coefficients, exactly as the reference's
    /// `dct16OriginalTo*` functions do (sign changes and a transpose only, so
    /// the result is exact).
    pub fn apply(self, a: &Dct16) -> Dct16 {
        let (neg_rows, neg_cols, transpose) = self.parts();
        let mut b = [[0f32; 16]; 16];
        for (i, row) in a.iter().enumerate() {
            for (j, &v) in row.iter().enumerate() {
                let negate = (neg_rows && i & 1 == 0) != (neg_cols && j & 1 == 0);
                let v = if negate { -v } else { v };
                if transpose {
                    b[j][i] = v;
                } else {
                    b[i][j] = v;
                }
            }
        }
        b
    }
}
