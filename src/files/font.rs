//! The system's CJK font, read once and handed to the charts for Chinese labels
//! in PNG output (SVG names font families and needs no file).

use std::sync::OnceLock;

/// CJK fonts as Debian installs them (`fonts-wqy-microhei`, `fonts-noto-cjk`, …).
/// No crate on the registry ships one under a licence compatible with ours, so PNG
/// output in Chinese uses the first of these that is present.
const CJK_FILES: [&str; 5] = [
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
];

/// The CJK font file PNG output in Chinese uses, if one is installed.
pub fn cjk_font_file() -> Option<&'static str> {
    CJK_FILES
        .into_iter()
        .find(|p| std::path::Path::new(p).is_file())
}

/// Reads the CJK font (once per process) and registers it with the charts; false
/// when none is installed or it cannot be read.
pub fn load_cjk_font() -> bool {
    static LOADED: OnceLock<bool> = OnceLock::new();
    *LOADED.get_or_init(|| {
        // Kept for the process's lifetime, as plotters requires.
        let font: Option<&'static [u8]> = cjk_font_file()
            .and_then(|p| std::fs::read(p).ok())
            .map(|v| &*Box::leak(v.into_boxed_slice()));
        font.is_some_and(crate::chart::register_cjk_font)
    })
}
