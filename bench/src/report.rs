//! Figures, targets, the readable table and `summary.json`.

use serde::Serialize;
use serde_json::Value;

/// How a target compares the measured ratio with its limit.
#[derive(Debug, Clone, Copy, Serialize)]
pub enum Op {
    #[serde(rename = "<=")]
    AtMost,
    #[serde(rename = "<")]
    Below,
    #[serde(rename = ">=")]
    AtLeast,
}

impl Op {
    fn holds(self, value: f64, limit: f64) -> bool {
        match self {
            Op::AtMost => value <= limit,
            Op::Below => value < limit,
            Op::AtLeast => value >= limit,
        }
    }

    fn symbol(self) -> &'static str {
        match self {
            Op::AtMost => "≤",
            Op::Below => "<",
            Op::AtLeast => "≥",
        }
    }
}

/// A target: `ratio op limit`, where `ratio` is `numerator / denominator`
/// of two figures measured in the same run.
#[derive(Debug, Clone, Serialize)]
pub struct Target {
    /// What the ratio divides, e.g. `wasm p50 / native p50`.
    pub ratio_of: String,
    pub ratio: f64,
    pub op: Op,
    pub limit: f64,
    pub met: bool,
}

/// One measured figure.
#[derive(Debug, Clone, Serialize)]
pub struct Figure {
    pub id: String,
    pub section: &'static str,
    pub description: String,
    pub value: f64,
    pub unit: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<Target>,
    /// Everything else worth keeping (the pair a ratio was made of, counts).
    #[serde(skip_serializing_if = "Value::is_null")]
    pub detail: Value,
}

impl Figure {
    pub fn new(
        section: &'static str,
        id: impl Into<String>,
        description: impl Into<String>,
        value: f64,
        unit: &'static str,
    ) -> Figure {
        Figure {
            id: id.into(),
            section,
            description: description.into(),
            value,
            unit,
            target: None,
            detail: Value::Null,
        }
    }

    /// Adds a target on `ratio` (the figure's value when it is itself a
    /// ratio).
    pub fn target(mut self, ratio_of: impl Into<String>, ratio: f64, op: Op, limit: f64) -> Figure {
        self.target = Some(Target {
            ratio_of: ratio_of.into(),
            ratio,
            op,
            limit,
            met: ratio.is_finite() && op.holds(ratio, limit),
        });
        self
    }

    pub fn detail(mut self, detail: Value) -> Figure {
        self.detail = detail;
        self
    }
}

/// Two significant decimals for small values, none for large ones.
pub fn fmt_value(value: f64) -> String {
    if !value.is_finite() {
        return "n/a".to_string();
    }
    let magnitude = value.abs();
    if magnitude >= 1000.0 {
        format!("{value:.0}")
    } else if magnitude >= 100.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

/// The readable table (Markdown, also fine on a terminal).
pub fn table(figures: &[Figure]) -> String {
    let mut rows: Vec<[String; 6]> = vec![[
        "figure".into(),
        "value".into(),
        "unit".into(),
        "target".into(),
        "measured ratio".into(),
        "met".into(),
    ]];
    for f in figures {
        let (target, ratio, met) = match &f.target {
            Some(t) => (
                format!("{} {} {}", t.ratio_of, t.op.symbol(), fmt_value(t.limit)),
                fmt_value(t.ratio),
                if t.met { "yes" } else { "NO" }.to_string(),
            ),
            None => (String::new(), String::new(), String::new()),
        };
        rows.push([
            f.id.clone(),
            fmt_value(f.value),
            f.unit.to_string(),
            target,
            ratio,
            met,
        ]);
    }
    let mut widths = [0usize; 6];
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let line = |row: &[String; 6]| {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c}{}", " ".repeat(widths[i] - c.chars().count())))
            .collect();
        format!("| {} |\n", cells.join(" | "))
    };
    let mut out = line(&rows[0]);
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    out.push_str(&format!("|-{}-|\n", rule.join("-|-")));
    for row in &rows[1..] {
        out.push_str(&line(row));
    }
    out
}
