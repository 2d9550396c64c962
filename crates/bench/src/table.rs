//! Plain-text tables for the benches' output, and the number formats they
//! use: the first column left-aligned, the rest right-aligned so digits line
//! up.

/// A table built row by row and printed at once.
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(header: &[&str]) -> Table {
        Table {
            header: header.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The table as text, one line per row, under a rule.
    pub fn render(&self) -> String {
        let n_columns = self.header.len();
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let line = |cells: &[String]| {
            let mut out = String::new();
            for (column, width) in widths.iter().enumerate().take(n_columns) {
                let cell = cells.get(column).map_or("", String::as_str);
                if column == 0 {
                    out.push_str(&format!("{cell:<width$}"));
                } else {
                    out.push_str(&format!("  {cell:>width$}"));
                }
            }
            out.trim_end().to_owned()
        };
        let mut out = line(&self.header);
        out.push('\n');
        let total: usize = widths.iter().sum::<usize>() + 2 * n_columns.saturating_sub(1);
        out.push_str(&"-".repeat(total));
        out.push('\n');
        for row in &self.rows {
            out.push_str(&line(row));
            out.push('\n');
        }
        out
    }

    pub fn print(&self) {
        println!("{}", self.render());
    }
}

/// A duration given in nanoseconds, in the unit that keeps it readable.
pub fn nanos(ns: f64) -> String {
    match ns {
        ns if ns < 1_000.0 => format!("{ns:.0} ns"),
        ns if ns < 1_000_000.0 => format!("{:.2} µs", ns / 1e3),
        ns if ns < 1_000_000_000.0 => format!("{:.2} ms", ns / 1e6),
        ns => format!("{:.2} s", ns / 1e9),
    }
}

/// A rate per second, rounded to whole units.
pub fn rate(per_sec: f64) -> String {
    format!("{per_sec:.0}")
}

/// A ratio such as "2.41x".
pub fn ratio(value: f64) -> String {
    format!("{value:.2}x")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_the_first_column_left_and_the_rest_right() {
        let mut table = Table::new(&["op", "cost"]);
        table.row(vec!["insert".to_owned(), "1 ns".to_owned()]);
        table.row(vec!["scan".to_owned(), "100 ns".to_owned()]);
        assert_eq!(
            table.render(),
            "op        cost\n--------------\ninsert    1 ns\nscan    100 ns\n"
        );
    }

    #[test]
    fn nanos_picks_a_readable_unit() {
        for (ns, expected) in [
            (12.4, "12 ns"),
            (1_500.0, "1.50 µs"),
            (2_346_000.0, "2.35 ms"),
            (3e9, "3.00 s"),
        ] {
            assert_eq!(nanos(ns), expected, "for {ns} ns");
        }
    }
}
