//! How results are printed: aligned text tables for people, JSON for scripts.

use clap::ValueEnum;
use serde::Serialize;
use unicode_width::UnicodeWidthStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// Prints a line on stdout. A closed pipe (`tenantry … | head`) ends the process quietly,
/// as a reader that has seen enough is not an error.
pub fn write_line(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = writeln!(out, "{args}") {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write to standard output: {e}");
        std::process::exit(1);
    }
}

/// `println!` that goes through [`write_line`].
macro_rules! outln {
    ($($arg:tt)*) => { $crate::output::write_line(format_args!($($arg)*)) };
}
pub(crate) use outln;

/// Prints a value as pretty JSON on stdout.
pub fn json<T: Serialize + ?Sized>(value: &T) -> anyhow::Result<()> {
    outln!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// A text table with a header row; columns are padded to their widest cell.
#[derive(Debug)]
pub struct Table {
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(header: &[&str]) -> Self {
        Self {
            rows: vec![header.iter().map(|s| (*s).to_owned()).collect()],
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn print(&self) {
        outln!("{}", self.render());
    }

    /// The table as lines of text. Columns are padded by display width, so wide
    /// characters (CJK, most emoji) take the two columns a terminal gives them.
    pub fn render(&self) -> String {
        let cells: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| {
                r.iter()
                    .map(|c| c.replace(['\n', '\r', '\t'], " "))
                    .collect()
            })
            .collect();
        let cols = cells.iter().map(Vec::len).max().unwrap_or(0);
        let widths: Vec<usize> = (0..cols)
            .map(|c| {
                cells
                    .iter()
                    .filter_map(|r| r.get(c))
                    .map(|s| s.width())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut lines = Vec::with_capacity(cells.len());
        for r in &cells {
            let mut line = String::new();
            for (i, cell) in r.iter().enumerate() {
                line.push_str(cell);
                if i + 1 < r.len() {
                    line.push_str(&" ".repeat(widths[i].saturating_sub(cell.width()) + 2));
                }
            }
            lines.push(line.trim_end().to_owned());
        }
        lines.join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up_by_display_width_with_wide_characters() {
        let mut t = Table::new(&["ID", "NAME", "STATUS"]);
        t.row(vec!["C1".into(), "Ромашка 🌼".into(), "healthy".into()]);
        t.row(vec!["C2".into(), "北京大学".into(), "failed".into()]);
        t.row(vec!["C3".into(), "Acme\nLtd".into(), "—".into()]);
        let out = t.render();
        let at: Vec<usize> = out
            .lines()
            .map(|l| {
                let i = l.find(['h', 'f', 'S', '—']).unwrap();
                l[..i].width()
            })
            .collect();
        assert!(at.iter().all(|w| *w == 16), "{at:?}\n{out}");
        assert!(out.contains("Acme Ltd"), "{out}");
    }
}
