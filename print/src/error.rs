//! What can go wrong when printing, as sentences a person can act on
//! (Chinese first, English after), each with a stable machine code.

use std::path::PathBuf;

/// Why a record or notice could not be printed.
#[derive(Debug, thiserror::Error)]
pub enum PrintError {
    /// No usable Chinese font: the folder is missing or holds none.
    #[error(
        "找不到中文字体：{dir} 中没有 Noto CJK 字体，请安装 fonts-noto-cjk 软件包或设置 FIELDLOOP_FONT_DIR (no Chinese font in {dir}: install the Debian package fonts-noto-cjk or point FIELDLOOP_FONT_DIR at a folder with NotoSansCJK-Regular.ttc)"
    )]
    FontsMissing { dir: PathBuf },
    /// A font file could not be read.
    #[error("无法读取字体文件 {path}：{source} (cannot read the font file {path}: {source})")]
    FontRead {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A character of the record is in none of the loaded fonts; printing it
    /// would leave a blank box on paper.
    #[error(
        "字体中没有字符“{character}”（U+{code:04X}，位于 {field}），无法打印；请改用常用字写法或请管理员补充字体 (the fonts have no glyph for {character:?} (U+{code:04X}) in {field}: rewrite it or ask an administrator to install a font that has it)",
        code = u32::from(*character)
    )]
    MissingGlyph { character: char, field: String },
    /// A field or list is over its bound (see the `MAX_*` constants).
    #[error("{field} 超出打印上限 {limit} (too large to print: {field} is over {limit})")]
    TooLarge { field: String, limit: usize },
    /// The verification QR code could not be drawn (the link is too long).
    #[error("无法生成核验二维码：{0} (cannot draw the verification QR code: {0})")]
    Qr(String),
    /// Typesetting failed: a fault of the templates, not of the record.
    #[error(
        "排版失败，请联系管理员：{0} (typesetting failed, a fault of the print templates: {0})"
    )]
    Typeset(String),
}

impl PrintError {
    /// The stable machine code, e.g. `print.missing_glyph`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::FontsMissing { .. } | Self::FontRead { .. } => "print.fonts_missing",
            Self::MissingGlyph { .. } => "print.missing_glyph",
            Self::TooLarge { .. } => "print.too_large",
            Self::Qr(_) | Self::Typeset(_) => "print.failed",
        }
    }
}
