//! The world's grid: square cells whose side is the area-of-interest radius divided by the
//! grid's reach.
//!
//! A player sees the block of cells up to `reach` cells away from its own (its
//! neighbourhood: 3x3 cells at reach 1, 5x5 at reach 2). Anything within the radius lies
//! in that block; nothing in it is farther than (reach + 1)·√2·cell. Finer cells (a larger
//! reach) fit the circle of interest more closely, so a player is sent fewer entities it
//! does not need, at the price of more cells to batch for.

/// One cell, by column and row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cell {
    pub x: i32,
    pub y: i32,
}

/// Cells a neighbourhood reaches in each direction, at most.
pub const MAX_REACH: i32 = 4;
/// Cells a side, at most.
const MAX_CELLS_A_SIDE: f64 = 20_000.0;

/// A world of `width` x `height` cut into cells of side `cell`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Grid {
    width: f64,
    height: f64,
    cell: f64,
    radius: f64,
    reach: i32,
    cols: i32,
    rows: i32,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(
    "the world ({width} x {height}), radius ({radius}) and reach ({reach}) must be finite and positive, with a reach of at most 4 and at most 20000 cells a side"
)]
pub struct GridError {
    width: f64,
    height: f64,
    radius: f64,
    reach: i32,
}

impl Grid {
    /// A grid whose cells are as large as the radius: 3x3 neighbourhoods.
    pub fn new(width: f64, height: f64, radius: f64) -> Result<Self, GridError> {
        Self::with_reach(width, height, radius, 1)
    }

    /// A grid of cells of side `radius / reach`: neighbourhoods of
    /// (2·reach + 1) x (2·reach + 1) cells.
    pub fn with_reach(width: f64, height: f64, radius: f64, reach: i32) -> Result<Self, GridError> {
        let err = GridError {
            width,
            height,
            radius,
            reach,
        };
        let ok = |v: f64| v.is_finite() && v > 0.0;
        if !(ok(width) && ok(height) && ok(radius) && (1..=MAX_REACH).contains(&reach)) {
            return Err(err);
        }
        let cell = radius / f64::from(reach);
        let cols = (width / cell).ceil().max(1.0);
        let rows = (height / cell).ceil().max(1.0);
        if !ok(cell) || cols > MAX_CELLS_A_SIDE || rows > MAX_CELLS_A_SIDE {
            return Err(err);
        }
        Ok(Self {
            width,
            height,
            cell,
            radius,
            reach,
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

    /// The area-of-interest radius the grid was made for.
    pub fn radius(&self) -> f64 {
        self.radius
    }

    /// Cells a neighbourhood reaches in each direction.
    pub fn reach(&self) -> u32 {
        self.reach.unsigned_abs()
    }

    /// Whether `b` is in the neighbourhood of `a` (a symmetric relation).
    pub fn is_near(&self, a: Cell, b: Cell) -> bool {
        (a.x - b.x).abs() <= self.reach && (a.y - b.y).abs() <= self.reach
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

    /// The block of cells around `c`, clipped to the world.
    pub fn neighbourhood(&self, c: Cell) -> impl Iterator<Item = Cell> + '_ {
        let r = self.reach;
        (-r..=r).flat_map(move |dy| {
            (-r..=r).filter_map(move |dx| {
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
        assert!(Grid::with_reach(10.0, 10.0, 1.0, 0).is_err());
        assert!(Grid::with_reach(10.0, 10.0, 1.0, MAX_REACH + 1).is_err());
        assert!(Grid::with_reach(20_000.0, 1.0, 1.0, 1).is_ok());
        assert!(Grid::with_reach(20_000.0, 1.0, 1.0, 2).is_err());
        assert!(Grid::with_reach(1.0, 1.0, f64::MIN_POSITIVE, 4).is_err());
    }

    #[test]
    fn finer_cells() {
        let g = Grid::with_reach(1000.0, 600.0, 100.0, 2).expect("valid");
        assert_eq!(g.cell_size(), 50.0);
        assert_eq!(g.radius(), 100.0);
        assert_eq!(g.cell_of(99.9, 100.0), Cell { x: 1, y: 2 });
        assert_eq!(g.neighbourhood(Cell { x: 0, y: 0 }).count(), 9);
        assert_eq!(g.neighbourhood(Cell { x: 5, y: 5 }).count(), 25);
        assert!(g.is_near(Cell { x: 3, y: 3 }, Cell { x: 5, y: 1 }));
        assert!(!g.is_near(Cell { x: 3, y: 3 }, Cell { x: 6, y: 3 }));
    }

    proptest! {
        /// Everything within the radius is in the neighbourhood, and nothing in the
        /// neighbourhood is beyond (reach + 1)·√2·cell.
        #[test]
        fn neighbourhood_covers_the_radius(
            ax in 0.0f64..=1000.0, ay in 0.0f64..=600.0,
            bx in 0.0f64..=1000.0, by in 0.0f64..=600.0,
            reach in 1..=MAX_REACH,
        ) {
            let g = Grid::with_reach(1000.0, 600.0, 100.0, reach).expect("valid");
            let d = ((ax - bx).powi(2) + (ay - by).powi(2)).sqrt();
            let near = g.is_near(g.cell_of(ax, ay), g.cell_of(bx, by));
            if d <= g.radius() {
                prop_assert!(near, "distance {d} within radius but not near");
            }
            let farthest = f64::from(reach + 1) * 2f64.sqrt() * g.cell_size();
            if near {
                prop_assert!(d <= farthest + 1e-9, "near at distance {d}");
            }
            let n: Vec<Cell> = g.neighbourhood(g.cell_of(ax, ay)).collect();
            prop_assert_eq!(n.contains(&g.cell_of(bx, by)), near);
        }
    }
}
