//! The world's grid: square cells whose side is the area-of-interest radius.
//!
//! A player sees the 3x3 block of cells around its own (its neighbourhood). Anything
//! within the radius lies in that block; nothing in it is farther than 2·√2·radius.

/// One cell, by column and row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cell {
    pub x: i32,
    pub y: i32,
}

impl Cell {
    /// Whether `other` is in this cell's 3x3 neighbourhood (a symmetric relation).
    pub fn is_near(self, other: Cell) -> bool {
        (self.x - other.x).abs() <= 1 && (self.y - other.y).abs() <= 1
    }
}

/// A world of `width` x `height` cut into cells of side `cell`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Grid {
    width: f64,
    height: f64,
    cell: f64,
    cols: i32,
    rows: i32,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(
    "the world ({width} x {height}) and cell size ({cell}) must be finite and positive, with at most 10000 cells a side"
)]
pub struct GridError {
    width: f64,
    height: f64,
    cell: f64,
}

impl Grid {
    pub fn new(width: f64, height: f64, cell: f64) -> Result<Self, GridError> {
        let err = GridError {
            width,
            height,
            cell,
        };
        let ok = |v: f64| v.is_finite() && v > 0.0;
        if !(ok(width) && ok(height) && ok(cell)) {
            return Err(err);
        }
        let cols = (width / cell).ceil().max(1.0);
        let rows = (height / cell).ceil().max(1.0);
        if cols > 10_000.0 || rows > 10_000.0 {
            return Err(err);
        }
        Ok(Self {
            width,
            height,
            cell,
            // Bounded above, so the conversions are exact.
            cols: cols as i32,
            rows: rows as i32,
        })
    }

    pub fn width(&self) -> f64 {
        self.width
    }

    pub fn height(&self) -> f64 {
        self.height
    }

    pub fn cell_size(&self) -> f64 {
        self.cell
    }

    /// Whether a point is a finite position inside the world (edges included).
    pub fn contains(&self, x: f64, y: f64) -> bool {
        x.is_finite()
            && y.is_finite()
            && (0.0..=self.width).contains(&x)
            && (0.0..=self.height).contains(&y)
    }

    /// The cell of a point; points outside are clamped to the edge cells.
    pub fn cell_of(&self, x: f64, y: f64) -> Cell {
        let col = |v: f64, n: i32| {
            if v.is_finite() {
                ((v / self.cell).floor().max(0.0) as i64).min(i64::from(n - 1)) as i32
            } else {
                0
            }
        };
        Cell {
            x: col(x, self.cols),
            y: col(y, self.rows),
        }
    }

    /// The 3x3 block around `c`, clipped to the world.
    pub fn neighbourhood(&self, c: Cell) -> impl Iterator<Item = Cell> + '_ {
        (-1..=1).flat_map(move |dy| {
            (-1..=1).filter_map(move |dx| {
                let n = Cell {
                    x: c.x + dx,
                    y: c.y + dy,
                };
                (n.x >= 0 && n.y >= 0 && n.x < self.cols && n.y < self.rows).then_some(n)
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn grid() -> Grid {
        Grid::new(1000.0, 600.0, 100.0).expect("valid")
    }

    #[test]
    fn cells_and_edges() {
        let g = grid();
        assert_eq!(g.cell_of(0.0, 0.0), Cell { x: 0, y: 0 });
        assert_eq!(g.cell_of(99.9, 100.0), Cell { x: 0, y: 1 });
        assert_eq!(g.cell_of(1000.0, 600.0), Cell { x: 9, y: 5 });
        assert_eq!(g.cell_of(-5.0, 1e9), Cell { x: 0, y: 5 });
        assert_eq!(g.neighbourhood(Cell { x: 0, y: 0 }).count(), 4);
        assert_eq!(g.neighbourhood(Cell { x: 4, y: 3 }).count(), 9);
        assert_eq!(g.neighbourhood(Cell { x: 9, y: 5 }).count(), 4);
    }

    #[test]
    fn bounds() {
        let g = grid();
        assert!(g.contains(0.0, 600.0));
        assert!(!g.contains(-0.1, 1.0));
        assert!(!g.contains(1.0, 600.1));
        assert!(!g.contains(f64::NAN, 1.0));
        assert!(!g.contains(f64::INFINITY, 1.0));
    }

    #[test]
    fn rejects_bad_worlds() {
        assert!(Grid::new(0.0, 1.0, 1.0).is_err());
        assert!(Grid::new(1.0, 1.0, f64::NAN).is_err());
        assert!(Grid::new(1e9, 1.0, 1.0).is_err());
    }

    proptest! {
        /// Everything within the radius is in the neighbourhood, and nothing in the
        /// neighbourhood is beyond 2·√2·radius.
        #[test]
        fn neighbourhood_covers_the_radius(
            ax in 0.0f64..=1000.0, ay in 0.0f64..=600.0,
            bx in 0.0f64..=1000.0, by in 0.0f64..=600.0,
        ) {
            let g = grid();
            let d = ((ax - bx).powi(2) + (ay - by).powi(2)).sqrt();
            let near = g.cell_of(ax, ay).is_near(g.cell_of(bx, by));
            if d <= g.cell_size() {
                prop_assert!(near, "distance {d} within radius but not near");
            }
            if near {
                prop_assert!(d <= 2.0 * 2f64.sqrt() * g.cell_size() + 1e-9, "near at distance {d}");
            }
            let n: Vec<Cell> = g.neighbourhood(g.cell_of(ax, ay)).collect();
            prop_assert_eq!(n.contains(&g.cell_of(bx, by)), near);
        }
    }
}
