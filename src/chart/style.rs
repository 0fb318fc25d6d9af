//! Fonts, colours and small drawing helpers shared by the charts.

use std::sync::atomic::{AtomicBool, Ordering};

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{register_font, FontStyle};

use super::{draw_err, ChartError, Lang};

/// The family every Latin label uses (DejaVu Sans, embedded).
pub const SANS: &str = "sans-serif";
/// The family Chinese labels use. SVG viewers read it as a CSS fallback list and pick
/// whichever CJK font they have; for PNG, plotters looks the same name up among the
/// fonts registered by [`register`].
pub const CJK: &str =
    "Noto Sans CJK SC, Source Han Sans SC, WenQuanYi Micro Hei, PingFang SC, Microsoft YaHei, sans-serif";

/// Set once a real CJK font was registered, so the fallback never replaces it.
static CJK_REGISTERED: AtomicBool = AtomicBool::new(false);

/// Makes `font` (a TrueType/OpenType collection's bytes, kept for the process's
/// lifetime as plotters requires) the font of Chinese labels in PNG output. False
/// when plotters cannot read it.
pub fn register_cjk_font(font: &'static [u8]) -> bool {
    let ok = register_font(CJK, FontStyle::Normal, font).is_ok();
    if ok {
        CJK_REGISTERED.store(true, Ordering::SeqCst);
    }
    ok
}

pub fn register() {
    // A bad embedded font would be a build problem, not a user's: ignore the error so
    // drawing still reports what went wrong (NoSuchFont) instead of panicking.
    let _ = register_font(SANS, FontStyle::Normal, dejavu::sans::regular());
    let _ = register_font(SANS, FontStyle::Bold, dejavu::sans::bold());
    let _ = register_font("monospace", FontStyle::Normal, dejavu::sans_mono::regular());
    if !CJK_REGISTERED.load(Ordering::SeqCst) {
        // Latin still renders; Chinese glyphs show as boxes in PNG (SVG is unaffected)
        // until a CJK font is registered.
        let _ = register_font(CJK, FontStyle::Normal, dejavu::sans::regular());
    }
}

pub fn family(lang: Lang) -> &'static str {
    match lang {
        Lang::En => SANS,
        Lang::Zh => CJK,
    }
}

pub const INK: RGBColor = RGBColor(33, 33, 33);
pub const GREY: RGBColor = RGBColor(150, 150, 150);
pub const LIGHT: RGBColor = RGBColor(225, 225, 225);
pub const CLIENT: RGBColor = RGBColor(31, 94, 168);
pub const SERVER: RGBColor = RGBColor(46, 125, 50);
/// Retransmissions (any kind).
pub const RETRANS: RGBColor = RGBColor(211, 47, 47);
/// Duplicate ACKs.
pub const DUP_ACK: RGBColor = RGBColor(239, 108, 0);
/// Out-of-order segments.
pub const OOO: RGBColor = RGBColor(142, 36, 170);
/// SACK blocks in the sequence graph.
pub const SACK: RGBColor = RGBColor(0, 151, 167);
/// A frame the caller points at (a ladder's mark).
pub const MARK: RGBColor = RGBColor(194, 24, 91);

/// Text anchored at `pos` (`h`: left/center/right, `v`: top/center/bottom).
pub fn text<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    s: &str,
    at: (i32, i32),
    size: u32,
    family: &str,
    color: &RGBColor,
    anchor: (HPos, VPos),
) -> Result<(), ChartError> {
    let style = TextStyle::from((family, size).into_font())
        .color(color)
        .pos(Pos::new(anchor.0, anchor.1));
    root.draw(&Text::new(s.to_string(), at, style))
        .map_err(draw_err)
}

/// Monospace text (hex dumps).
pub fn mono<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    s: &str,
    at: (i32, i32),
    size: u32,
    color: &RGBColor,
) -> Result<(), ChartError> {
    let style = TextStyle::from(("monospace", size).into_font())
        .color(color)
        .pos(Pos::new(HPos::Left, VPos::Top));
    root.draw(&Text::new(s.to_string(), at, style))
        .map_err(draw_err)
}

/// The chart's title, top centre, and a subtitle under it.
pub fn title<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    family: &str,
    title: &str,
    subtitle: &str,
) -> Result<(), ChartError> {
    let w = root.dim_in_pixel().0 as i32;
    text(
        root,
        title,
        (w / 2, 10),
        26,
        family,
        &INK,
        (HPos::Center, VPos::Top),
    )?;
    if !subtitle.is_empty() {
        text(
            root,
            subtitle,
            (w / 2, 38),
            16,
            family,
            &GREY,
            (HPos::Center, VPos::Top),
        )?;
    }
    Ok(())
}

/// Height of one row of a [`legend`].
pub const LEGEND_ROW: i32 = 24;

/// Where the entries of a [`legend`] `w` pixels wide go: (row, x) of each, and how
/// many rows they take. Measured with the registered fonts, as the drawing does,
/// so a picture can make room for the legend before drawing it.
pub fn legend_layout<'s>(
    family: &str,
    labels: impl IntoIterator<Item = &'s str>,
    w: i32,
) -> Result<(Vec<(i32, i32)>, i32), ChartError> {
    let font = (family, 15).into_font();
    let mut places = Vec::new();
    let (mut row, mut x) = (0, 20);
    for label in labels {
        let (tw, _) = font
            .box_size(label)
            .map_err(|e| ChartError::Draw(e.to_string()))?;
        let width = 20 + tw as i32 + 40;
        if x > 20 && x + width - 40 > w - 10 {
            row += 1;
            x = 20;
        }
        places.push((row, x));
        x += width;
    }
    Ok((places, row + 1))
}

/// A legend at the bottom-left: coloured swatch and label per entry, wrapped onto
/// more rows (growing upwards from `y`) when it is wider than the picture.
pub fn legend<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    family: &str,
    entries: &[(RGBColor, &str)],
    y: i32,
) -> Result<(), ChartError> {
    let w = root.dim_in_pixel().0 as i32;
    let (places, rows) = legend_layout(family, entries.iter().map(|e| e.1), w)?;
    for ((color, label), (row, x)) in entries.iter().zip(places) {
        let y = y - (rows - 1 - row) * LEGEND_ROW;
        root.draw(&Rectangle::new(
            [(x, y - 7), (x + 14, y + 7)],
            color.filled(),
        ))
        .map_err(draw_err)?;
        text(
            root,
            label,
            (x + 20, y),
            15,
            family,
            &INK,
            (HPos::Left, VPos::Center),
        )?;
    }
    Ok(())
}

/// Formats seconds for axis labels: `0.012 s`, `1.5 s`.
pub fn secs(s: f64) -> String {
    if s == 0.0 {
        "0".into()
    } else if s.abs() < 0.001 {
        format!("{:.0} µs", s * 1e6)
    } else if s.abs() < 1.0 {
        format!("{:.1} ms", s * 1e3)
    } else {
        format!("{s:.2} s")
    }
}
